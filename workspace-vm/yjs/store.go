package yjs

import "slices"

// structList holds one client's structs, sorted by clock and contiguous from
// clock 0 (yjs's StructStore.clients entry).
type structList struct {
	s []*item
}

func (l *structList) state() uint64 {
	last := l.s[len(l.s)-1]
	return last.end()
}

// find returns the index of the struct that contains clock (findIndexSS). The
// caller must have checked clock < state.
func (l *structList) find(clock uint64) int {
	s := l.s
	lo, hi := 0, len(s)-1
	for lo <= hi {
		mid := int(uint(lo+hi) >> 1)
		m := s[mid]
		if m.id.clock <= clock {
			if clock < m.end() {
				return mid
			}
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	panic("yjs: internal error: clock not in struct store")
}

func (l *structList) insertAt(i int, it *item) {
	l.s = slices.Insert(l.s, i, it)
}

func (d *Doc) getState(client uint64) uint64 {
	l := d.clients[client]
	if l == nil {
		return 0
	}
	return l.state()
}

func (d *Doc) stateVector() map[uint64]uint64 {
	sv := make(map[uint64]uint64, len(d.clients))
	for client, l := range d.clients {
		sv[client] = l.state()
	}
	return sv
}

func (d *Doc) addStruct(it *item) {
	l := d.clients[it.id.client]
	if l == nil {
		l = &structList{}
		d.clients[it.id.client] = l
	} else if l.state() != it.id.clock {
		panic("yjs: internal error: struct added out of order")
	}
	l.s = append(l.s, it)
}

// getItem returns the struct containing the id (it must exist).
func (d *Doc) getItem(at id) *item {
	l := d.clients[at.client]
	return l.s[l.find(at.clock)]
}

// findIndexCleanStart returns the index of the struct starting at clock,
// splitting an item if clock is in its middle.
func (d *Doc) findIndexCleanStart(tx *transaction, l *structList, clock uint64) int {
	i := l.find(clock)
	s := l.s[i]
	if s.id.clock < clock && s.kind == kindItem {
		l.insertAt(i+1, d.splitItem(tx, s, clock-s.id.clock))
		return i + 1
	}
	return i
}

// getItemCleanStart returns the struct that starts at id, splitting if needed.
func (d *Doc) getItemCleanStart(tx *transaction, at id) *item {
	l := d.clients[at.client]
	return l.s[d.findIndexCleanStart(tx, l, at.clock)]
}

// getItemCleanEnd returns the struct that ends at id, splitting if needed (a
// GC is returned whole).
func (d *Doc) getItemCleanEnd(tx *transaction, at id) *item {
	l := d.clients[at.client]
	i := l.find(at.clock)
	s := l.s[i]
	if at.clock != s.end()-1 && s.kind != kindGC {
		l.insertAt(i+1, d.splitItem(tx, s, at.clock-s.id.clock+1))
	}
	return s
}

func (d *Doc) replaceStruct(old, repl *item) {
	l := d.clients[old.id.client]
	l.s[l.find(old.id.clock)] = repl
}

// splitItem splits an item at diff and returns the right part (splitItem).
func (d *Doc) splitItem(tx *transaction, left *item, diff uint64) *item {
	d.version++ // a split may turn a cut surrogate pair into U+FFFD
	right := &item{
		id:             id{left.id.client, left.id.clock + diff},
		length:         left.length - diff,
		kind:           kindItem,
		deleted:        left.deleted,
		left:           left,
		origin:         id{left.id.client, left.id.clock + diff - 1},
		hasOrigin:      true,
		right:          left.right,
		rightOrigin:    left.rightOrigin,
		hasRightOrigin: left.hasRightOrigin,
		parent:         left.parent,
		parentSub:      left.parentSub,
		hasParentSub:   left.hasParentSub,
	}
	right.content = left.content.splice(diff)
	left.right = right
	if right.right != nil {
		right.right.left = right
	}
	tx.mergeStructs = append(tx.mergeStructs, right)
	if right.hasParentSub && right.right == nil {
		right.parent.setMap(right.parentSub, right)
	}
	left.length = diff
	return right
}
