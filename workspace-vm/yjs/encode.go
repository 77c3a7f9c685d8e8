package yjs

import "slices"

// writeItem encodes a struct starting offset units into it (Item.write).
func writeItem(e *encoder, it *item, off uint64) {
	switch it.kind {
	case kindGC:
		e.writeUint8(refGC)
		e.writeVarUint(it.length - off)
		return
	case kindSkip:
		e.writeUint8(refSkip)
		e.writeVarUint(it.length - off)
		return
	}
	origin, hasOrigin := it.origin, it.hasOrigin
	if off > 0 {
		origin, hasOrigin = id{it.id.client, it.id.clock + off - 1}, true
	}
	info := it.content.ref() & 0x1f
	if hasOrigin {
		info |= flagOrigin
	}
	if it.hasRightOrigin {
		info |= flagRightOrigin
	}
	if it.hasParentSub {
		info |= flagParentSub
	}
	e.writeUint8(info)
	if hasOrigin {
		e.writeVarUint(origin.client)
		e.writeVarUint(origin.clock)
	}
	if it.hasRightOrigin {
		e.writeVarUint(it.rightOrigin.client)
		e.writeVarUint(it.rightOrigin.clock)
	}
	if !hasOrigin && !it.hasRightOrigin {
		switch {
		case it.parent != nil && it.parent.item == nil:
			e.writeVarUint(1)
			e.writeVarBytes([]byte(it.parent.name))
		case it.parent != nil:
			e.writeVarUint(0)
			e.writeVarUint(it.parent.item.id.client)
			e.writeVarUint(it.parent.item.id.clock)
		case it.parentKind == parentRoot:
			e.writeVarUint(1)
			e.writeVarBytes([]byte(it.parentName))
		default:
			e.writeVarUint(0)
			e.writeVarUint(it.parentID.client)
			e.writeVarUint(it.parentID.clock)
		}
		if it.hasParentSub {
			e.writeVarBytes([]byte(it.parentSub))
		}
	}
	it.content.write(e, off)
}

// structRun is one client's structs to write: the first written from offset.
type structRun struct {
	client  uint64
	structs []*item
	offset  uint64
}

