package yjs

import (
	"slices"
	"sort"
)

// This file ports yjs's integration (Item.integrate, integrateStructs,
// readAndApplyDeleteSet, transaction cleanup) as literally as Go allows: the
// same decisions in the same order give the same document and the same
// struct layout, so EncodeStateAsUpdate matches yjs byte for byte.

type transaction struct {
	beforeState  map[uint64]uint64
	ds           *deleteSet
	mergeStructs []*item
	local        bool
}

func (d *Doc) newTransaction(local bool) *transaction {
	return &transaction{beforeState: d.stateVector(), ds: newDeleteSet(), local: local}
}

// getMissing returns the client of a struct this item depends on but the
// document lacks, or, if nothing is missing, resolves left, right and parent
// (Item.getMissing).
func (d *Doc) getMissing(tx *transaction, it *item) (uint64, bool) {
	if it.kind != kindItem {
		return 0, false
	}
	if it.hasOrigin && it.origin.client != it.id.client && it.origin.clock >= d.getState(it.origin.client) {
		return it.origin.client, true
	}
	if it.hasRightOrigin && it.rightOrigin.client != it.id.client && it.rightOrigin.clock >= d.getState(it.rightOrigin.client) {
		return it.rightOrigin.client, true
	}
	if it.parentKind == parentItem && it.id.client != it.parentID.client && it.parentID.clock >= d.getState(it.parentID.client) {
		return it.parentID.client, true
	}
	if it.hasOrigin {
		it.left = d.getItemCleanEnd(tx, it.origin)
		it.origin = it.left.lastID()
	}
	if it.hasRightOrigin {
		it.right = d.getItemCleanStart(tx, it.rightOrigin)
		it.rightOrigin = it.right.id
	}
	switch {
	case (it.left != nil && it.left.kind == kindGC) || (it.right != nil && it.right.kind == kindGC):
		it.parent = nil
	case it.parentKind == parentNone:
		if it.left != nil && it.left.kind == kindItem {
			it.parent = it.left.parent
			it.parentSub, it.hasParentSub = it.left.parentSub, it.left.hasParentSub
		} else if it.right != nil && it.right.kind == kindItem {
			it.parent = it.right.parent
			it.parentSub, it.hasParentSub = it.right.parentSub, it.right.hasParentSub
		}
	case it.parentKind == parentRoot:
		it.parent = d.root(it.parentName)
	case it.parentKind == parentItem:
		p := d.getItem(it.parentID)
		if ct, ok := p.content.(*contentType); ok && p.kind == kindItem {
			it.parent = ct.t
		} else {
			it.parent = nil
		}
	}
	return 0, false
}

func sameOrigin(a, b *item) bool {
	return a.hasOrigin == b.hasOrigin && (!a.hasOrigin || a.origin == b.origin)
}

func sameRightOrigin(a, b *item) bool {
	return a.hasRightOrigin == b.hasRightOrigin && (!a.hasRightOrigin || a.rightOrigin == b.rightOrigin)
}

// integrate inserts a struct into the document (Item.integrate / GC.integrate),
// resolving concurrent inserts at the same position with YATA.
func (d *Doc) integrate(tx *transaction, it *item, offset uint64) {
	if it.kind == kindGC {
		if offset > 0 {
			it.id.clock += offset
			it.length -= offset
		}
		d.addStruct(it)
		return
	}
	if offset > 0 {
		it.id.clock += offset
		it.left = d.getItemCleanEnd(tx, id{it.id.client, it.id.clock - 1})
		it.origin = it.left.lastID()
		it.hasOrigin = true
		it.content = it.content.splice(offset)
		it.length -= offset
	}
	d.version++
	parent := it.parent
	if parent == nil {
		d.addStruct(&item{id: it.id, length: it.length, kind: kindGC, deleted: true})
		return
	}
	if (it.left == nil && (it.right == nil || it.right.left != nil)) || (it.left != nil && it.left.right != it.right) {
		left := it.left
		var o *item
		switch {
		case left != nil:
			o = left.right
		case it.hasParentSub:
			o = parent.m[it.parentSub]
			for o != nil && o.left != nil {
				o = o.left
			}
		default:
			o = parent.start
		}
		var conflicting, beforeOrigin map[*item]struct{}
		if o != nil && o != it.right {
			conflicting = make(map[*item]struct{})
			beforeOrigin = make(map[*item]struct{})
		}
		for o != nil && o != it.right {
			beforeOrigin[o] = struct{}{}
			conflicting[o] = struct{}{}
			if sameOrigin(it, o) {
				if o.id.client < it.id.client {
					left = o
					clear(conflicting)
				} else if sameRightOrigin(it, o) {
					break
				}
			} else if _, ok := beforeOrigin[d.originItem(o)]; ok {
				if _, ok := conflicting[d.originItem(o)]; !ok {
					left = o
					clear(conflicting)
				}
			} else {
				break
			}
			o = o.right
		}
		it.left = left
	}
	if it.left != nil {
		it.right = it.left.right
		it.left.right = it
	} else {
		var r *item
		if it.hasParentSub {
			r = parent.m[it.parentSub]
			for r != nil && r.left != nil {
				r = r.left
			}
		} else {
			r = parent.start
			parent.start = it
		}
		it.right = r
	}
	if it.right != nil {
		it.right.left = it
	} else if it.hasParentSub {
		parent.setMap(it.parentSub, it)
		if it.left != nil {
			d.deleteItem(tx, it.left)
		}
	}
	if !it.hasParentSub && it.countable() && !it.deleted {
		parent.length += it.length
	}
	d.addStruct(it)
	if ct, ok := it.content.(*contentType); ok {
		ct.t.item = it
	}
	if (parent.item != nil && parent.item.deleted) || (it.hasParentSub && it.right != nil) {
		d.deleteItem(tx, it)
	}
}

