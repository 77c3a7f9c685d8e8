package yjs

// id identifies one unit of content: the client that created it and that
// client's logical clock (each inserted UTF-16 code unit or array element
// takes one clock).
type id struct {
	client uint64
	clock  uint64
}

type structKind uint8

const (
	kindItem structKind = iota
	kindGC              // deleted content whose parent was collected: only a length
	kindSkip            // a gap in an update (never integrated)
)

// Content refs: the low five bits of an item's info byte.
const (
	refGC      = 0
	refDeleted = 1
	refJSON    = 2
	refBinary  = 3
	refString  = 4
	refEmbed   = 5
	refFormat  = 6
	refType    = 7
	refAny     = 8
	refDoc     = 9
	refSkip    = 10
)

// Info byte flags.
const (
	flagOrigin      = 0x80
	flagRightOrigin = 0x40
	flagParentSub   = 0x20
)

// How an item that is not integrated yet names its parent.
const (
	parentNone = iota // derived from origin/rightOrigin on integration
	parentRoot        // a root type, by name (doc.get(name) in yjs)
	parentItem        // the item holding a nested type, by id
)

// item is a yjs struct: an Item, a GC or a Skip. One Go type for all three
// keeps the per-client struct arrays homogeneous, as in yjs's StructStore.
type item struct {
	id     id
	length uint64
	kind   structKind

	deleted bool

	origin         id
	rightOrigin    id
	hasOrigin      bool
	hasRightOrigin bool

	left, right *item

	// parent is the type this item lives in once integrated (nil for a GC).
	parent *ytype
	// The parent as read from an update, before integration.
	parentKind uint8
	parentName string
	parentID   id

	parentSub    string
	hasParentSub bool

	content content
}

func (it *item) isDeleted() bool { return it.kind != kindItem || it.deleted }

func (it *item) countable() bool { return it.kind == kindItem && it.content.countable() }

func (it *item) lastID() id { return id{it.id.client, it.id.clock + it.length - 1} }

func (it *item) end() uint64 { return it.id.clock + it.length }

// content is the payload of an Item, one implementation per yjs content type.
// Everything is kept in encoded form unless the document needs to interpret
// it (strings, types), so that re-encoding is lossless.
type content interface {
	ref() byte
	len() uint64
	countable() bool
	// splice keeps [0,off) in the receiver and returns [off,len).
	splice(off uint64) content
	// slice returns [off,len) without modifying the receiver.
	slice(off uint64) content
	mergeWith(right content) bool
	write(e *encoder, off uint64)
}

// contentDeleted is the content of a deleted item after garbage collection.
type contentDeleted struct{ n uint64 }

func (c *contentDeleted) ref() byte       { return refDeleted }
func (c *contentDeleted) len() uint64     { return c.n }
func (c *contentDeleted) countable() bool { return false }
func (c *contentDeleted) splice(off uint64) content {
	r := &contentDeleted{c.n - off}
	c.n = off
	return r
}
func (c *contentDeleted) slice(off uint64) content { return &contentDeleted{c.n - off} }
func (c *contentDeleted) mergeWith(r content) bool {
	c.n += r.(*contentDeleted).n
	return true
}
func (c *contentDeleted) write(e *encoder, off uint64) { e.writeVarUint(c.n - off) }

// contentJSON is legacy array content: one JSON text per element ("undefined"
// for undefined), kept verbatim.
type contentJSON struct{ elems [][]byte }

func (c *contentJSON) ref() byte       { return refJSON }
func (c *contentJSON) len() uint64     { return uint64(len(c.elems)) }
func (c *contentJSON) countable() bool { return true }
func (c *contentJSON) splice(off uint64) content {
	r := &contentJSON{c.elems[off:]}
	c.elems = c.elems[:off:off]
	return r
}
func (c *contentJSON) slice(off uint64) content {
	return &contentJSON{c.elems[off:len(c.elems):len(c.elems)]}
}
func (c *contentJSON) mergeWith(r content) bool {
	c.elems = append(c.elems, r.(*contentJSON).elems...)
	return true
}
func (c *contentJSON) write(e *encoder, off uint64) {
	e.writeVarUint(uint64(len(c.elems)) - off)
	for _, el := range c.elems[off:] {
		e.writeVarBytes(el)
	}
}

// contentAny is array or map content: one lib0-encoded value per element,
// kept as raw bytes.
type contentAny struct{ elems [][]byte }

func (c *contentAny) ref() byte       { return refAny }
func (c *contentAny) len() uint64     { return uint64(len(c.elems)) }
func (c *contentAny) countable() bool { return true }
func (c *contentAny) splice(off uint64) content {
	r := &contentAny{c.elems[off:]}
	c.elems = c.elems[:off:off]
	return r
}
func (c *contentAny) slice(off uint64) content {
	return &contentAny{c.elems[off:len(c.elems):len(c.elems)]}
}
func (c *contentAny) mergeWith(r content) bool {
	c.elems = append(c.elems, r.(*contentAny).elems...)
	return true
}
func (c *contentAny) write(e *encoder, off uint64) {
	e.writeVarUint(uint64(len(c.elems)) - off)
	for _, el := range c.elems[off:] {
		e.writeRaw(el)
	}
}

// contentBinary is a Uint8Array value.
type contentBinary struct{ buf []byte }

