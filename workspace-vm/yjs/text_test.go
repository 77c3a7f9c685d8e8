package yjs_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

// randomFileEdit changes a text the way a terminal tool would: replaces,
// inserts or deletes lines and characters, with non-ASCII text.
func randomFileEdit(rng *rand.Rand, s string) string {
	words := []string{"foo", "bar", "\n", "func main() {\n", "}\n", "中文", "😀", "👍🏽", "é", "𝄞x", "\t", "return nil\n"}
	lines := strings.SplitAfter(s, "\n")
	n := 1 + rng.IntN(4)
	for range n {
		switch rng.IntN(5) {
		case 0: // insert a line
			i := rng.IntN(len(lines) + 1)
			line := words[rng.IntN(len(words))] + words[rng.IntN(len(words))] + "\n"
			lines = append(lines[:i], append([]string{line}, lines[i:]...)...)
		case 1: // delete a line
			if len(lines) > 0 {
				i := rng.IntN(len(lines))
				lines = append(lines[:i], lines[i+1:]...)
			}
		case 2: // change within a line
			if len(lines) > 0 {
				i := rng.IntN(len(lines))
				r := []rune(lines[i])
				k := rng.IntN(len(r) + 1)
				lines[i] = string(r[:k]) + words[rng.IntN(len(words))] + string(r[k:])
			}
		case 3: // replace a run of lines
			if len(lines) > 1 {
				i := rng.IntN(len(lines) - 1)
				j := i + 1 + rng.IntN(min(3, len(lines)-i-1))
				lines = append(lines[:i], append([]string{"replaced " + words[rng.IntN(len(words))] + "\n"}, lines[j:]...)...)
			}
		default: // delete characters
			if len(lines) > 0 {
				i := rng.IntN(len(lines))
				r := []rune(lines[i])
				if len(r) > 0 {
					k := rng.IntN(len(r))
					e := k + 1 + rng.IntN(min(4, len(r)-k))
					lines[i] = string(r[:k]) + string(r[e:])
				}
			}
		}
	}
	return strings.Join(lines, "")
}

// TestDoc_SetText checks that yjs applying SetText's updates reads exactly the
// new content, step after step, and that an unchanged text gives no update.
func TestDoc_SetText(t *testing.T) {
	o := startOracle(t)
	o.call(map[string]any{"cmd": "new", "doc": "js", "client": 77}, nil)
	d := yjs.NewDoc(1234)
	rng := rand.New(rand.NewPCG(1, 2))
	content := "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"héllo 世界 😀\")\n}\n"
	for step := range 150 {
		if step > 0 {
			content = randomFileEdit(rng, content)
		}
		u, err := d.SetText("content", content)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Text("content"); got != content {
			t.Fatalf("step %d: Go text %q, want %q", step, got, content)
		}
		if u == nil {
			continue
		}
		o.call(map[string]any{"cmd": "apply", "doc": "js", "update": b64(u)}, nil)
		var r struct{ Text string }
		o.call(map[string]any{"cmd": "text", "doc": "js", "name": "content"}, &r)
		if r.Text != content {
			t.Fatalf("step %d: yjs text %q, want %q", step, r.Text, content)
		}
		again, err := d.SetText("content", content)
		if err != nil || again != nil {
			t.Fatalf("step %d: SetText with the same content = %v, %v; want nil, nil", step, again, err)
		}
	}
	var sv struct{ SV string }
	o.call(map[string]any{"cmd": "sv", "doc": "js"}, &sv)
	if got := b64(d.EncodeStateVector()); got != sv.SV {
		t.Fatalf("state vectors differ: Go %s yjs %s", got, sv.SV)
	}
}

// TestDoc_SetText_Minimal checks that SetText touches only what changed: the
// update for a one-character change in a big text stays small.
func TestDoc_SetText_Minimal(t *testing.T) {
	d := yjs.NewDoc(1)
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, "line %d with some text 😀\n", i)
	}
	big := b.String()
	if _, err := d.SetText("content", big); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(big, "line 1000 with", "line 1000 wxth", 1)
	changed = strings.Replace(changed, "line 10 with", "line ten with", 1)
	changed = strings.Replace(changed, "line 1999 with some text 😀\n", "", 1)
	u, err := d.SetText("content", changed)
	if err != nil {
		t.Fatal(err)
	}
	if len(u) > 100 {
		t.Fatalf("update for three small changes is %d bytes", len(u))
	}
	if d.Text("content") != changed {
		t.Fatal("text differs")
	}
}

