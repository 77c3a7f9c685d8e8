package yjs_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

// FuzzApplyUpdate feeds arbitrary bytes to ApplyUpdate. The decoder must never
// panic nor allocate beyond the input's size; an update it accepts must
// survive EncodeStateAsUpdate into a fresh document unchanged, and the
// document must stay editable. testdata/fuzz/FuzzApplyUpdate holds real yjs
// updates (every content type, concurrent sessions, a merge with a Skip).
func FuzzApplyUpdate(f *testing.F) {
	f.Add([]byte{0, 0})
	f.Add([]byte{1, 1, 5, 0, 4, 1, 7, 'c', 'o', 'n', 't', 'e', 'n', 't', 2, 'h', 'i', 0})
	f.Add([]byte{1, 1, 5, 0, 0, 3, 1, 5, 1, 0, 2})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f, 5, 0})
	g := yjs.NewDoc(7)
	u, _ := g.SetText("content", "hello 😀 world\nsecond line\n")
	f.Add(u)
	u, _ = g.SetText("content", "hello world\nsecond 中文\n")
	f.Add(u)
	f.Fuzz(func(t *testing.T, data []byte) {
		d := yjs.NewDoc(1)
		err := d.ApplyUpdate(data)
		if err != nil {
			if strings.Contains(err.Error(), "internal error") || !errors.Is(err, yjs.ErrInvalidUpdate) {
				t.Fatalf("ApplyUpdate: %v", err)
			}
			if st, _ := d.EncodeStateAsUpdate(nil); !bytes.Equal(st, []byte{0, 0}) {
				t.Fatalf("a rejected update changed the document: %x", st)
			}
			return
		}
		state, err := d.EncodeStateAsUpdate(nil)
		if err != nil {
			t.Fatalf("EncodeStateAsUpdate: %v", err)
		}
		// Nothing integrated may be lost through the encoding. (The text
		// itself need not survive: for contradictory input, such as items
		// whose origins disagree with their order, yjs too reads a
		// different text back from its own encoding.)
		e := yjs.NewDoc(2)
		if err := e.ApplyUpdate(state); err != nil {
			t.Fatalf("own encoding rejected: %v\nstate %x", err, state)
		}
		before, after := parseSV(t, d.EncodeStateVector()), parseSV(t, e.EncodeStateVector())
		for client, clock := range before {
			if after[client] < clock {
				t.Fatalf("client %d: clock %d before, %d after EncodeStateAsUpdate", client, clock, after[client])
			}
		}
		if _, err := yjs.MergeUpdates([][]byte{data, state}); err != nil {
			t.Fatalf("MergeUpdates: %v", err)
		}
		if err := d.ApplyUpdate(data); err != nil {
			t.Fatalf("second ApplyUpdate: %v", err)
		}
		if _, err := d.EncodeStateAsUpdate(d.EncodeStateVector()); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SetText("content", "after fuzz 😀\n"); err != nil {
			t.Fatalf("SetText: %v", err)
		}
		if got := d.Text("content"); got != "after fuzz 😀\n" {
			t.Fatalf("SetText gave %q", got)
		}
	})
}

// FuzzEncodeStateAsUpdate feeds arbitrary state vectors.
func FuzzEncodeStateAsUpdate(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{1, 7, 3})
	f.Fuzz(func(t *testing.T, sv []byte) {
		d := yjs.NewDoc(7)
		if _, err := d.SetText("content", "abc 😀"); err != nil {
			t.Fatal(err)
		}
		u, err := d.EncodeStateAsUpdate(sv)
		if err != nil {
			if !errors.Is(err, yjs.ErrInvalidUpdate) {
				t.Fatal(err)
			}
			return
		}
		if err := yjs.NewDoc(1).ApplyUpdate(u); err != nil {
			t.Fatalf("diff for %x rejected: %v", sv, err)
		}
	})
}

// parseSV decodes a state vector: varUint count, then client/clock pairs.
func parseSV(t *testing.T, sv []byte) map[uint64]uint64 {
	t.Helper()
	pos := 0
	next := func() uint64 {
		var n uint64
		for shift := uint(0); ; shift += 7 {
			if pos >= len(sv) {
				t.Fatalf("short state vector %x", sv)
			}
			b := sv[pos]
			pos++
			n |= uint64(b&0x7f) << shift
			if b < 0x80 {
				return n
			}
		}
	}
	m := make(map[uint64]uint64)
	for range next() {
		c := next()
		m[c] = next()
	}
	return m
}
