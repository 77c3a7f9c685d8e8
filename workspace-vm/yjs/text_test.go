package yjs_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

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