// TestDoc_SetText_Concurrent edits the same text from yjs and from Go
// (SetText, as when a file changes on disk) at the same time, exchanges the
// updates both ways and checks both converge, without duplicated content.
func TestDoc_SetText_Concurrent(t *testing.T) {
	o := startOracle(t)

	t.Run("disjoint", func(t *testing.T) {
		o.call(map[string]any{"cmd": "new", "doc": "j1", "client": 500}, nil)
		g := yjs.NewDoc(600)
		var lines []string
		for i := range 20 {
			lines = append(lines, fmt.Sprintf("line %d 😀\n", i))
		}
		initial := strings.Join(lines, "")
		u0, err := g.SetText("content", initial)
		if err != nil {
			t.Fatal(err)
		}
		o.call(map[string]any{"cmd": "apply", "doc": "j1", "update": b64(u0)}, nil)
		// The editor inserts in line 2 while the terminal rewrites line 10.
		idx := len(utf16(lines[0] + lines[1] + "line 2"))
		o.call(map[string]any{"cmd": "insert", "doc": "j1", "name": "content", "index": idx, "text": " (edited in the browser 中文)"}, nil)
		var ju struct{ Updates []string }
		o.call(map[string]any{"cmd": "updates", "doc": "j1"}, &ju)
		onDisk := strings.Replace(initial, "line 10 😀\n", "line ten, from git checkout\n", 1)
		ug, err := g.SetText("content", onDisk)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range ju.Updates {
			if err := g.ApplyUpdate(unb64(t, u)); err != nil {
				t.Fatal(err)
			}
		}
		o.call(map[string]any{"cmd": "apply", "doc": "j1", "update": b64(ug)}, nil)
		want := strings.Replace(onDisk, "line 2 😀", "line 2 (edited in the browser 中文) 😀", 1)
		var jt struct{ Text string }
		o.call(map[string]any{"cmd": "text", "doc": "j1", "name": "content"}, &jt)
		if got := g.Text("content"); got != want || jt.Text != want {
			t.Fatalf("Go %q\nyjs %q\nwant %q", got, jt.Text, want)
		}
	})

	t.Run("random", func(t *testing.T) {
		o.call(map[string]any{"cmd": "new", "doc": "j2", "client": 700}, nil)
		o.call(map[string]any{"cmd": "new", "doc": "j3", "client": 800}, nil)
		g := yjs.NewDoc(900)
		rng := rand.New(rand.NewPCG(5, 6))
		disk := "first line\nsecond 中文\nthird 😀\n"
		u, err := g.SetText("content", disk)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range []string{"j2", "j3"} {
			o.call(map[string]any{"cmd": "apply", "doc": doc, "update": b64(u)}, nil)
		}
		for round := range 60 {
			// Both browsers and the disk change at once.
			var j2, j3 struct{ Updates []string }
			o.call(map[string]any{"cmd": "randomEdits", "doc": "j2", "name": "content", "seed": round*2 + 1, "n": 1 + rng.IntN(3)}, nil)
			o.call(map[string]any{"cmd": "randomEdits", "doc": "j3", "name": "content", "seed": round*2 + 2, "n": 1 + rng.IntN(3)}, nil)
			o.call(map[string]any{"cmd": "updates", "doc": "j2"}, &j2)
			o.call(map[string]any{"cmd": "updates", "doc": "j3"}, &j3)
			disk = randomFileEdit(rng, g.Text("content"))
			ug, err := g.SetText("content", disk)
			if err != nil {
				t.Fatal(err)
			}
			// Deliver everything everywhere (Go in a scrambled order).
			all := append(append([]string{}, j3.Updates...), j2.Updates...)
			rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			for _, x := range all {
				if err := g.ApplyUpdate(unb64(t, x)); err != nil {
					t.Fatal(err)
				}
			}
			for _, x := range append(j3.Updates, b64(ug)) {
				o.call(map[string]any{"cmd": "apply", "doc": "j2", "update": x}, nil)
			}
			for _, x := range append(j2.Updates, b64(ug)) {
				o.call(map[string]any{"cmd": "apply", "doc": "j3", "update": x}, nil)
			}
			var t2, t3 struct{ Text string }
			o.call(map[string]any{"cmd": "text", "doc": "j2", "name": "content"}, &t2)
			o.call(map[string]any{"cmd": "text", "doc": "j3", "name": "content"}, &t3)
			got := g.Text("content")
			if got != t2.Text || got != t3.Text {
				t.Fatalf("round %d: diverged:\nGo %q\nj2 %q\nj3 %q", round, got, t2.Text, t3.Text)
			}
			// The agent writes the merged text to disk; the watcher then
			// sees its own write, and SetText must not change anything.
			if again, err := g.SetText("content", got); err != nil || again != nil {
				t.Fatalf("round %d: SetText of the current text = %v, %v", round, again, err)
			}
		}
	})

	t.Run("seed once", func(t *testing.T) {
		// A browser holds the document; a restarted agent loads its state
		// and reconciles with the identical file: no update, no duplicate.
		o.call(map[string]any{"cmd": "new", "doc": "j4", "client": 1000}, nil)
		o.call(map[string]any{"cmd": "insert", "doc": "j4", "name": "content", "index": 0, "text": "shared text 😀\n"}, nil)
		var st struct{ Update string }
		o.call(map[string]any{"cmd": "encode", "doc": "j4"}, &st)
		g := yjs.NewDoc(yjs.RandomClientID())
		if err := g.ApplyUpdate(unb64(t, st.Update)); err != nil {
			t.Fatal(err)
		}
		if u, err := g.SetText("content", "shared text 😀\n"); err != nil || u != nil {
			t.Fatalf("SetText of the same file = %v, %v", u, err)
		}
	})
}

