package sqs_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The producer tests need a server that speaks what aws-sdk-go-v2 sends to SQS: the AWS JSON
// 1.0 protocol (X-Amz-Target: AmazonSQS.SendMessageBatch, application/x-amz-json-1.0).
// goaws, the Go SQS emulator, answers only the older query protocol in the one version the
// module proxy serves (v0.4.5), so we run local-aws-sqs instead: an SQS emulator on npm that
// speaks both protocols, enforces the batch limits (10 entries, 256 KiB) and is tested by its
// authors against the official AWS SDK. testdata/sqsserver pins it with a lockfile; the first
// run installs it with `npm ci` into the user cache directory, later runs reuse that.

// startSQSServer starts the server on a free loopback port for the duration of the test and
// returns its endpoint. Without node and npm the test is skipped loudly, or fails under
// VIBECODE_TEST_SERVERS=require (make test and CI), like shared/testserver's servers, so that
// CI can never pass by skipping.
func startSQSServer(t *testing.T) string {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		unavailable(t, "the SQS test server needs node and npm (%v, %v)", errNode, errNpm)
	}
	dir := installSQSServer(t, npm)

	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Stderr = t.Output()
	stdin, err := cmd.StdinPipe() // the server exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start SQS test server: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
	}()
	select {
	case endpoint, ok := <-line:
		if !ok || !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
			t.Fatalf("SQS test server did not report its endpoint (got %q)", endpoint)
		}
		return endpoint
	case <-time.After(30 * time.Second):
		t.Fatal("SQS test server did not start within 30s")
	}
	return ""
}

// installSQSServer returns a directory holding testdata/sqsserver with its node_modules
// installed, keyed by the files' hash so that a change to the lockfile reinstalls.
func installSQSServer(t *testing.T, npm string) string {
	t.Helper()
	files := []string{"package.json", "package-lock.json", "server.mjs"}
	h := sha256.New()
	contents := make(map[string][]byte)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", "sqsserver", f))
		if err != nil {
			t.Fatal(err)
		}
		contents[f] = b
		h.Write([]byte(f))
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "vibecode-test", "sqsserver-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "local-aws-sqs", "package.json")); err == nil {
		return dir
	}

	// Install into a fresh directory and rename it into place, so that concurrent test
	// processes never see a half-installed server.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for f, b := range contents {
		if err := os.WriteFile(filepath.Join(tmp, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable(t, "npm ci for the SQS test server: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(dir); statErr != nil { // not just another process winning the race
			t.Fatalf("install SQS test server: %v", err)
		}
	}
	return dir
}

// unavailable ends the test because the server cannot be had: it fails under
// VIBECODE_TEST_SERVERS=require and otherwise skips, saying so on stderr too so that a plain
// `go test` run doesn't hide it.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if os.Getenv("VIBECODE_TEST_SERVERS") == "require" {
		t.Fatalf("%s (VIBECODE_TEST_SERVERS=require)", reason)
	}
	fmt.Fprintf(os.Stderr, "sqs: SKIPPED: %s\n", reason)
	t.Skip("SKIPPED: " + reason)
}