func (c *contentBinary) ref() byte                  { return refBinary }
func (c *contentBinary) len() uint64                { return 1 }
func (c *contentBinary) countable() bool            { return true }
func (c *contentBinary) splice(uint64) content      { return c }
func (c *contentBinary) slice(uint64) content       { return c }
func (c *contentBinary) mergeWith(content) bool     { return false }
func (c *contentBinary) write(e *encoder, _ uint64) { e.writeVarBytes(c.buf) }

// contentString is text, as UTF-16 code units.
type contentString struct{ s []uint16 }

func (c *contentString) ref() byte       { return refString }
func (c *contentString) len() uint64     { return uint64(len(c.s)) }
func (c *contentString) countable() bool { return true }

// splice splits the text; like yjs it replaces both halves of a surrogate pair
// that the split cuts in two with U+FFFD, so no replica ever holds half a pair.
func (c *contentString) splice(off uint64) content {
	r := &contentString{c.s[off:]}
	c.s = c.s[:off:off]
	if off > 0 && isHighSurrogate(c.s[off-1]) {
		l := make([]uint16, off)
		copy(l, c.s)
		l[off-1] = 0xfffd
		c.s = l
		rs := make([]uint16, len(r.s))
		copy(rs, r.s)
		rs[0] = 0xfffd
		r.s = rs
	}
	return r
}

func (c *contentString) slice(off uint64) content {
	r := &contentString{c.s[off:len(c.s):len(c.s)]}
	if off > 0 && isHighSurrogate(c.s[off-1]) {
		rs := make([]uint16, len(r.s))
		copy(rs, r.s)
		rs[0] = 0xfffd
		r.s = rs
	}
	return r
}

func (c *contentString) mergeWith(r content) bool {
	c.s = append(c.s, r.(*contentString).s...)
	return true
}
func (c *contentString) write(e *encoder, off uint64) { e.writeVarUTF16(c.s[off:]) }

// contentEmbed is a rich-text embed: one JSON text.
type contentEmbed struct{ json []byte }

func (c *contentEmbed) ref() byte                  { return refEmbed }
func (c *contentEmbed) len() uint64                { return 1 }
func (c *contentEmbed) countable() bool            { return true }
func (c *contentEmbed) splice(uint64) content      { return c }
func (c *contentEmbed) slice(uint64) content       { return c }
func (c *contentEmbed) mergeWith(content) bool     { return false }
func (c *contentEmbed) write(e *encoder, _ uint64) { e.writeVarBytes(c.json) }

// contentFormat is a rich-text formatting marker: a key and a JSON value.
type contentFormat struct{ key, value []byte }

func (c *contentFormat) ref() byte              { return refFormat }
func (c *contentFormat) len() uint64            { return 1 }
func (c *contentFormat) countable() bool        { return false }
func (c *contentFormat) splice(uint64) content  { return c }
func (c *contentFormat) slice(uint64) content   { return c }
func (c *contentFormat) mergeWith(content) bool { return false }
func (c *contentFormat) write(e *encoder, _ uint64) {
	e.writeVarBytes(c.key)
	e.writeVarBytes(c.value)
}

// contentDoc is a subdocument: its guid and its options (a lib0 any value).
type contentDoc struct{ guid, opts []byte }

func (c *contentDoc) ref() byte              { return refDoc }
func (c *contentDoc) len() uint64            { return 1 }
func (c *contentDoc) countable() bool        { return true }
func (c *contentDoc) splice(uint64) content  { return c }
func (c *contentDoc) slice(uint64) content   { return c }
func (c *contentDoc) mergeWith(content) bool { return false }
func (c *contentDoc) write(e *encoder, _ uint64) {
	e.writeVarBytes(c.guid)
	e.writeRaw(c.opts)
}

// Type refs of nested shared types.
const (
	typeArray       = 0
	typeMap         = 1
	typeText        = 2
	typeXMLElement  = 3
	typeXMLFragment = 4
	typeXMLHook     = 5
	typeXMLText     = 6
)

// contentType is a nested shared type (Y.Map in a Y.Array, Y.XmlElement, ...).
type contentType struct{ t *ytype }

func (c *contentType) ref() byte              { return refType }
func (c *contentType) len() uint64            { return 1 }
func (c *contentType) countable() bool        { return true }
func (c *contentType) splice(uint64) content  { return c }
func (c *contentType) slice(uint64) content   { return c }
func (c *contentType) mergeWith(content) bool { return false }
func (c *contentType) write(e *encoder, _ uint64) {
	e.writeVarUint(c.t.typeRef)
	if c.t.typeRef == typeXMLElement || c.t.typeRef == typeXMLHook {
		e.writeVarBytes(c.t.nodeName)
	}
}

// ytype is a shared type: a root type (named) or a nested one (owned by an
// item). Whatever the yjs class, it is a list (start) plus a map (m); that is
// all the CRDT needs.
type ytype struct {
	item   *item // nil for a root type
	name   string
	start  *item
	m      map[string]*item
	keys   []string // keys of m in insertion order, like a JS Map
	length uint64

	typeRef  uint64
	nodeName []byte
}

func (t *ytype) setMap(key string, it *item) {
	if t.m == nil {
		t.m = make(map[string]*item)
	}
	if _, ok := t.m[key]; !ok {
		t.keys = append(t.keys, key)
	}
	t.m[key] = it
}