func utf16(s string) []uint16 {
	var out []uint16
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xd800+(r>>10)), uint16(0xdc00+(r&0x3ff)))
		} else {
			out = append(out, uint16(r))
		}
	}
	return out
}

// TestDoc_SurrogatePairs checks UTF-16 semantics: emoji take two units, a
// remote insert between the halves of a pair splits it into two U+FFFD on
// every replica (as in yjs), and SetText never splits a pair itself.
func TestDoc_SurrogatePairs(t *testing.T) {
	o := startOracle(t)
	o.call(map[string]any{"cmd": "new", "doc": "s", "client": 42}, nil)
	g := yjs.NewDoc(43)
	u, err := g.SetText("content", "a😀b👍🏽c中文")
	if err != nil {
		t.Fatal(err)
	}
	o.call(map[string]any{"cmd": "apply", "doc": "s", "update": b64(u)}, nil)
	// Replace one emoji by a neighbouring code point: same high surrogate.
	u, err = g.SetText("content", "a😁b👍🏽c中文")
	if err != nil {
		t.Fatal(err)
	}
	o.call(map[string]any{"cmd": "apply", "doc": "s", "update": b64(u)}, nil)
	var jt struct{ Text string }
	o.call(map[string]any{"cmd": "text", "doc": "s", "name": "content"}, &jt)
	if jt.Text != "a😁b👍🏽c中文" {
		t.Fatalf("yjs text %q", jt.Text)
	}
	// yjs inserts between the halves of 😁 (index 2 in UTF-16).
	o.call(map[string]any{"cmd": "insert", "doc": "s", "name": "content", "index": 2, "text": "x"}, nil)
	var ju struct{ Updates []string }
	o.call(map[string]any{"cmd": "updates", "doc": "s"}, &ju)
	for _, x := range ju.Updates {
		if err := g.ApplyUpdate(unb64(t, x)); err != nil {
			t.Fatal(err)
		}
	}
	o.call(map[string]any{"cmd": "text", "doc": "s", "name": "content"}, &jt)
	want := "a\uFFFDx\uFFFDb👍🏽c中文"
	if got := g.Text("content"); got != want || jt.Text != want {
		t.Fatalf("Go %q yjs %q want %q", got, jt.Text, want)
	}
	r := o.check([][]byte{encodeAll(t, g)}, "content", nil)
	if r.Text != want {
		t.Fatalf("yjs from Go's state: %q", r.Text)
	}
}

// TestDoc_BigDocument loads a 1 MB text built by many yjs edits, edits it
// from Go and checks yjs agrees.
func TestDoc_BigDocument(t *testing.T) {
	o := startOracle(t)
	var big struct {
		Update string
		Length int
	}
	o.call(map[string]any{"cmd": "big", "doc": "big", "size": 1 << 20}, &big)
	update := unb64(t, big.Update)
	g := yjs.NewDoc(9)
	if err := g.ApplyUpdate(update); err != nil {
		t.Fatal(err)
	}
	want := o.check([][]byte{update}, "content", nil)
	text := g.Text("content")
	if text != want.Text || len(utf16(text)) != big.Length {
		t.Fatalf("Go text of %d bytes differs from yjs (%d units)", len(text), big.Length)
	}
	if b64(encodeAll(t, g)) != want.State {
		t.Fatal("EncodeStateAsUpdate differs from yjs")
	}
	mid := len(text) / 2
	for !utf8.RuneStart(text[mid]) {
		mid++
	}
	changed := "// header\n" + text[:mid] + "INSERTED 😀\n" + text[mid+100:] + "trailer"
	if !utf8.ValidString(changed) {
		t.Fatal("test built invalid UTF-8")
	}
	u, err := g.SetText("content", changed)
	if err != nil {
		t.Fatal(err)
	}
	if len(u) > 200 {
		t.Fatalf("update for three small changes of a 1 MB text is %d bytes", len(u))
	}
	o.call(map[string]any{"cmd": "apply", "doc": "big", "update": b64(u)}, nil)
	var jt struct{ Text string }
	o.call(map[string]any{"cmd": "text", "doc": "big", "name": "content"}, &jt)
	if jt.Text != changed || g.Text("content") != changed {
		t.Fatal("texts differ after SetText on the big document")
	}
}
