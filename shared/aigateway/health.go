package aigateway

import (
	"errors"
	"sync"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// health tracks which providers are cooling down after failures. A provider that fails is
// skipped for CooldownBase, doubled with every further failure up to CooldownMax, or for as
// long as the provider's own Retry-After asks if that is longer. Failures reported while it
// already cools (requests that were in flight when it broke) do not lengthen the cooldown, so
// one outage under load does not jump straight to the maximum. The first request after the
// cooldown is the probe: success clears the record, failure cools it down again, longer.
type health struct {
	base, max time.Duration
	mu        sync.Mutex
	state     map[string]*providerHealth
}

type providerHealth struct {
	failures int
	until    time.Time
}

func newHealth(base, max time.Duration) *health {
	return &health{base: base, max: max, state: map[string]*providerHealth{}}
}

// until reports whether the provider is cooling down at now, and until when.
func (h *health) until(name string, now time.Time) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.state[name]; s != nil && now.Before(s.until) {
		return s.until, true
	}
	return time.Time{}, false
}

// fail records a failure of the provider. A context-window error is the prompt's fault, not
// the provider's, and is not held against it.
func (h *health) fail(name string, err error, now time.Time) time.Duration {
	var pe *domain.ProviderError
	if errors.As(err, &pe) && pe.Kind == domain.ProviderContextWindow {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state[name]
	if s == nil {
		s = &providerHealth{}
		h.state[name] = s
	}
	if now.Before(s.until) {
		return s.until.Sub(now)
	}
	s.failures++
	d := h.base << min(s.failures-1, 20)
	if pe != nil && pe.RetryAfter > d {
		d = pe.RetryAfter
	}
	d = min(d, h.max)
	s.until = now.Add(d)
	return d
}

// ok records a success, which ends the provider's cooldown history.
func (h *health) ok(name string) {
	h.mu.Lock()
	delete(h.state, name)
	h.mu.Unlock()
}
