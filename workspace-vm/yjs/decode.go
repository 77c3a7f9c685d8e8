package yjs

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrInvalidUpdate is returned (wrapped) for any update or state vector that
// is not valid Yjs v1 encoding, so callers such as the collaboration hub can
// tell a misbehaving client from an internal failure with errors.Is.
var ErrInvalidUpdate = errors.New("yjs: invalid update")

// decodedUpdate is an update read into structs, not yet integrated.
type decodedUpdate struct {
	// refs holds each client's structs in clock order (yjs's clientsStructRefs).
	refs map[uint64]*clientRefs
	ds   *deleteSet
}

type clientRefs struct {
	i    int
	refs []*item
}

func invalid(err error) error {
	return fmt.Errorf("%w: %w", ErrInvalidUpdate, err)
}

// decodeUpdate reads a whole v1 update. It validates everything it can before
// anything is integrated, so a rejected update leaves the document untouched:
// lengths fit the input, clocks stay below 2^53, strings are UTF-8, JSON is
// valid, and references to the item's own client point to earlier clocks
// (so integration can always find them).
func decodeUpdate(update []byte) (*decodedUpdate, error) {
	d := &decoder{buf: update}
	u := &decodedUpdate{refs: make(map[uint64]*clientRefs)}
	numClients, err := d.readVarUint()
	if err != nil {
		return nil, invalid(err)
	}
	if numClients > uint64(d.remaining()) {
		return nil, invalid(errUnexpectedEnd)
	}
	for i := uint64(0); i < numClients; i++ {
		if err := decodeClientStructs(d, u); err != nil {
			return nil, invalid(err)
		}
	}
	ds, err := decodeDeleteSet(d)
	if err != nil {
		return nil, invalid(err)
	}
	u.ds = ds
	return u, nil
}

func decodeClientStructs(d *decoder, u *decodedUpdate) error {
	numStructs, err := d.readVarUint()
	if err != nil {
		return err
	}
	client, err := d.readVarUint()
	if err != nil {
		return err
	}
	clock, err := d.readVarUint()
	if err != nil {
		return err
	}
	// Every struct takes at least one byte.
	if numStructs > uint64(d.remaining()) {
		return errUnexpectedEnd
	}
	refs := make([]*item, 0, numStructs)
	for j := uint64(0); j < numStructs; j++ {
		it, err := decodeStruct(d, id{client, clock})
		if err != nil {
			return err
		}
		end, ok := addClock(clock, it.length)
		if !ok {
			return d.errorf("clock out of range")
		}
		clock = end
		refs = append(refs, it)
	}
	// yjs keeps the last list when an update names a client twice.
	u.refs[client] = &clientRefs{refs: refs}
	return nil
}

func decodeStruct(d *decoder, at id) (*item, error) {
	info, err := d.readUint8()
	if err != nil {
		return nil, err
	}
	switch info & 0x1f {
	case refGC, refSkip:
		n, err := d.readVarUint()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, d.errorf("empty struct")
		}
		kind := kindGC
		if info&0x1f == refSkip {
			kind = kindSkip
		}
		return &item{id: at, length: n, kind: kind, deleted: true}, nil
	}
	it := &item{id: at}
	if info&flagOrigin != 0 {
		if it.origin, err = readID(d); err != nil {
			return nil, err
		}
		it.hasOrigin = true
		if it.origin.client == at.client && it.origin.clock >= at.clock {
			return nil, d.errorf("origin %d:%d is not before %d:%d", it.origin.client, it.origin.clock, at.client, at.clock)
		}
	}
	if info&flagRightOrigin != 0 {
		if it.rightOrigin, err = readID(d); err != nil {
			return nil, err
		}
		it.hasRightOrigin = true
		if it.rightOrigin.client == at.client && it.rightOrigin.clock >= at.clock {
			return nil, d.errorf("right origin %d:%d is not before %d:%d", it.rightOrigin.client, it.rightOrigin.clock, at.client, at.clock)
		}
	}
	if info&(flagOrigin|flagRightOrigin) == 0 {
		isKey, err := d.readVarUint()
		if err != nil {
			return nil, err
		}
		if isKey == 1 {
			name, err := d.readVarString()
			if err != nil {
				return nil, err
			}
			it.parentKind = parentRoot
			it.parentName = string(name)
		} else {
			if it.parentID, err = readID(d); err != nil {
				return nil, err
			}
			it.parentKind = parentItem
			if it.parentID.client == at.client && it.parentID.clock >= at.clock {
				return nil, d.errorf("parent %d:%d is not before %d:%d", it.parentID.client, it.parentID.clock, at.client, at.clock)
			}
		}
		if info&flagParentSub != 0 {
			sub, err := d.readVarString()
			if err != nil {
				return nil, err
			}
			it.parentSub = string(sub)
			it.hasParentSub = true
		}
	}
	if it.content, err = decodeContent(d, info&0x1f); err != nil {
		return nil, err
	}
	it.length = it.content.len()
	if it.length == 0 {
		return nil, d.errorf("empty item")
	}
	return it, nil
}

func readID(d *decoder) (id, error) {
	client, err := d.readVarUint()
	if err != nil {
		return id{}, err
	}
	clock, err := d.readVarUint()
	if err != nil {
		return id{}, err
	}
	return id{client, clock}, nil
}

