package yjs

import (
	"slices"
	"sort"
)

type delRange struct{ clock, len uint64 }

// deleteSet maps clients to deleted clock ranges. Clients keep their insertion
// order (a JS Map in yjs), which decides the order of garbage collection and
// struct merging, and so keeps our encoding byte-identical to yjs's.
type deleteSet struct {
	order   []uint64
	clients map[uint64][]delRange
}

func newDeleteSet() *deleteSet { return &deleteSet{clients: make(map[uint64][]delRange)} }

func (ds *deleteSet) empty() bool { return len(ds.order) == 0 }

func (ds *deleteSet) add(client, clock, length uint64) {
	r, ok := ds.clients[client]
	if !ok {
		ds.order = append(ds.order, client)
	}
	ds.clients[client] = append(r, delRange{clock, length})
}

// sortAndMerge sorts each client's ranges and merges overlapping or adjacent
// ones (sortAndMergeDeleteSet).
func (ds *deleteSet) sortAndMerge() {
	for _, client := range ds.order {
		dels := ds.clients[client]
		sort.Slice(dels, func(a, b int) bool { return dels[a].clock < dels[b].clock })
		j := 1
		for i := 1; i < len(dels); i++ {
			l := &dels[j-1]
			r := dels[i]
			if l.clock+l.len >= r.clock {
				l.len = max(l.len, r.clock+r.len-l.clock)
			} else {
				dels[j] = r
				j++
			}
		}
		if len(dels) > 0 {
			ds.clients[client] = dels[:j]
		}
	}
}

// mergeDeleteSets returns the sorted, merged union of delete sets (nil entries
// are skipped); nil if the union is empty.
func mergeDeleteSets(sets ...*deleteSet) *deleteSet {
	out := newDeleteSet()
	for _, s := range sets {
		if s == nil {
			continue
		}
		for _, client := range s.order {
			for _, r := range s.clients[client] {
				out.add(client, r.clock, r.len)
			}
		}
	}
	if out.empty() {
		return nil
	}
	out.sortAndMerge()
	return out
}

// write encodes the delete set, clients in descending order like yjs.
func (ds *deleteSet) write(e *encoder) {
	if ds == nil {
		e.writeVarUint(0)
		return
	}
	clients := slices.Clone(ds.order)
	slices.SortFunc(clients, func(a, b uint64) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	e.writeVarUint(uint64(len(clients)))
	for _, client := range clients {
		dels := ds.clients[client]
		e.writeVarUint(client)
		e.writeVarUint(uint64(len(dels)))
		for _, r := range dels {
			e.writeVarUint(r.clock)
			e.writeVarUint(r.len)
		}
	}
}