func descending(a, b uint64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// writeRuns writes struct runs, highest client first (writeClientsStructs).
func writeRuns(e *encoder, runs []structRun) {
	slices.SortFunc(runs, func(a, b structRun) int { return descending(a.client, b.client) })
	e.writeVarUint(uint64(len(runs)))
	for _, r := range runs {
		e.writeVarUint(uint64(len(r.structs)))
		e.writeVarUint(r.client)
		e.writeVarUint(r.structs[0].id.clock + r.offset)
		writeItem(e, r.structs[0], r.offset)
		for _, s := range r.structs[1:] {
			writeItem(e, s, 0)
		}
	}
}

// runFrom returns the structs of a sorted list from clock on and the offset
// into the first; ok is false if none reach clock.
func runFrom(list []*item, clock uint64) ([]*item, uint64, bool) {
	if len(list) == 0 || list[len(list)-1].end() <= clock {
		return nil, 0, false
	}
	i, _ := slices.BinarySearchFunc(list, clock, func(it *item, c uint64) int {
		switch {
		case it.end() <= c:
			return -1
		case it.id.clock > c:
			return 1
		}
		return 0
	})
	var off uint64
	if list[i].id.clock < clock {
		off = clock - list[i].id.clock
	}
	return list[i:], off, true
}

// encodeStateAsUpdate writes everything the remote with state vector sv lacks:
// integrated structs, then pending ones (with Skips over gaps), then the whole
// delete set including pending deletes. Without pending data this is exactly
// yjs's writeStateAsUpdate.
func (d *Doc) encodeStateAsUpdate(sv map[uint64]uint64) []byte {
	var runs []structRun
	seen := make(map[uint64]bool)
	for client, l := range d.clients {
		seen[client] = true
		start := sv[client]
		var structs []*item
		var off uint64
		if s, o, ok := runFrom(l.s, start); ok {
			structs, off = s, o
		}
		if d.pending != nil {
			structs = d.appendPending(structs, client, max(start, l.state()))
		}
		if len(structs) > 0 {
			runs = append(runs, structRun{client, structs, off})
		}
	}
	if d.pending != nil {
		for client, list := range d.pending.clients {
			if seen[client] {
				continue
			}
			s, off, ok := runFrom(list, sv[client])
			if !ok {
				continue
			}
			// A copy, so appendPending-style Skips never alias pending.
			structs := make([]*item, 0, len(s))
			structs = appendWithSkips(structs, s)
			runs = append(runs, structRun{client, structs, off})
		}
	}
	e := &encoder{}
	writeRuns(e, runs)
	ds := d.deleteSetFromStore()
	if d.pendingDS != nil {
		ds = mergeDeleteSets(ds, d.pendingDS)
	}
	ds.write(e)
	return e.buf
}

// appendPending appends client's pending structs from clock on, with Skips
// over gaps, after the integrated structs (which end at the client's state).
func (d *Doc) appendPending(structs []*item, client, clock uint64) []*item {
	list := d.pending.clients[client]
	s, off, ok := runFrom(list, clock)
	if !ok {
		return structs
	}
	structs = slices.Clip(structs)
	first := s[0]
	if off > 0 {
		first = sliceStruct(first, off)
	}
	var end uint64
	if len(structs) > 0 {
		end = structs[len(structs)-1].end()
	}
	if len(structs) > 0 && first.id.clock > end {
		structs = append(structs, &item{id: id{client, end}, length: first.id.clock - end, kind: kindSkip})
	}
	structs = append(structs, first)
	return appendWithSkips(structs, s[1:])
}

// appendWithSkips appends structs, inserting a Skip wherever the clocks jump.
func appendWithSkips(dst, src []*item) []*item {
	for _, s := range src {
		if len(dst) > 0 {
			end := dst[len(dst)-1].end()
			if s.id.clock > end {
				dst = append(dst, &item{id: id{s.id.client, end}, length: s.id.clock - end, kind: kindSkip})
			}
		}
		dst = append(dst, s)
	}
	return dst
}

// deleteSetFromStore collects every deleted struct (createDeleteSetFromStructStore).
func (d *Doc) deleteSetFromStore() *deleteSet {
	ds := newDeleteSet()
	for client, l := range d.clients {
		s := l.s
		for i := 0; i < len(s); i++ {
			if !s[i].isDeleted() {
				continue
			}
			clock := s[i].id.clock
			n := s[i].length
			for i+1 < len(s) && s[i+1].isDeleted() {
				i++
				n += s[i].length
			}
			ds.add(client, clock, n)
		}
	}
	return ds
}

// encodeStateVector writes client → state pairs, highest client first.
func encodeStateVector(sv map[uint64]uint64) []byte {
	clients := make([]uint64, 0, len(sv))
	for c := range sv {
		clients = append(clients, c)
	}
	slices.SortFunc(clients, descending)
	e := &encoder{}
	e.writeVarUint(uint64(len(clients)))
	for _, c := range clients {
		e.writeVarUint(c)
		e.writeVarUint(sv[c])
	}
	return e.buf
}

// encodeTransaction writes what a local transaction changed: the new structs
// and its delete set (writeUpdateMessageFromTransaction). nil if nothing.
func (d *Doc) encodeTransaction(tx *transaction) []byte {
	var runs []structRun
	for client, l := range d.clients {
		before := tx.beforeState[client]
		if l.state() <= before {
			continue
		}
		s, off, _ := runFrom(l.s, before)
		runs = append(runs, structRun{client, s, off})
	}
	if len(runs) == 0 && tx.ds.empty() {
		return nil
	}
	e := &encoder{}
	writeRuns(e, runs)
	tx.ds.write(e)
	return e.buf
}
