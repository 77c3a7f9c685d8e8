package yjs_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The real yjs from npm is the oracle for these tests. testdata/node holds a
// package.json with its lockfile and oracle.mjs, a line-oriented JSON REPL
// over yjs. The modules are installed once with `npm ci` into the user cache,
// keyed by the lockfile's hash.

var (
	installOnce sync.Once
	installDir  string
	installErr  error
)

// needNode skips (or, under `make test`, fails) when node or npm is missing.
func needNode(tb testing.TB) {
	tb.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("%s not found: the yjs compatibility tests need node and npm (install nodejs and npm)", tool)
			if os.Getenv("VIBECODE_TEST_SERVERS") == "require" {
				tb.Fatal(msg)
			}
			tb.Skip("SKIPPING YJS ORACLE TESTS: " + msg)
		}
	}
}

// installOracle installs yjs into the cache and returns the directory that
// holds node_modules and the oracle script.
func installOracle(tb testing.TB) string {
	tb.Helper()
	needNode(tb)
	installOnce.Do(func() {
		installDir, installErr = doInstall()
	})
	if installErr != nil {
		tb.Fatalf("installing yjs with npm ci: %v", installErr)
	}
	return installDir
}

func doInstall() (string, error) {
	lock, err := os.ReadFile(filepath.Join("testdata", "node", "package-lock.json"))
	if err != nil {
		return "", err
	}
	pkg, err := os.ReadFile(filepath.Join("testdata", "node", "package.json"))
	if err != nil {
		return "", err
	}
	script, err := os.ReadFile(filepath.Join("testdata", "node", "oracle.mjs"))
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	sum := sha256.Sum256(append(append([]byte(nil), pkg...), lock...))
	dir := filepath.Join(cache, "vibecode-test", "yjs-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "yjs", "package.json")); err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-*")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(tmp)
		for name, b := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
			if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
				return "", err
			}
		}
		cmd := exec.Command("npm", "ci", "--prefix", tmp, "--no-audit", "--no-fund", "--ignore-scripts")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("%v: %s", err, out)
		}
		// Another test process may have won the race; either copy is fine.
		if err := os.Rename(tmp, dir); err != nil {
			if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "yjs", "package.json")); statErr != nil {
				return "", err
			}
		}
	}
	ssum := sha256.Sum256(script)
	scriptPath := filepath.Join(dir, "oracle-"+hex.EncodeToString(ssum[:8])+".mjs")
	if _, err := os.Stat(scriptPath); err != nil {
		tmp := scriptPath + fmt.Sprintf(".%d.tmp", os.Getpid())
		if err := os.WriteFile(tmp, script, 0o644); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, scriptPath); err != nil {
			return "", err
		}
	}
	return scriptPath, nil
}

// oracle is one running oracle.mjs process.
type oracle struct {
	tb  testing.TB
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startOracle starts a yjs process for the test; it is stopped at cleanup.
func startOracle(tb testing.TB) *oracle {
	tb.Helper()
	script := installOracle(tb)
	cmd := exec.Command("node", script)
	cmd.Dir = filepath.Dir(script)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	o := &oracle{tb: tb, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	tb.Cleanup(func() {
		in.Close()
		_ = cmd.Wait()
	})
	return o
}

// call sends one command and decodes the answer into resp (may be nil).
func (o *oracle) call(req map[string]any, resp any) {
	o.tb.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		o.tb.Fatal(err)
	}
	if _, err := o.in.Write(append(b, '\n')); err != nil {
		o.tb.Fatalf("oracle write: %v", err)
	}
	line, err := o.out.ReadBytes('\n')
	if err != nil {
		o.tb.Fatalf("oracle read: %v", err)
	}
	var status struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(line, &status); err != nil {
		o.tb.Fatalf("oracle answer %q: %v", line, err)
	}
	if !status.OK {
		o.tb.Fatalf("yjs %v failed: %s", req["cmd"], status.Error)
	}
	if resp != nil {
		if err := json.Unmarshal(line, resp); err != nil {
			o.tb.Fatalf("oracle answer: %v", err)
		}
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func unb64All(tb testing.TB, ss []string) [][]byte {
	tb.Helper()
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = unb64(tb, s)
	}
	return out
}

// checkResult is what yjs reports after applying updates to a fresh doc.
type checkResult struct {
	SV      string `json:"sv"`
	State   string `json:"state"`
	Pending bool   `json:"pending"`
	Dump    string `json:"dump"`
	Text    string `json:"text"`
}

// check applies updates to a fresh yjs doc and reports its state.
func (o *oracle) check(updates [][]byte, name string, schema any) checkResult {
	o.tb.Helper()
	enc := make([]string, len(updates))
	for i, u := range updates {
		enc[i] = b64(u)
	}
	req := map[string]any{"cmd": "check", "updates": enc}
	if name != "" {
		req["name"] = name
	}
	if schema != nil {
		req["schema"] = schema
	}
	var r checkResult
	o.call(req, &r)
	return r
}

// session is a random concurrent editing session produced by yjs.
type session struct {
	Updates  []string `json:"updates"`
	Text     string   `json:"text"`
	SV       string   `json:"sv"`
	State    string   `json:"state"`
	Observed string   `json:"observed"`
	Clients  []uint64 `json:"clients"`
	Dump     string   `json:"dump"`
}

func (o *oracle) random(seed int64, clients, steps int, splitPairs bool) session {
	o.tb.Helper()
	var s session
	o.call(map[string]any{"cmd": "random", "seed": seed, "clients": clients, "steps": steps, "splitPairs": splitPairs}, &s)
	return s
}

// mixedSchema names the root types of sessions with map and array edits.
var mixedSchema = map[string]string{"content": "text", "m": "map", "a": "array"}

// randomMixed is a random session that also edits a Y.Map and a Y.Array
// with nested types, concurrently.
func (o *oracle) randomMixed(seed int64, clients, steps int) session {
	o.tb.Helper()
	var s session
	o.call(map[string]any{"cmd": "random", "seed": seed, "clients": clients, "steps": steps, "mixed": true}, &s)
	return s
}
