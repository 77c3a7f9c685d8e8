package yjs_test

import (
	"errors"
	"testing"

	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

func varUint(b []byte, n uint64) []byte {
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

// TestDoc_ApplyUpdate_Invalid checks that malformed updates are rejected with
// ErrInvalidUpdate and leave the document as it was.
func TestDoc_ApplyUpdate_Invalid(t *testing.T) {
	valid := []byte{1, 1, 5, 0, 4, 1, 7, 'c', 'o', 'n', 't', 'e', 'n', 't', 2, 'h', 'i', 0}
	cases := map[string][]byte{
		"empty":              {},
		"truncated":          valid[:len(valid)-3],
		"no delete set":      valid[:len(valid)-1],
		"bad utf8":           {1, 1, 5, 0, 4, 1, 7, 'c', 'o', 'n', 't', 'e', 'n', 't', 2, 0xff, 0xfe, 0},
		"unknown content":    {1, 1, 5, 0, 17, 1, 1, 'x', 0},
		"unknown type":       {1, 1, 5, 0, 7, 1, 1, 'x', 9, 0},
		"bad json":           {1, 1, 5, 0, 5, 1, 1, 'x', 3, '{', 'a', '}', 0},
		"bad any":            {1, 1, 5, 0, 8, 1, 1, 'x', 1, 3, 0},
		"huge struct count":  {1, 0xff, 0xff, 0xff, 0xff, 0x0f, 5, 0, 0},
		"huge string":        {1, 1, 5, 0, 4, 1, 7, 'c', 'o', 'n', 't', 'e', 'n', 't', 0xff, 0xff, 0xff, 0x7f},
		"huge any array":     {1, 1, 5, 0, 8, 1, 1, 'x', 1, 117, 0xff, 0xff, 0xff, 0x7f, 0},
		"varuint too long":   {1, 1, 5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
		"clock past 2^53":    {1, 1, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 5, 0},
		"empty string item":  {1, 1, 5, 0, 4, 1, 1, 'x', 0, 0},
		"zero length gc":     {1, 1, 5, 0, 0, 0, 0},
		"origin after item":  {1, 1, 5, 0, 0x84, 5, 3, 1, 'a', 0},
		"parent after item":  {1, 1, 5, 0, 4, 0, 5, 0, 1, 'a', 0},
		"deep any":           append(append([]byte{1, 1, 5, 0, 8, 1, 1, 'x', 1}, repeat(117, 1, 3000)...), 126, 0),
		"delete past 2^53":   {0, 1, 5, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 5},
		"huge delete ranges": {0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			d := yjs.NewDoc(1)
			if _, err := d.SetText("content", "keep"); err != nil {
				t.Fatal(err)
			}
			before := encodeAll(t, d)
			err := d.ApplyUpdate(u)
			if !errors.Is(err, yjs.ErrInvalidUpdate) {
				t.Fatalf("ApplyUpdate = %v, want ErrInvalidUpdate", err)
			}
			if string(encodeAll(t, d)) != string(before) || d.Text("content") != "keep" {
				t.Fatal("a rejected update changed the document")
			}
		})
	}
	if err := yjs.NewDoc(1).ApplyUpdate(valid); err != nil {
		t.Fatalf("the valid base case: %v", err)
	}
}

func repeat(b byte, b2 byte, n int) []byte {
	out := make([]byte, 0, 2*n)
	for range n {
		out = append(out, b, b2)
	}
	return out
}

// TestDoc_ApplyUpdate_DeepNesting deletes the root of 200,000 nested types:
// deletion and garbage collection must not recurse on the Go stack.
func TestDoc_ApplyUpdate_DeepNesting(t *testing.T) {
	const n = 200000
	u := []byte{1}
	u = varUint(u, n)
	u = varUint(u, 1)              // client
	u = varUint(u, 0)              // clock
	u = append(u, 7, 1, 1, 'r', 0) // Y.Array under root "r"
	for i := 1; i < n; i++ {
		u = append(u, 7, 0, 1) // Y.Array whose parent is item 1:(i-1)
		u = varUint(u, uint64(i-1))
		u = append(u, 0)
	}
	u = append(u, 1, 1, 1, 0, 1) // delete set: client 1, [0,1)
	d := yjs.NewDoc(9)
	if err := d.ApplyUpdate(u); err != nil {
		t.Fatal(err)
	}
	st := encodeAll(t, d)
	// Everything is deleted and collected: one item with deleted content
	// plus one GC struct for the rest.
	if len(st) > 40 {
		t.Fatalf("state after deleting the nest is %d bytes", len(st))
	}
	if err := yjs.NewDoc(2).ApplyUpdate(st); err != nil {
		t.Fatal(err)
	}
}

// TestDoc_ApplyUpdate_ManyBlockedClients sends 100,000 clients whose items
// all wait for a missing client: kept pending in linear time, then applied
// when the dependency arrives.
func TestDoc_ApplyUpdate_ManyBlockedClients(t *testing.T) {
	const n = 100000
	u := varUint(nil, n)
	for c := uint64(1); c <= n; c++ {
		u = append(u, 1)
		u = varUint(u, c+10)
		u = append(u, 0, 0x84, 1, 0, 1, 'x') // "x" after 1:0, which is missing
	}
	u = append(u, 0)
	d := yjs.NewDoc(7)
	if err := d.ApplyUpdate(u); err != nil {
		t.Fatal(err)
	}
	if !d.HasPending() || d.Text("r") != "" {
		t.Fatal("blocked items applied")
	}
	root := []byte{1, 1, 1, 0, 4, 1, 1, 'r', 1, 'A', 0}
	if err := d.ApplyUpdate(root); err != nil {
		t.Fatal(err)
	}
	if d.HasPending() || len(d.Text("r")) != n+1 {
		t.Fatalf("pending %v, text of %d bytes", d.HasPending(), len(d.Text("r")))
	}
}
