package collab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// awarenessEntry is one client's record in an awareness update: y-protocols/awareness.js
// encodes varUint(count) then, per client, varUint(clientID), varUint(clock) and
// varString(JSON state), where the JSON text "null" means the client is gone.
type awarenessEntry struct {
	clientID uint64
	clock    uint64
	state    []byte // JSON text as sent; "null" when removed
}

func (e awarenessEntry) removed() bool { return isJSONNull(e.state) }

func isJSONNull(state []byte) bool { return bytes.Equal(bytes.TrimSpace(state), []byte("null")) }

// parseAwarenessUpdate decodes an awareness update strictly. The state must be valid JSON:
// the browser JSON.parses it, and one bad state relayed would break every other client.
func parseAwarenessUpdate(p []byte) ([]awarenessEntry, error) {
	d := decoder{buf: p}
	n, err := d.varUint()
	if err != nil {
		return nil, err
	}
	// Each entry takes at least 3 bytes; refuse counts the payload cannot hold before
	// allocating for them.
	if n > uint64(len(p))/3 {
		return nil, fmt.Errorf("%w: awareness update claims %d clients", errMalformed, n)
	}
	entries := make([]awarenessEntry, 0, n)
	for i := uint64(0); i < n; i++ {
		var e awarenessEntry
		if e.clientID, err = d.varUint(); err != nil {
			return nil, err
		}
		if e.clock, err = d.varUint(); err != nil {
			return nil, err
		}
		if e.state, err = d.varBytes(); err != nil {
			return nil, err
		}
		if !json.Valid(e.state) {
			return nil, fmt.Errorf("%w: awareness state of client %d is not JSON", errMalformed, e.clientID)
		}
		entries = append(entries, e)
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	return entries, nil
}

// encodeAwarenessUpdate is the inverse of parseAwarenessUpdate.
func encodeAwarenessUpdate(entries []awarenessEntry) []byte {
	size := 2
	for _, e := range entries {
		size += len(e.state) + 24
	}
	b := make([]byte, 0, size)
	b = appendVarUint(b, uint64(len(entries)))
	for _, e := range entries {
		b = appendVarUint(b, e.clientID)
		b = appendVarUint(b, e.clock)
		b = appendVarBytes(b, e.state)
	}
	return b
}

// awarenessMeta is what the document remembers about one awareness client id.
type awarenessMeta struct {
	clock   uint64
	state   []byte // nil once removed; the clock is kept so stale updates stay refused
	updated time.Time
	owner   *client // the connection that last announced a non-null state
}

// awarenessSet holds the last awareness state per client id of one document, with the
// acceptance rule of y-protocols' applyAwarenessUpdate: a newer clock wins, and an equal
// clock wins only to remove a present state.
type awarenessSet struct {
	metas map[uint64]*awarenessMeta
}

func newAwarenessSet() *awarenessSet {
	return &awarenessSet{metas: make(map[uint64]*awarenessMeta)}
}

// apply merges an update sent by from and returns the accepted entries, which are what the
// reference server re-broadcasts (to everyone, the sender included), and corrections for the
// sender alone.
//
// A correction answers a state announced with a clock at or below that of its removal: a tab
// that reconnects after its old connection's state was removed (clock+1) announces its
// unchanged state with the old clock, which everyone rejects. Told of the removal, the
// y-protocols client bumps its clock past it and announces itself again ("never let a remote
// client remove this local state"), instead of staying invisible until its renewals catch up.
func (a *awarenessSet) apply(entries []awarenessEntry, from *client, now time.Time) (accepted, corrections []awarenessEntry) {
	for _, e := range entries {
		m := a.metas[e.clientID]
		var curClock uint64
		present := false
		if m != nil {
			curClock = m.clock
			present = m.state != nil
		}
		removal := e.removed()
		if !(curClock < e.clock || (curClock == e.clock && removal && present)) {
			if m != nil && !present && !removal {
				corrections = append(corrections, awarenessEntry{clientID: e.clientID, clock: m.clock, state: []byte("null")})
			}
			continue
		}
		if m == nil {
			m = &awarenessMeta{}
			a.metas[e.clientID] = m
		}
		m.clock, m.updated = e.clock, now
		if removal {
			if m.owner != nil {
				delete(m.owner.awarenessIDs, e.clientID)
			}
			m.state, m.owner = nil, nil
		} else {
			m.state = bytes.Clone(e.state)
			if m.owner != nil && m.owner != from {
				delete(m.owner.awarenessIDs, e.clientID)
			}
			m.owner = from
			if from != nil {
				from.awarenessIDs[e.clientID] = struct{}{}
			}
		}
		accepted = append(accepted, awarenessEntry{clientID: e.clientID, clock: e.clock, state: e.state})
	}
	return accepted, corrections
}

// remove drops the states of ids the way removeAwarenessStates does: clock+1 and a null
// state, returned as entries to broadcast.
func (a *awarenessSet) remove(ids []uint64, now time.Time) []awarenessEntry {
	var removed []awarenessEntry
	for _, id := range ids {
		m := a.metas[id]
		if m == nil || m.state == nil {
			continue
		}
		if m.owner != nil {
			delete(m.owner.awarenessIDs, id)
		}
		m.clock++
		m.state, m.owner, m.updated = nil, nil, now
		removed = append(removed, awarenessEntry{clientID: id, clock: m.clock, state: []byte("null")})
	}
	return removed
}

// outdated returns the ids whose state has not been renewed since before cutoff. Clients renew
// their state every 15 s; the reference server drops states older than 30 s.
func (a *awarenessSet) outdated(cutoff time.Time) []uint64 {
	var ids []uint64
	for id, m := range a.metas {
		if m.state != nil && m.updated.Before(cutoff) {
			ids = append(ids, id)
		}
	}
	return ids
}

// present returns an entry for every client with a state, for a late joiner.
func (a *awarenessSet) present() []awarenessEntry {
	var entries []awarenessEntry
	for id, m := range a.metas {
		if m.state != nil {
			entries = append(entries, awarenessEntry{clientID: id, clock: m.clock, state: m.state})
		}
	}
	return entries
}

// forget drops the metadata of removed clients last heard of before cutoff, so a document
// open for weeks does not accumulate every tab ever opened.
func (a *awarenessSet) forget(cutoff time.Time) {
	for id, m := range a.metas {
		if m.state == nil && m.updated.Before(cutoff) {
			delete(a.metas, id)
		}
	}
}
