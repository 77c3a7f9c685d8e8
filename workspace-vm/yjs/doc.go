// Package yjs is a Go implementation of the Yjs CRDT, enough for the workspace
// agent to be a full peer of the browser's yjs + y-websocket + y-monaco: it
// applies Yjs v1 updates (in any order), keeps the document compacted
// (EncodeStateAsUpdate, MergeUpdates), reads a Y.Text as a Go string and
// turns a changed file back into a minimal Yjs update (SetText).
//
// The integration algorithm, garbage collection and struct merging are ports
// of yjs 13 (Item.integrate, integrateStructs, readAndApplyDeleteSet,
// cleanupTransactions), verified against the real yjs from npm in the tests:
// for the same updates applied in the same order, EncodeStateAsUpdate is
// byte-identical to Y.encodeStateAsUpdate. Every content type (strings,
// embeds, formats, JSON, any values, binary, nested types, subdocuments,
// deleted content, GC and Skip structs) is decoded and re-encoded losslessly;
// only text gets interpreted.
//
// Lengths and offsets are UTF-16 code units, as in JavaScript; the Go API
// takes and returns UTF-8 strings and converts at the edges.
//
// Not implemented: the v2 update encoding (y-websocket uses v1), undo,
// snapshots, observers, and yjs's clean-up of redundant rich-text formatting
// after remote transactions (the browser clients do that themselves). Like
// yjs, integrating many concurrent inserts at one position is quadratic, so
// the hub should bound the size of what one client may send.
package yjs

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
)

// Doc is one Yjs document. It is safe for concurrent use: every method takes
// the document's lock, so the collaboration hub and the file watcher may call
// it from different goroutines.
type Doc struct {
	mu        sync.Mutex
	clientID  uint64
	clients   map[uint64]*structList
	share     map[string]*ytype
	pending   *pendingStructs
	pendingDS *deleteSet

	// version counts changes that may alter a text (integrations, deletions,
	// splits); texts caches each Y.Text's content at a version, so Text and
	// SetText on a large document do not walk its item list every time.
	version uint64
	texts   map[string]*textCache
}

type textCache struct {
	version uint64
	units   []uint16
	str     string
	hasStr  bool
}

// NewDoc returns an empty document whose own edits (SetText) are authored by
// clientID. Yjs client ids are random 32-bit numbers, and one id must never be
// used by two live documents at once; RandomClientID gives a fresh one. If a
// remote update ever carries structs of this id, the document switches to a
// fresh id (as yjs does) so that its next edits cannot collide.
func NewDoc(clientID uint64) *Doc {
	return &Doc{
		clientID: clientID,
		clients:  make(map[uint64]*structList),
		share:    make(map[string]*ytype),
	}
}

// RandomClientID returns a random 32-bit client id, the range yjs uses, so a
// Doc created with it behaves like a fresh browser client.
func RandomClientID() uint64 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return uint64(binary.LittleEndian.Uint32(b[:]))
}

func (d *Doc) newClientID() uint64 {
	for {
		id := RandomClientID()
		if _, used := d.clients[id]; !used && id != d.clientID {
			return id
		}
	}
}

// ClientID returns the client id the document's own edits use. It differs
// from the one given to NewDoc only after another peer was seen using it.
func (d *Doc) ClientID() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.clientID
}

func (d *Doc) root(name string) *ytype {
	t := d.share[name]
	if t == nil {
		t = &ytype{name: name}
		d.share[name] = t
	}
	return t
}

// recoverInternal turns a panic (a bug, never expected) into an error, so one
// bad document cannot take the whole agent down.
func recoverInternal(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("yjs: internal error: %v", r)
	}
}

// ApplyUpdate applies a Yjs v1 update, as carried by y-websocket's SyncStep2
// and Update messages. Applying an update twice is harmless. Structs whose
// dependencies have not arrived yet (and deletions of content not yet seen)
// are kept pending and applied as soon as the missing updates come, like yjs
// does; they are also part of EncodeStateAsUpdate so nothing is lost. An
// invalid update is rejected with an error wrapping ErrInvalidUpdate and
// leaves the document unchanged.
func (d *Doc) ApplyUpdate(update []byte) (err error) {
	u, err := decodeUpdate(update)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	defer recoverInternal(&err)
	d.apply(u)
	return nil
}

func (d *Doc) apply(u *decodedUpdate) {
	tx := d.newTransaction(false)
	refs, ds := u.refs, u.ds
	for {
		rest := d.integrateStructs(tx, refs)
		retry := false
		if d.pending != nil {
			for client, clock := range d.pending.missing {
				if clock < d.getState(client) {
					retry = true
					break
				}
			}
			if rest != nil {
				for client, clock := range rest.missing {
					if m, ok := d.pending.missing[client]; !ok || m > clock {
						d.pending.missing[client] = clock
					}
				}
				d.pending.add(rest.clients)
			}
		} else {
			d.pending = rest
		}
		dsRest := d.applyDeleteSet(tx, ds)
		if d.pendingDS != nil {
			dsRest2 := d.applyDeleteSet(tx, d.pendingDS)
			d.pendingDS = mergeDeleteSets(dsRest, dsRest2)
		} else {
			d.pendingDS = dsRest
		}
		if !retry {
			break
		}
		refs, ds = d.pending.toRefs(), nil
		d.pending = nil
	}
	d.cleanup(tx)
}

// EncodeStateAsUpdate returns, as one Yjs v1 update, everything a peer with
// the given state vector lacks (Y.encodeStateAsUpdate). With a nil or empty
// state vector it returns the whole document: storing that instead of the
// update log is compaction, since deleted text is reduced to its length.
func (d *Doc) EncodeStateAsUpdate(stateVector []byte) (_ []byte, err error) {
	sv, err := decodeStateVector(stateVector)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	defer recoverInternal(&err)
	return d.encodeStateAsUpdate(sv), nil
}

// EncodeStateVector returns the document's state vector (Y.encodeStateVector),
// the payload of y-websocket's SyncStep1.
func (d *Doc) EncodeStateVector() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return encodeStateVector(d.stateVector())
}

// HasPending reports whether the document holds structs or deletions that
// wait for updates it has not received, which means some peer's edits are not
// visible yet.
func (d *Doc) HasPending() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending != nil || d.pendingDS != nil
}

// MergeUpdates merges Yjs v1 updates into one (like Y.mergeUpdates), so a
// stored update log can be replaced by a single update. It applies them all
// to a scratch document and encodes its state, which also drops deleted
// content; updates with missing dependencies are kept as they are.
func MergeUpdates(updates [][]byte) ([]byte, error) {
	d := NewDoc(0)
	for i, u := range updates {
		if err := d.ApplyUpdate(u); err != nil {
			return nil, fmt.Errorf("%w (update %d of %d)", err, i+1, len(updates))
		}
	}
	return d.EncodeStateAsUpdate(nil)
}
