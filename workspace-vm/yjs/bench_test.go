package yjs_test

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

var (
	benchOnce    sync.Once
	benchUpdates [][]byte
	benchState   []byte
)

// tenKEditLog builds a document from 10,000 small edits by three Go peers
// that exchange their updates with a delay, so edits interleave.
func tenKEditLog(tb testing.TB) ([][]byte, []byte) {
	tb.Helper()
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(42, 42))
		peers := []*yjs.Doc{yjs.NewDoc(101), yjs.NewDoc(202), yjs.NewDoc(303)}
		inbox := make([][][]byte, len(peers))
		words := []string{"a", "bc", "def ", "\n", "中", "😀", "func ", "x := 1\n"}
		for range 10000 {
			i := rng.IntN(len(peers))
			p := peers[i]
			// Peers catch up now and then, so most edits are concurrent.
			if rng.IntN(10) == 0 {
				for _, u := range inbox[i] {
					if err := p.ApplyUpdate(u); err != nil {
						tb.Fatal(err)
					}
				}
				inbox[i] = inbox[i][:0]
			}
			text := []rune(p.Text("content"))
			k := rng.IntN(len(text) + 1)
			var next string
			if len(text) > 200 && rng.IntN(3) == 0 {
				e := min(len(text), k+1+rng.IntN(5))
				next = string(text[:k]) + string(text[e:])
			} else {
				next = string(text[:k]) + words[rng.IntN(len(words))] + string(text[k:])
			}
			u, err := p.SetText("content", next)
			if err != nil {
				tb.Fatal(err)
			}
			if u == nil {
				continue
			}
			benchUpdates = append(benchUpdates, u)
			for j := range peers {
				if j != i {
					inbox[j] = append(inbox[j], u)
				}
			}
		}
		d := yjs.NewDoc(1)
		for _, u := range benchUpdates {
			if err := d.ApplyUpdate(u); err != nil {
				tb.Fatal(err)
			}
		}
		var err error
		if benchState, err = d.EncodeStateAsUpdate(nil); err != nil {
			tb.Fatal(err)
		}
	})
	return benchUpdates, benchState
}

// BenchmarkDoc_ApplyUpdate applies a 10k-edit document: the whole update log
// one by one (a server loading an uncompacted log) and the compacted state.
func BenchmarkDoc_ApplyUpdate(b *testing.B) {
	updates, state := tenKEditLog(b)
	b.Run("log", func(b *testing.B) {
		for b.Loop() {
			d := yjs.NewDoc(1)
			for _, u := range updates {
				if err := d.ApplyUpdate(u); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(updates)), "updates/op")
	})
	b.Run("state", func(b *testing.B) {
		b.SetBytes(int64(len(state)))
		for b.Loop() {
			if err := yjs.NewDoc(1).ApplyUpdate(state); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDoc_EncodeStateAsUpdate encodes a 10k-edit document (compaction).
func BenchmarkDoc_EncodeStateAsUpdate(b *testing.B) {
	_, state := tenKEditLog(b)
	d := yjs.NewDoc(1)
	if err := d.ApplyUpdate(state); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(state)))
	for b.Loop() {
		if _, err := d.EncodeStateAsUpdate(nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDoc_SetText measures a one-line change on disk reaching a 10k-edit
// document.
func BenchmarkDoc_SetText(b *testing.B) {
	_, state := tenKEditLog(b)
	d := yjs.NewDoc(1)
	if err := d.ApplyUpdate(state); err != nil {
		b.Fatal(err)
	}
	base := d.Text("content")
	variants := []string{base + "\n// changed\n", strings.Replace(base, "\n", "\n// inserted\n", 1)}
	i := 0
	for b.Loop() {
		if _, err := d.SetText("content", variants[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