// originItem returns the struct holding o's origin, or nil if o has none.
func (d *Doc) originItem(o *item) *item {
	if !o.hasOrigin {
		return nil
	}
	return d.getItem(o.origin)
}

// deleteItem marks an item deleted (Item.delete), deleting a nested type's
// children with it. The walk is iterative (a depth-first walk in yjs's order)
// so hostile nesting cannot exhaust the stack.
func (d *Doc) deleteItem(tx *transaction, it *item) {
	if it.deleted || it.kind != kindItem {
		return
	}
	d.markDeleted(tx, it)
	ct, ok := it.content.(*contentType)
	if !ok {
		return
	}
	type frame struct {
		t      *ytype
		next   *item
		keyIdx int
	}
	stack := []frame{{t: ct.t, next: ct.t.start}}
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		var c *item
		switch {
		case f.next != nil:
			c = f.next
			f.next = c.right
		case f.keyIdx < len(f.t.keys):
			c = f.t.m[f.t.keys[f.keyIdx]]
			f.keyIdx++
		default:
			stack = stack[:len(stack)-1]
			continue
		}
		if !c.deleted {
			d.markDeleted(tx, c)
			if cct, ok := c.content.(*contentType); ok {
				stack = append(stack, frame{t: cct.t, next: cct.t.start})
			}
		} else if c.id.clock < tx.beforeState[c.id.client] {
			tx.mergeStructs = append(tx.mergeStructs, c)
		}
	}
}

func (d *Doc) markDeleted(tx *transaction, it *item) {
	if it.countable() && !it.hasParentSub {
		it.parent.length -= it.length
	}
	it.deleted = true
	d.version++
	tx.ds.add(it.id.client, it.id.clock, it.length)
}

// gcItem drops a deleted item's content (Item.gc): a collected nested type's
// descendants become GC structs, the item keeps only its length.
func (d *Doc) gcItem(it *item, parentGCd bool) {
	if ct, ok := it.content.(*contentType); ok {
		types := []*ytype{ct.t}
		for len(types) > 0 {
			t := types[len(types)-1]
			types = types[:len(types)-1]
			collect := func(c *item) {
				if cct, ok := c.content.(*contentType); ok {
					types = append(types, cct.t)
				}
				d.replaceStruct(c, &item{id: c.id, length: c.length, kind: kindGC, deleted: true})
			}
			for c := t.start; c != nil; c = c.right {
				collect(c)
			}
			for _, k := range t.keys {
				for c := t.m[k]; c != nil; c = c.left {
					collect(c)
				}
			}
			t.start = nil
			t.m = nil
			t.keys = nil
		}
	}
	if parentGCd {
		d.replaceStruct(it, &item{id: it.id, length: it.length, kind: kindGC, deleted: true})
	} else {
		it.content = &contentDeleted{it.length}
	}
}

// pendingStructs are structs that wait for structs they depend on.
type pendingStructs struct {
	clients map[uint64][]*item // sorted by clock, not overlapping, gaps allowed
	missing map[uint64]uint64
}

