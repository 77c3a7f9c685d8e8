//go:build !cgo

package chunk

// treeChunk would chunk the file with tree-sitter, which needs cgo. Without cgo it reports
// false, and languages other than Go are chunked by line windows: a CGO_ENABLED=0 build
// (the Lambda arm64 functions) still indexes every file, only with chunks that may cut
// through declarations and symbols left empty.
func treeChunk(*emitter, string) bool { return false }
