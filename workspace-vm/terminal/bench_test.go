package terminal_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/creack/pty"

	"github.com/vibecode/vibecode/workspace-vm/terminal"
)

// benchClient reads a terminal socket synchronously, keeping nothing but a small tail.
type benchClient struct {
	tb   testing.TB
	conn *websocket.Conn
	tail []byte
	buf  [64 << 10]byte // frames are at most 32 KiB + 1: one buffer, no garbage per frame
}

func (h *harness) benchDial(id string) *benchClient {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, h.url(id, ""), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	c := &benchClient{tb: h.t, conn: conn}
	c.readUntil(func(op byte, p []byte) bool { return op == terminal.OpReplay && p[0] == terminal.ReplayEnd })
	return c
}

// readUntil reads frames until stop says so; it returns the output payload bytes read.
func (c *benchClient) readUntil(stop func(op byte, p []byte) bool) int64 {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var n int64
	for {
		_, r, err := c.conn.Reader(ctx)
		if err != nil {
			c.tb.Fatal(err)
		}
		m, err := io.ReadFull(r, c.buf[:])
		if err != io.ErrUnexpectedEOF && err != io.EOF {
			c.tb.Fatalf("frame of %d bytes: %v", m, err)
		}
		b := c.buf[:m]
		if b[0] == terminal.OpOutput {
			n += int64(len(b) - 1)
		}
		if stop(b[0], b[1:]) {
			return n
		}
	}
}

// untilOutput reads until marker has appeared in the output (across frames).
func (c *benchClient) untilOutput(marker string) int64 {
	return c.readUntil(func(op byte, p []byte) bool {
		if op != terminal.OpOutput {
			return false
		}
		c.tail = append(c.tail, p...)
		if len(c.tail) > 4096 {
			c.tail = append(c.tail[:0], c.tail[len(c.tail)-256:]...)
		}
		return bytes.Contains(c.tail, []byte(marker))
	})
}

func (c *benchClient) input(s string) {
	c.tb.Helper()
	if err := c.conn.Write(context.Background(), websocket.MessageBinary, append([]byte{terminal.OpInput}, s...)); err != nil {
		c.tb.Fatal(err)
	}
}

// throughputCases each print 64 MiB: without newlines, and as 77-byte lines (the kernel turns
// every LF into CR LF, which costs it more than everything else).
var throughputCases = []struct{ name, cmd string }{
	{"tr-no-newlines", `head -c 67108864 /dev/zero | tr '\0' x`},
	{"base64-lines", `head -c 50331648 /dev/zero | base64 -w 76`},
}

// BenchmarkOutputThroughput measures terminal output through the agent and a WebSocket on
// loopback: 64 MiB from a program in the PTY to a client, per iteration.
func BenchmarkOutputThroughput(b *testing.B) {
	for _, tc := range throughputCases {
		b.Run(tc.name, func(b *testing.B) {
			h := newHarness(b, nil)
			c := h.benchDial("bench")
			c.input("stty -echo; echo READY$((1+1))\r")
			c.untilOutput("READY2")
			b.SetBytes(64 << 20)
			b.ResetTimer()
			for i := range b.N {
				c.input(fmt.Sprintf("%s; echo END-$((%d+1))-\r", tc.cmd, i))
				c.untilOutput(fmt.Sprintf("END-%d-", i+1))
			}
		})
	}
}

// BenchmarkPTYRaw is the ceiling: the same output read straight from a PTY by a Go loop, no
// agent, no WebSocket (the kernel's line discipline hands it over 4 KiB at a time).
func BenchmarkPTYRaw(b *testing.B) {
	for _, tc := range throughputCases {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(64 << 20)
			buf := make([]byte, 64<<10)
			for range b.N {
				cmd := exec.Command("/bin/sh", "-c", tc.cmd)
				f, err := pty.Start(cmd)
				if err != nil {
					b.Fatal(err)
				}
				var n int
				for n < 64<<20 {
					m, err := f.Read(buf)
					n += m
					if err != nil {
						break
					}
				}
				_ = f.Close()
				_ = cmd.Wait()
			}
		})
	}
}

// BenchmarkKeystrokeEcho measures the round trip of one keystroke: client frame → agent →
// PTY → cat (raw mode, no tty echo) → PTY → agent → client frame. Reports p50 and p99.
func BenchmarkKeystrokeEcho(b *testing.B) {
	h := newHarness(b, nil)
	c := h.benchDial("echo")
	c.input("stty raw -echo; cat\r")
	time.Sleep(300 * time.Millisecond) // let cat start; then drain the prompt noise
	c.input("!")
	c.untilOutput("!")
	lat := make([]time.Duration, 0, b.N)
	keys := "abcdefghijklmnopqrstuvwxyz"
	b.ResetTimer()
	for i := range b.N {
		k := keys[i%len(keys)]
		start := time.Now()
		c.input(string(k))
		c.readUntil(func(op byte, p []byte) bool { return op == terminal.OpOutput && bytes.IndexByte(p, k) >= 0 })
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
