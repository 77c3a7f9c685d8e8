package terminal

import (
	"bytes"
	"strings"
	"testing"
)

// feedAll runs chunks through a fresh filter and concatenates both streams (plus what the
// filter still holds, so an unfinished sequence is not lost from the comparison).
func feedAll(chunks ...[]byte) (full, filt []byte, f *vtFilter) {
	f = newVTFilter()
	for _, c := range chunks {
		a, b := f.Feed(c)
		full = append(full, a...)
		filt = append(filt, b...)
	}
	return full, filt, f
}

var queries = []string{
	"\x1b[6n", "\x1b[?6n", "\x1b[5n", "\x1b[c", "\x1b[0c", "\x1b[>c", "\x1b[>0c", "\x1b[=c",
	"\x1b[x", "\x1b[?2004$p", "\x1b[4$p", "\x1b[1$w", "\x1b[1;1;1;1;1*y",
	"\x1b[18t", "\x1b[14t", "\x1b[21t", "\x1b[>q", "\x1b[>0q", "\x1b[?u", "\x1b[?1;1;0S", "\x1b[?4m",
	"\x1b]11;?\x07", "\x1b]10;?\x1b\\", "\x1b]4;1;?\x07", "\x1b]52;c;?\x07", "\x1b]12;?\xc2\x9c",
	"\x1bP$qm\x1b\\", "\x1bP$q\"p\x1b\\", "\x1bP+q544e\x1b\\",
	"\x1bZ", "\xc2\x9b6n", "\xc2\x9bc", "\xc2\x9d11;?\x07", "\xc2\x9d11;?\xc2\x9c",
}

var notQueries = []string{
	"\x1b[31m", "\x1b[0m", "\x1b[?2004h", "\x1b[?1049l", "\x1b[2J", "\x1b[10;20H",
	"\x1b]0;my title\x07", "\x1b]8;;http://x.y/\x1b\\", "\x1b]2;t\x1b\\", "\x1b[2 q", "\x1b[22;0t",
	"\x1b[23t", "\x1b[>4;1m", "\x1b[>1n", "\x1b(B", "\x1b7", "\x1b8", "\x1b=", "\x1b>", "\x1bc",
	"\x1b[!p", "\x1bP1$r0m\x1b\\", "\x1b_Gf=100;AAAA\x1b\\", "\x1b^pm\x1b\\",
	"é", "\xc2\xb0", "plain text\r\n", "\x07", "\x1b\\",
}

func TestVTFilter_Queries(t *testing.T) {
	for _, q := range queries {
		in := []byte("a" + q + "b")
		full, filt, _ := feedAll(in)
		if !bytes.Equal(full, in) {
			t.Errorf("%q: full = %q, want it whole", q, full)
		}
		if string(filt) != "ab" {
			t.Errorf("%q: filtered = %q, want %q", q, filt, "ab")
		}
	}
	for _, s := range notQueries {
		in := []byte("a" + s + "b")
		full, filt, _ := feedAll(in)
		if !bytes.Equal(full, in) || !bytes.Equal(filt, in) {
			t.Errorf("%q: full = %q, filtered = %q; want both whole", s, full, filt)
		}
	}
}

// TestVTFilter_Splits feeds a mix of everything split at every byte boundary: chunking must
// never change either stream.
func TestVTFilter_Splits(t *testing.T) {
	var in, wantFilt []byte
	for i := range max(len(queries), len(notQueries)) {
		if i < len(queries) {
			in = append(in, queries[i]...)
		}
		if i < len(notQueries) {
			in = append(in, notQueries[i]...)
			wantFilt = append(wantFilt, notQueries[i]...)
		}
	}
	full, filt, _ := feedAll(in)
	if !bytes.Equal(full, in) || !bytes.Equal(filt, wantFilt) {
		t.Fatalf("unsplit:\nfull %q\nfilt %q\nwant %q", full, filt, wantFilt)
	}
	for i := 1; i < len(in); i++ {
		full, filt, _ := feedAll(in[:i], in[i:])
		if !bytes.Equal(full, in) || !bytes.Equal(filt, wantFilt) {
			t.Fatalf("split at %d:\nfull %q\nfilt %q", i, full, filt)
		}
	}
	// And byte by byte.
	var chunks [][]byte
	for i := range in {
		chunks = append(chunks, in[i:i+1])
	}
	full, filt, _ = feedAll(chunks...)
	if !bytes.Equal(full, in) || !bytes.Equal(filt, wantFilt) {
		t.Fatalf("byte by byte:\nfull %q\nfilt %q", full, filt)
	}
}

func TestVTFilter_HoldBack(t *testing.T) {
	f := newVTFilter()
	full, filt := f.Feed([]byte("x\x1b[6"))
	if string(full) != "x" || string(filt) != "x" {
		t.Fatalf("unfinished sequence not held: %q %q", full, filt)
	}
	full, filt = f.Feed([]byte("ny"))
	if string(full) != "\x1b[6ny" || string(filt) != "y" {
		t.Fatalf("after completion: %q %q", full, filt)
	}
	// A long OSC (a clipboard write) is not held beyond its cap.
	long := "\x1b]52;c;" + strings.Repeat("A", 2000)
	full, filt = f.Feed([]byte(long))
	if len(full) < 1500 || !bytes.Equal(full, filt) {
		t.Fatalf("long OSC held: %d bytes out", len(full))
	}
	full, filt = f.Feed([]byte("\x07z"))
	if string(full) != "\x07z" || string(filt) != "\x07z" {
		t.Fatalf("end of long OSC: %q %q", full, filt)
	}
	if f.Flush() != nil {
		t.Fatal("Flush returned something after a complete stream")
	}
	f.Feed([]byte("\x1b[1;"))
	if got := f.Flush(); string(got) != "\x1b[1;" {
		t.Fatalf("Flush = %q", got)
	}
}

