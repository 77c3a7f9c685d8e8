package agent

import (
	"sync"
	"time"
)

// ActivityCollab is the kind the collab hub reports for a real edit.
const ActivityCollab = "collab"

// Activity records when real work last happened, per kind, so the lifecycle can stop idle
// VMs: terminal input and output and collaborative edits count; an open but idle tab, its
// pings and awareness updates do not. It is safe for concurrent use.
type Activity struct {
	now  func() time.Time
	mu   sync.Mutex
	last map[string]time.Time
}

// NewActivity returns an empty record.
func NewActivity() *Activity {
	return &Activity{now: time.Now, last: map[string]time.Time{}}
}

// Touch records activity of kind now (terminal.ActivityInput, terminal.ActivityOutput,
// ActivityCollab, …). Callers that can be very frequent should throttle.
func (a *Activity) Touch(kind string) {
	t := a.now()
	a.mu.Lock()
	a.last[kind] = t
	a.mu.Unlock()
}

// Snapshot returns the last time of each kind seen so far.
func (a *Activity) Snapshot() map[string]time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]time.Time, len(a.last))
	for k, v := range a.last {
		out[k] = v
	}
	return out
}

// Last returns the most recent activity of any kind (zero if none).
func (a *Activity) Last() time.Time {
	var last time.Time
	for _, t := range a.Snapshot() {
		if t.After(last) {
			last = t
		}
	}
	return last
}
