package yjs_test

import (
	"testing"

	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

type allTypesResult struct {
	Update string         `json:"update"`
	Dump   string         `json:"dump"`
	Schema map[string]any `json:"schema"`
}

// TestDoc_EncodeStateAsUpdate_AllContentTypes round-trips a yjs document that
// uses every content type (formatted text, embeds, maps with all value kinds,
// arrays, nested and deleted types, XML, subdocuments, legacy JSON content,
// deletes): Go's re-encoding must be byte-identical to what yjs produces from
// the same update, and yjs must read the same document back from it.
func TestDoc_EncodeStateAsUpdate_AllContentTypes(t *testing.T) {
	o := startOracle(t)
	for _, gc := range []bool{true, false} {
		name := "gc"
		if !gc {
			name = "nogc"
		}
		t.Run(name, func(t *testing.T) {
			var r allTypesResult
			o.call(map[string]any{"cmd": "allTypes", "gc": gc}, &r)
			update := unb64(t, r.Update)

			d := yjs.NewDoc(1)
			if err := d.ApplyUpdate(update); err != nil {
				t.Fatal(err)
			}
			got := encodeAll(t, d)
			want := o.check([][]byte{update}, "", r.Schema)
			if b64(got) != want.State {
				t.Fatalf("Go re-encoding differs from yjs's:\n got %s\nwant %s", b64(got), want.State)
			}
			back := o.check([][]byte{got}, "", r.Schema)
			if back.Dump != r.Dump {
				t.Fatalf("yjs reads a different document from Go's encoding:\n got %s\nwant %s", back.Dump, r.Dump)
			}
			if back.SV != want.SV || b64(d.EncodeStateVector()) != want.SV {
				t.Fatalf("state vectors differ")
			}
			if got, want := d.Text("content"), textOfDelta(t, o, got); got != want {
				t.Fatalf("Text = %q, yjs says %q", got, want)
			}
			// Diffs against a peer's state vector decode too.
			for _, sv := range [][]byte{{0}, d.EncodeStateVector()} {
				diff, err := d.EncodeStateAsUpdate(sv)
				if err != nil {
					t.Fatal(err)
				}
				var js struct{ Update string }
				o.call(map[string]any{"cmd": "encode", "doc": "alltypes", "sv": b64(sv)}, &js)
				chk := o.check([][]byte{update, diff}, "", r.Schema)
				if chk.Dump != r.Dump {
					t.Fatalf("diff against %v broke the document", sv)
				}
			}
		})
	}
}

func textOfDelta(t *testing.T, o *oracle, update []byte) string {
	t.Helper()
	return o.check([][]byte{update}, "content", nil).Text
}

// TestMergeUpdates merges every update of random sessions and checks yjs
// reads the same text and state vector from the result, and that it is
// smaller than the log it replaces.
func TestMergeUpdates(t *testing.T) {
	o := startOracle(t)
	for seed := int64(100); seed < 110; seed++ {
		s := o.random(seed, 3, 300, false)
		updates := unb64All(t, s.Updates)
		merged, err := yjs.MergeUpdates(updates)
		if err != nil {
			t.Fatal(err)
		}
		r := o.check([][]byte{merged}, "content", nil)
		if r.Text != s.Text || r.SV != s.SV || r.Pending {
			t.Fatalf("seed %d: yjs reads %q (sv %s, pending %v) from the merge, want %q (%s)", seed, r.Text, r.SV, r.Pending, s.Text, s.SV)
		}
		total := 0
		for _, u := range updates {
			total += len(u)
		}
		if len(merged) >= total {
			t.Fatalf("seed %d: merged %d bytes, log %d bytes", seed, len(merged), total)
		}
		// Merging the yjs merge of halves works too, and merging is stable.
		var half struct{ Update string }
		enc := s.Updates[:len(s.Updates)/2]
		o.call(map[string]any{"cmd": "merge", "updates": enc}, &half)
		again, err := yjs.MergeUpdates([][]byte{unb64(t, half.Update), merged})
		if err != nil {
			t.Fatal(err)
		}
		if r := o.check([][]byte{again}, "content", nil); r.Text != s.Text || r.SV != s.SV {
			t.Fatalf("seed %d: merge of merges differs", seed)
		}
	}
}

// TestDoc_ApplyUpdate_Pending delivers updates before the ones they depend
// on: nothing shows until the dependency arrives, the pending structs survive
// EncodeStateAsUpdate and MergeUpdates (yjs applies them later), and deletes
// of unseen content wait too.
func TestDoc_ApplyUpdate_Pending(t *testing.T) {
	o := startOracle(t)
	o.call(map[string]any{"cmd": "new", "doc": "a", "client": 10}, nil)
	o.call(map[string]any{"cmd": "new", "doc": "b", "client": 20}, nil)
	var u struct{ Updates []string }
	step := func(doc string, ops ...map[string]any) []byte {
		for _, op := range ops {
			op["doc"] = doc
			op["name"] = "content"
			o.call(op, nil)
		}
		o.call(map[string]any{"cmd": "updates", "doc": doc}, &u)
		if len(u.Updates) != len(ops) {
			t.Fatalf("%d updates for %d ops", len(u.Updates), len(ops))
		}
		return unb64(t, u.Updates[len(u.Updates)-1])
	}
	u1 := step("a", map[string]any{"cmd": "insert", "index": 0, "text": "hello 😀 world"})
	o.call(map[string]any{"cmd": "apply", "doc": "b", "update": b64(u1)}, nil)
	u2 := step("b", map[string]any{"cmd": "insert", "index": 6, "text": "big "})
	u3 := step("a", map[string]any{"cmd": "insert", "index": 15, "text": "!"})
	o.call(map[string]any{"cmd": "apply", "doc": "a", "update": b64(u2)}, nil)
	u4 := step("a", map[string]any{"cmd": "delete", "index": 0, "len": 6})
	u5 := step("b", map[string]any{"cmd": "delete", "index": 10, "len": 3})
	o.call(map[string]any{"cmd": "apply", "doc": "a", "update": b64(u5)}, nil)
	o.call(map[string]any{"cmd": "apply", "doc": "b", "update": b64(u3)}, nil)
	o.call(map[string]any{"cmd": "apply", "doc": "b", "update": b64(u4)}, nil)
	var want struct{ Text string }
	o.call(map[string]any{"cmd": "text", "doc": "a", "name": "content"}, &want)

	d := yjs.NewDoc(1)
	for _, up := range [][]byte{u5, u4, u3, u2} {
		if err := d.ApplyUpdate(up); err != nil {
			t.Fatal(err)
		}
		if d.Text("content") != "" || !d.HasPending() {
			t.Fatalf("dependent update applied early: %q", d.Text("content"))
		}
	}
	state := encodeAll(t, d)
	merged, err := yjs.MergeUpdates([][]byte{u3, u5, u2, u4})
	if err != nil {
		t.Fatal(err)
	}
	for _, partial := range [][]byte{state, merged} {
		if r := o.check([][]byte{partial}, "content", nil); !r.Pending || r.Text != "" {
			t.Fatalf("yjs: pending %v text %q", r.Pending, r.Text)
		}
		if r := o.check([][]byte{partial, u1}, "content", nil); r.Pending || r.Text != want.Text {
			t.Fatalf("yjs with the dependency: pending %v text %q, want %q", r.Pending, r.Text, want.Text)
		}
	}
	if err := d.ApplyUpdate(u1); err != nil {
		t.Fatal(err)
	}
	if got := d.Text("content"); got != want.Text || d.HasPending() {
		t.Fatalf("after the dependency: %q (pending %v), want %q", got, d.HasPending(), want.Text)
	}
	r := o.check([][]byte{encodeAll(t, d)}, "content", nil)
	if r.Text != want.Text || r.Pending {
		t.Fatalf("yjs reads %q from Go's state", r.Text)
	}
	// A yjs merge with a gap (a Skip struct where c2 is missing between c1
	// and c3) decodes, waits, and completes.
	o.call(map[string]any{"cmd": "new", "doc": "c", "client": 30}, nil)
	c1 := step("c", map[string]any{"cmd": "insert", "index": 0, "text": "abc"})
	c2 := step("c", map[string]any{"cmd": "insert", "index": 3, "text": "def"})
	c3 := step("c", map[string]any{"cmd": "insert", "index": 6, "text": "ghi"})
	var skip struct{ Update string }
	o.call(map[string]any{"cmd": "merge", "updates": []string{b64(c1), b64(c3)}}, &skip)
	s := yjs.NewDoc(3)
	applyAll(t, s, [][]byte{unb64(t, skip.Update)})
	if s.Text("content") != "abc" || !s.HasPending() {
		t.Fatalf("after a merge with a gap: %q pending %v", s.Text("content"), s.HasPending())
	}
	if r := o.check([][]byte{encodeAll(t, s), c2}, "content", nil); r.Text != "abcdefghi" || r.Pending {
		t.Fatalf("yjs from Go's state with a gap: %q pending %v", r.Text, r.Pending)
	}
	applyAll(t, s, [][]byte{c2})
	if s.Text("content") != "abcdefghi" || s.HasPending() {
		t.Fatalf("Go via a Skip: %q", s.Text("content"))
	}
	// A Go doc fed the partial state and then the dependency gets there too.
	g := yjs.NewDoc(2)
	applyAll(t, g, [][]byte{state, u1})
	if g.Text("content") != want.Text || g.HasPending() {
		t.Fatalf("Go via partial state: %q", g.Text("content"))
	}
}