// readJSON reads a varString that must hold JSON (yjs parses it with
// JSON.parse, which throws on anything else).
func readJSON(d *decoder, allowUndefined bool) ([]byte, error) {
	b, err := d.readVarString()
	if err != nil {
		return nil, err
	}
	if allowUndefined && string(b) == "undefined" {
		return clone(b), nil
	}
	if !json.Valid(b) {
		return nil, d.errorf("invalid JSON")
	}
	return clone(b), nil
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func decodeContent(d *decoder, ref byte) (content, error) {
	switch ref {
	case refDeleted:
		n, err := d.readVarUint()
		if err != nil {
			return nil, err
		}
		return &contentDeleted{n}, nil
	case refJSON:
		n, err := d.readVarUint()
		if err != nil {
			return nil, err
		}
		if n > uint64(d.remaining()) {
			return nil, errUnexpectedEnd
		}
		elems := make([][]byte, 0, n)
		for i := uint64(0); i < n; i++ {
			el, err := readJSON(d, true)
			if err != nil {
				return nil, err
			}
			elems = append(elems, el)
		}
		return &contentJSON{elems}, nil
	case refBinary:
		b, err := d.readVarBytes()
		if err != nil {
			return nil, err
		}
		return &contentBinary{clone(b)}, nil
	case refString:
		b, err := d.readVarString()
		if err != nil {
			return nil, err
		}
		return &contentString{utf16FromValidUTF8(b)}, nil
	case refEmbed:
		b, err := readJSON(d, false)
		if err != nil {
			return nil, err
		}
		return &contentEmbed{b}, nil
	case refFormat:
		key, err := d.readVarString()
		if err != nil {
			return nil, err
		}
		val, err := readJSON(d, false)
		if err != nil {
			return nil, err
		}
		return &contentFormat{clone(key), val}, nil
	case refType:
		ref, err := d.readVarUint()
		if err != nil {
			return nil, err
		}
		t := &ytype{typeRef: ref}
		switch ref {
		case typeArray, typeMap, typeText, typeXMLFragment, typeXMLText:
		case typeXMLElement, typeXMLHook:
			name, err := d.readVarString()
			if err != nil {
				return nil, err
			}
			t.nodeName = clone(name)
		default:
			return nil, d.errorf("unknown type ref %d", ref)
		}
		return &contentType{t}, nil
	case refAny:
		n, err := d.readVarUint()
		if err != nil {
			return nil, err
		}
		if n > uint64(d.remaining()) {
			return nil, errUnexpectedEnd
		}
		elems := make([][]byte, 0, n)
		for i := uint64(0); i < n; i++ {
			el, err := d.readAny()
			if err != nil {
				return nil, err
			}
			elems = append(elems, clone(el))
		}
		return &contentAny{elems}, nil
	case refDoc:
		guid, err := d.readVarString()
		if err != nil {
			return nil, err
		}
		opts, err := d.readAny()
		if err != nil {
			return nil, err
		}
		return &contentDoc{clone(guid), clone(opts)}, nil
	default:
		return nil, d.errorf("unknown content ref %d", ref)
	}
}

// decodeDeleteSet reads the delete set that ends every update.
func decodeDeleteSet(d *decoder) (*deleteSet, error) {
	ds := newDeleteSet()
	numClients, err := d.readVarUint()
	if err != nil {
		return nil, err
	}
	if numClients > uint64(d.remaining()) {
		return nil, errUnexpectedEnd
	}
	for i := uint64(0); i < numClients; i++ {
		client, err := d.readVarUint()
		if err != nil {
			return nil, err
		}
		n, err := d.readVarUint()
		if err != nil {
			return nil, err
		}
		if n > uint64(d.remaining())/2 {
			return nil, errUnexpectedEnd
		}
		for j := uint64(0); j < n; j++ {
			clock, err := d.readVarUint()
			if err != nil {
				return nil, err
			}
			length, err := d.readVarUint()
			if err != nil {
				return nil, err
			}
			if _, ok := addClock(clock, length); !ok {
				return nil, d.errorf("delete range out of range")
			}
			if length > 0 {
				ds.add(client, clock, length)
			}
		}
	}
	return ds, nil
}

// decodeStateVector reads an encoded state vector (client → next clock).
func decodeStateVector(sv []byte) (map[uint64]uint64, error) {
	m := make(map[uint64]uint64)
	if len(sv) == 0 {
		return m, nil
	}
	d := &decoder{buf: sv}
	n, err := d.readVarUint()
	if err != nil {
		return nil, fmt.Errorf("%w: state vector: %w", ErrInvalidUpdate, err)
	}
	if n > uint64(d.remaining())/2 {
		return nil, fmt.Errorf("%w: state vector: %w", ErrInvalidUpdate, errUnexpectedEnd)
	}
	for i := uint64(0); i < n; i++ {
		client, err := d.readVarUint()
		if err != nil {
			return nil, fmt.Errorf("%w: state vector: %w", ErrInvalidUpdate, err)
		}
		clock, err := d.readVarUint()
		if err != nil {
			return nil, fmt.Errorf("%w: state vector: %w", ErrInvalidUpdate, err)
		}
		m[client] = clock
	}
	return m, nil
}
