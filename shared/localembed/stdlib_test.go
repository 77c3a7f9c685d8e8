package localembed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/shared/stdlibeval"
)

// stdFunc is one function of the Go standard library, the raw material of the evaluation
// (CodeSearchNet-style: query = doc comment, target = code without it) and of the IDF table.
type stdFunc = stdlibeval.Func

// loadStdlib returns the functions of GOROOT/src (stdlibeval.Load).
func loadStdlib(tb testing.TB) []stdFunc {
	tb.Helper()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		tb.Skipf("go env GOROOT: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	if _, err := os.Stat(root); err != nil {
		tb.Skipf("no Go source tree at %s", root)
	}
	funcs, err := stdlibeval.Load(root)
	if err != nil {
		tb.Fatal(err)
	}
	return funcs
}
