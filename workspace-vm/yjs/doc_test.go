package yjs_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

func applyAll(tb testing.TB, d *yjs.Doc, updates [][]byte) {
	tb.Helper()
	for i, u := range updates {
		if err := d.ApplyUpdate(u); err != nil {
			tb.Fatalf("update %d: %v", i, err)
		}
	}
}

func encodeAll(tb testing.TB, d *yjs.Doc) []byte {
	tb.Helper()
	u, err := d.EncodeStateAsUpdate(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// TestDoc_ApplyUpdate_RandomSessions replays random concurrent sessions of
// three yjs clients (interleaved delivery, emoji, CJK, multi-op transactions).
func TestDoc_ApplyUpdate_RandomSessions(t *testing.T) {
	o := startOracle(t)
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := o.random(seed, 3, 300, seed%4 == 0)
			updates := unb64All(t, s.Updates)

			// In emission order, Go must end in exactly yjs's state.
			d := yjs.NewDoc(999)
			applyAll(t, d, updates)
			if got := d.Text("content"); got != s.Text {
				t.Fatalf("text in order:\n got %q\nwant %q", got, s.Text)
			}
			if got := b64(d.EncodeStateVector()); got != s.SV {
				t.Fatalf("state vector: got %s want %s", got, s.SV)
			}
			if got := b64(encodeAll(t, d)); got != s.Observed {
				t.Fatalf("EncodeStateAsUpdate differs from yjs:\n got %s\nwant %s", got, s.Observed)
			}

			// In a random order (dependencies arrive late), Go converges.
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			shuffled := append([][]byte(nil), updates...)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			g := yjs.NewDoc(999)
			applyAll(t, g, shuffled)
			if g.HasPending() {
				t.Fatal("pending structs left after all updates")
			}
			if got := g.Text("content"); got != s.Text {
				t.Fatalf("text shuffled:\n got %q\nwant %q", got, s.Text)
			}
			if got := b64(g.EncodeStateVector()); got != s.SV {
				t.Fatalf("state vector shuffled: got %s want %s", got, s.SV)
			}
			state := encodeAll(t, g)
			r := o.check([][]byte{state}, "content", nil)
			if r.Text != s.Text || r.SV != s.SV || r.Pending {
				t.Fatalf("yjs applying Go's state: text %q sv %s pending %v; want %q %s", r.Text, r.SV, r.Pending, s.Text, s.SV)
			}
			// Idempotent: everything again changes nothing.
			applyAll(t, g, updates)
			if again := encodeAll(t, g); !bytes.Equal(again, state) {
				t.Fatal("re-applying all updates changed the state")
			}
		})
	}
}

// TestDoc_ApplyUpdate_MixedTypes replays random sessions that edit maps,
// arrays and nested types concurrently besides the text: in order, Go's
// state is byte-identical to yjs's; shuffled, yjs reads the same document
// from Go's state.
func TestDoc_ApplyUpdate_MixedTypes(t *testing.T) {
	o := startOracle(t)
	seeds := 20
	if testing.Short() {
		seeds = 5
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			s := o.randomMixed(seed, 3, 300)
			updates := unb64All(t, s.Updates)
			d := yjs.NewDoc(999)
			applyAll(t, d, updates)
			if got := b64(encodeAll(t, d)); got != s.Observed {
				t.Fatalf("EncodeStateAsUpdate differs from yjs:\n got %s\nwant %s", got, s.Observed)
			}
			rng := rand.New(rand.NewPCG(uint64(seed), 9))
			rng.Shuffle(len(updates), func(i, j int) { updates[i], updates[j] = updates[j], updates[i] })
			g := yjs.NewDoc(999)
			applyAll(t, g, updates)
			r := o.check([][]byte{encodeAll(t, g)}, "", mixedSchema)
			if r.Dump != s.Dump || r.SV != s.SV || r.Pending {
				t.Fatalf("yjs reads a different document from Go's state:\n got %s\nwant %s", r.Dump, s.Dump)
			}
			if g.Text("content") != s.Text {
				t.Fatal("text differs")
			}
		})
	}
}

// TestDoc_ConcurrentUse calls a Doc from several goroutines at once, as the
// hub and the file watcher do (run with -race).
func TestDoc_ConcurrentUse(t *testing.T) {
	peer := yjs.NewDoc(5)
	var updates [][]byte
	text := ""
	for i := range 200 {
		text += fmt.Sprintf("line %d\n", i)
		u, err := peer.SetText("content", text)
		if err != nil {
			t.Fatal(err)
		}
		updates = append(updates, u)
	}
	d := yjs.NewDoc(6)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, u := range updates {
			if err := d.ApplyUpdate(u); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; ; i++ {
		select {
		case <-done:
			if _, err := d.SetText("content", d.Text("content")+"end\n"); err != nil {
				t.Fatal(err)
			}
			if err := peer.ApplyUpdate(encodeAll(t, d)); err != nil {
				t.Fatal(err)
			}
			if peer.Text("content") != text+"end\n" {
				t.Fatalf("peer text %q", peer.Text("content"))
			}
			return
		default:
			_ = d.Text("content")
			_ = d.EncodeStateVector()
			if _, err := d.EncodeStateAsUpdate(peer.EncodeStateVector()); err != nil {
				t.Fatal(err)
			}
			if i%10 == 0 {
				_ = d.HasPending()
				_ = d.ClientID()
			}
		}
	}
}