// integrateStructs integrates decoded structs in causal order and returns
// those whose dependencies are missing (integrateStructs in yjs).
func (d *Doc) integrateStructs(tx *transaction, refs map[uint64]*clientRefs) *pendingStructs {
	ids := make([]uint64, 0, len(refs))
	for c := range refs {
		ids = append(ids, c)
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	// Clients moved to rest are deleted from refs and skipped here (yjs
	// filters them out of ids, which is quadratic with many clients).
	nextTarget := func() *clientRefs {
		for len(ids) > 0 {
			if t := refs[ids[len(ids)-1]]; t != nil && t.i < len(t.refs) {
				return t
			}
			ids = ids[:len(ids)-1]
		}
		return nil
	}
	cur := nextTarget()
	if cur == nil {
		return nil
	}
	rest := make(map[uint64][]*item)
	missingSV := make(map[uint64]uint64)
	updateMissing := func(client, clock uint64) {
		if m, ok := missingSV[client]; !ok || m > clock {
			missingSV[client] = clock
		}
	}
	var stack []*item
	head := cur.refs[cur.i]
	cur.i++
	state := make(map[uint64]uint64)
	addStackToRest := func() {
		for _, it := range stack {
			c := it.id.client
			if inapplicable, ok := refs[c]; ok {
				inapplicable.i--
				rest[c] = slices.Clone(inapplicable.refs[inapplicable.i:])
				delete(refs, c)
				inapplicable.i = 0
				inapplicable.refs = nil
			} else {
				rest[c] = []*item{it}
			}
		}
		stack = stack[:0]
	}
	for {
		if head.kind != kindSkip {
			localClock, ok := state[head.id.client]
			if !ok {
				localClock = d.getState(head.id.client)
				state[head.id.client] = localClock
			}
			if localClock < head.id.clock {
				stack = append(stack, head)
				updateMissing(head.id.client, head.id.clock-1)
				addStackToRest()
			} else {
				offset := localClock - head.id.clock
				if missing, ok := d.getMissing(tx, head); ok {
					stack = append(stack, head)
					sr := refs[missing]
					if sr == nil || sr.i == len(sr.refs) {
						updateMissing(missing, d.getState(missing))
						addStackToRest()
					} else {
						head = sr.refs[sr.i]
						sr.i++
						continue
					}
				} else if offset == 0 || offset < head.length {
					d.integrate(tx, head, offset)
					state[head.id.client] = head.id.clock + head.length
				}
			}
		}
		if len(stack) > 0 {
			head = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
		} else if cur != nil && cur.i < len(cur.refs) {
			head = cur.refs[cur.i]
			cur.i++
		} else {
			cur = nextTarget()
			if cur == nil {
				break
			}
			head = cur.refs[cur.i]
			cur.i++
		}
	}
	if len(rest) == 0 {
		return nil
	}
	p := &pendingStructs{clients: make(map[uint64][]*item), missing: missingSV}
	p.add(rest)
	return p
}

// add merges structs into the pending set, dropping Skips and trimming
// overlaps (the same id always carries the same content).
func (p *pendingStructs) add(structs map[uint64][]*item) {
	for c, list := range structs {
		all := append(slices.Clone(p.clients[c]), list...)
		all = slices.DeleteFunc(all, func(it *item) bool { return it.kind == kindSkip })
		sort.SliceStable(all, func(a, b int) bool { return all[a].id.clock < all[b].id.clock })
		out := all[:0]
		var end uint64
		for _, it := range all {
			if len(out) > 0 && it.id.clock < end {
				if it.end() <= end {
					continue
				}
				it = sliceStruct(it, end-it.id.clock)
			}
			out = append(out, it)
			end = it.end()
		}
		if len(out) > 0 {
			p.clients[c] = out
		} else {
			delete(p.clients, c)
		}
	}
}

// sliceStruct returns a new, unintegrated struct for [off,len) of s
// (sliceStruct in yjs's updates.js).
func sliceStruct(s *item, off uint64) *item {
	r := &item{id: id{s.id.client, s.id.clock + off}, length: s.length - off, kind: s.kind, deleted: s.deleted}
	if s.kind != kindItem {
		return r
	}
	r.origin = id{s.id.client, s.id.clock + off - 1}
	r.hasOrigin = true
	r.rightOrigin, r.hasRightOrigin = s.rightOrigin, s.hasRightOrigin
	r.content = s.content.slice(off)
	return r
}

// toRefs turns pending structs back into decoded refs for another attempt.
func (p *pendingStructs) toRefs() map[uint64]*clientRefs {
	refs := make(map[uint64]*clientRefs, len(p.clients))
	for c, list := range p.clients {
		refs[c] = &clientRefs{refs: list}
	}
	return refs
}

// applyDeleteSet deletes the ranges the document has and returns the rest
// (readAndApplyDeleteSet).
func (d *Doc) applyDeleteSet(tx *transaction, ds *deleteSet) *deleteSet {
	if ds == nil {
		return nil
	}
	unapplied := newDeleteSet()
	for _, client := range ds.order {
		l := d.clients[client]
		state := d.getState(client)
		for _, r := range ds.clients[client] {
			clock, clockEnd := r.clock, r.clock+r.len
			if clock >= state {
				unapplied.add(client, clock, r.len)
				continue
			}
			if state < clockEnd {
				unapplied.add(client, state, clockEnd-state)
			}
			index := l.find(clock)
			s := l.s[index]
			if !s.isDeleted() && s.id.clock < clock {
				l.insertAt(index+1, d.splitItem(tx, s, clock-s.id.clock))
				index++
			}
			for index < len(l.s) {
				s = l.s[index]
				index++
				if s.id.clock >= clockEnd {
					break
				}
				if !s.isDeleted() {
					if clockEnd < s.end() {
						l.insertAt(index, d.splitItem(tx, s, clockEnd-s.id.clock))
					}
					d.deleteItem(tx, s)
				}
			}
		}
	}
	if unapplied.empty() {
		return nil
	}
	unapplied.sortAndMerge()
	return unapplied
}

// tryToMergeWithLefts merges the struct at pos with its left neighbours where
// possible and returns how many were merged away.
func tryToMergeWithLefts(l *structList, pos int) int {
	s := l.s
	i := pos
	for ; i > 0; i-- {
		left, right := s[i-1], s[i]
		if left.isDeleted() == right.isDeleted() && left.kind == right.kind && tryMerge(left, right) {
			if right.kind == kindItem && right.hasParentSub && right.parent.m[right.parentSub] == right {
				right.parent.m[right.parentSub] = left
			}
			continue
		}
		break
	}
	merged := pos - i
	if merged > 0 {
		l.s = slices.Delete(s, pos+1-merged, pos+1)
	}
	return merged
}

// tryMerge appends right to left if they form one run (mergeWith).
func tryMerge(left, right *item) bool {
	if left.kind != kindItem {
		left.length += right.length
		return true
	}
	if right.hasOrigin && right.origin == left.lastID() &&
		left.right == right &&
		sameRightOrigin(left, right) &&
		left.id.client == right.id.client &&
		left.id.clock+left.length == right.id.clock &&
		left.deleted == right.deleted &&
		left.content.ref() == right.content.ref() &&
		left.content.mergeWith(right.content) {
		left.right = right.right
		if left.right != nil {
			left.right.left = left
		}
		left.length += right.length
		return true
	}
	return false
}

// cleanup ends a transaction: garbage-collects deleted content and merges
// structs (cleanupTransactions).
func (d *Doc) cleanup(tx *transaction) {
	ds := tx.ds
	ds.sortAndMerge()
	afterState := d.stateVector()
	// tryGcDeleteSet
	for _, client := range ds.order {
		l := d.clients[client]
		dels := ds.clients[client]
		for di := len(dels) - 1; di >= 0; di-- {
			r := dels[di]
			end := r.clock + r.len
			for si := l.find(r.clock); si < len(l.s) && l.s[si].id.clock < end; si++ {
				s := l.s[si]
				if s.kind == kindItem && s.deleted {
					d.gcItem(s, false)
				}
			}
		}
	}
	// tryMergeDeleteSet
	for _, client := range ds.order {
		l := d.clients[client]
		dels := ds.clients[client]
		for di := len(dels) - 1; di >= 0; di-- {
			r := dels[di]
			si := min(len(l.s)-1, 1+l.find(r.clock+r.len-1))
			for si > 0 && l.s[si].id.clock >= r.clock {
				si -= 1 + tryToMergeWithLefts(l, si)
			}
		}
	}
	for client, clock := range afterState {
		before := tx.beforeState[client]
		if before == clock {
			continue
		}
		l := d.clients[client]
		first := max(l.find(before), 1)
		for i := len(l.s) - 1; i >= first; {
			i -= 1 + tryToMergeWithLefts(l, i)
		}
	}
	for i := len(tx.mergeStructs) - 1; i >= 0; i-- {
		at := tx.mergeStructs[i].id
		l := d.clients[at.client]
		pos := l.find(at.clock)
		if pos+1 < len(l.s) {
			if tryToMergeWithLefts(l, pos+1) > 1 {
				continue
			}
		}
		if pos > 0 {
			tryToMergeWithLefts(l, pos)
		}
	}
	if !tx.local {
		b, okb := tx.beforeState[d.clientID]
		a, oka := afterState[d.clientID]
		if okb != oka || a != b {
			// Another peer used our client id; like yjs, take a fresh one so
			// our next edits cannot collide with theirs.
			d.clientID = d.newClientID()
		}
	}
}