func TestVTFilter_FastPathAliases(t *testing.T) {
	f := newVTFilter()
	in := []byte("hello world\r\n")
	full, filt := f.Feed(in)
	if &full[0] != &in[0] || &filt[0] != &in[0] {
		t.Fatal("plain text was copied")
	}
}

func TestVTFilter_Modes(t *testing.T) {
	_, _, f := feedAll([]byte("\x1b[?1049h\x1b[?1h\x1b=\x1b[?2004h\x1b[?25l"))
	for _, m := range []int{1049, 1, 2004} {
		if !f.modes.get(modeBit(m)) {
			t.Errorf("mode %d not set", m)
		}
	}
	if f.modes.get(modeBit(25)) || !f.modes.get(keypadBit) {
		t.Errorf("modes = %b", f.modes)
	}
	f.Feed([]byte("\x1b[?1047l\x1b[?1000;1006h"))
	if f.modes.get(modeBit(1049)) || !f.modes.get(modeBit(1000)) || !f.modes.get(modeBit(1006)) {
		t.Errorf("modes = %b", f.modes)
	}
	f.Feed([]byte("\x1bc"))
	if f.modes != defaultModes {
		t.Errorf("after RIS modes = %b, want %b", f.modes, defaultModes)
	}
}

func TestSafeStart(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tail of line\nnext", "next"},
		{"5;3H\x1b[31mred", "\x1b[31mred"},
		{"rest of osc title\x07text\nmore", "text\nmore"},
		{"AAAA sixel\x1b\\after", "after"},
		{"\x80\x80abc", "abc"},
		{"\xa9 no breaks", " no breaks"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := tt.in[safeStart([]byte(tt.in)):]; got != tt.want {
			t.Errorf("safeStart(%q) -> %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBuildReplay(t *testing.T) {
	t.Run("not wrapped: whole, no queries, no prefix", func(t *testing.T) {
		got := buildReplay([]byte("$ printf x\r\n\x1b[6nx\x1b]11;?\x07$ "), false, defaultModes)
		if string(got) != "$ printf x\r\nx$ " {
			t.Fatalf("replay = %q", got)
		}
	})
	t.Run("wrapped: safe start and the modes in force there", func(t *testing.T) {
		// The ring lost "\x1b[?1049h\x1b[?1h" and part of a line; the app is still in the
		// alternate screen with application cursor keys, and later turns on bracketed paste.
		snap := []byte("[10;1Hmiddle of a line\r\n\x1b[Hscreen\x1b[?2004h")
		cur := defaultModes
		cur.set(modeBit(1049), true)
		cur.set(modeBit(1), true)
		cur.set(modeBit(2004), true)
		got := string(buildReplay(snap, true, cur))
		want := "\x1b[?1h\x1b[?1049h" + "\x1b[Hscreen\x1b[?2004h"
		if got != want {
			t.Fatalf("replay = %q\nwant     %q", got, want)
		}
	})
	t.Run("wrapped: a mode turned off inside the replay was on before", func(t *testing.T) {
		got := string(buildReplay([]byte("x\nvim exits\x1b[?1049l$ "), true, defaultModes))
		if got != "\x1b[?1049hvim exits\x1b[?1049l$ " {
			t.Fatalf("replay = %q", got)
		}
	})
	t.Run("restore suffix resets modes", func(t *testing.T) {
		m := defaultModes
		m.set(modeBit(1049), true)
		m.set(modeBit(25), false)
		got := string(restoreSuffix(m))
		if got != "\x18\x1b[0m\x1b[?25h\x1b[?1049l\r\n" {
			t.Fatalf("suffix = %q", got)
		}
	})
}

func TestRing(t *testing.T) {
	r := newRing(10)
	r.Write([]byte("abc"))
	if string(r.Bytes()) != "abc" || r.Wrapped() {
		t.Fatalf("ring = %q wrapped=%v", r.Bytes(), r.Wrapped())
	}
	r.Write([]byte("defghij"))
	if string(r.Bytes()) != "abcdefghij" || r.Wrapped() {
		t.Fatalf("ring = %q", r.Bytes())
	}
	r.Write([]byte("klm"))
	if string(r.Bytes()) != "defghijklm" || !r.Wrapped() {
		t.Fatalf("ring = %q", r.Bytes())
	}
	r.Write([]byte("0123456789ABC"))
	if string(r.Bytes()) != "3456789ABC" {
		t.Fatalf("ring = %q", r.Bytes())
	}
	for i := range 25 {
		r.Write([]byte{byte('a' + i)})
	}
	if string(r.Bytes()) != "pqrstuvwxy" {
		t.Fatalf("ring = %q", r.Bytes())
	}
	r2 := newRing(10)
	r2.Restore([]byte("abc"), true)
	if !r2.Wrapped() || string(r2.Bytes()) != "abc" {
		t.Fatal("restored wrapped ring")
	}
}
