package localembed

// Test-only access for the external test package: the option switches (for ablations) and
// the standard-library loader.

type Options = options

var DefaultOptions = defaultOptions

func NewWithOptions(o Options) *Embedder { return newWithOptions(o) }

type StdFunc = stdFunc

var LoadStdlib = loadStdlib

func Stem(w string) string { return stem(w) }
