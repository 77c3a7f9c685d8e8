package yjs

import (
	"fmt"
	"unicode/utf8"
)

// Text returns the content of the Y.Text named name (ytext.toString()): the
// text of its live string items, without embeds or formatting. A text that
// does not exist is empty. Lone UTF-16 surrogates, which JavaScript strings
// may hold, come out as U+FFFD.
func (d *Doc) Text(name string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.textUnits(name)
	if !c.hasStr {
		c.str = string(appendUTF8FromUTF16(make([]byte, 0, utf8LenOfUTF16(c.units)), c.units))
		c.hasStr = true
	}
	return c.str
}

// textUnits returns the UTF-16 content of a text, from the cache when the
// document has not changed since.
func (d *Doc) textUnits(name string) *textCache {
	if c := d.texts[name]; c != nil && c.version == d.version {
		return c
	}
	c := &textCache{version: d.version}
	if t := d.share[name]; t != nil {
		n := 0
		for it := t.start; it != nil; it = it.right {
			if cs, ok := liveString(it); ok {
				n += len(cs.s)
			}
		}
		c.units = make([]uint16, 0, n)
		for it := t.start; it != nil; it = it.right {
			if cs, ok := liveString(it); ok {
				c.units = append(c.units, cs.s...)
			}
		}
	}
	if d.texts == nil {
		d.texts = make(map[string]*textCache)
	}
	d.texts[name] = c
	return c
}

func liveString(it *item) (*contentString, bool) {
	if it.deleted || it.kind != kindItem {
		return nil, false
	}
	cs, ok := it.content.(*contentString)
	return cs, ok
}

// SetText makes the Y.Text named name read content, with as few inserts and
// deletes as it can find (common prefix and suffix, then a line diff refined
// to characters), authored by the document's client id. It returns the Yjs
// update that does it, to broadcast and store, or nil if the text already
// reads content. Because only the changed ranges are touched, concurrent
// edits elsewhere in the text survive and nothing is duplicated; this is how a
// change made on disk (git checkout, a formatter) reaches the editors.
//
// Positions count only string content: embeds and other non-text items are
// left in place. Invalid UTF-8 in content becomes U+FFFD.
func (d *Doc) SetText(name, content string) (_ []byte, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer recoverInternal(&err)
	old := d.textUnits(name).units
	t := d.root(name)
	next := utf16FromString(content)
	edits := diffUTF16(old, next)
	if len(edits) == 0 {
		return nil, nil
	}
	if _, ok := addClock(d.getState(d.clientID), uint64(len(next))); !ok {
		return nil, fmt.Errorf("yjs: set text %q: client clock out of range", name)
	}
	if d.pending != nil {
		if _, ok := d.pending.clients[d.clientID]; ok {
			// Someone else's structs with our id are waiting: our clocks
			// would collide with them.
			d.clientID = d.newClientID()
		}
	}
	tx := d.newTransaction(true)
	c := &textCursor{d: d, tx: tx, t: t, right: t.start}
	pos := 0
	for _, ed := range edits {
		c.forward(ed.pos - pos)
		c.delete(ed.del)
		c.insert(next[ed.insStart:ed.insEnd:ed.insEnd])
		pos = ed.pos + ed.del
	}
	d.cleanup(tx)
	// The text is known: cache it, the caller is likely to read it next.
	d.texts[name] = &textCache{version: d.version, units: next, str: content, hasStr: utf8.ValidString(content)}
	return d.encodeTransaction(tx), nil
}

// textCursor walks a text type the way yjs's ItemTextListPosition does.
type textCursor struct {
	d           *Doc
	tx          *transaction
	t           *ytype
	left, right *item
}

func (c *textCursor) step() {
	c.left = c.right
	c.right = c.right.right
}

// forward moves past n units of live text (findNextPosition), splitting the
// item the position falls into.
func (c *textCursor) forward(n int) {
	count := uint64(n)
	for c.right != nil && count > 0 {
		if _, ok := liveString(c.right); ok {
			if count < c.right.length {
				c.d.getItemCleanStart(c.tx, id{c.right.id.client, c.right.id.clock + count})
			}
			count -= c.right.length
		}
		c.step()
	}
}

// delete deletes n units of live text from the cursor on (deleteText).
func (c *textCursor) delete(n int) {
	length := uint64(n)
	for length > 0 && c.right != nil {
		if _, ok := liveString(c.right); ok {
			if length < c.right.length {
				c.d.getItemCleanStart(c.tx, id{c.right.id.client, c.right.id.clock + length})
			}
			length -= c.right.length
			c.d.deleteItem(c.tx, c.right)
		}
		c.step()
	}
}

// insert inserts text at the cursor (insertText): like yjs it first moves past
// deleted items, then creates one item authored by the document's client.
func (c *textCursor) insert(s []uint16) {
	if len(s) == 0 {
		return
	}
	for c.right != nil && c.right.isDeleted() {
		c.step()
	}
	it := &item{
		id:      id{c.d.clientID, c.d.getState(c.d.clientID)},
		length:  uint64(len(s)),
		left:    c.left,
		right:   c.right,
		parent:  c.t,
		content: &contentString{s},
	}
	if c.left != nil {
		it.origin, it.hasOrigin = c.left.lastID(), true
	}
	if c.right != nil {
		it.rightOrigin, it.hasRightOrigin = c.right.id, true
	}
	c.d.integrate(c.tx, it, 0)
	c.left = it
	c.right = it.right
}
