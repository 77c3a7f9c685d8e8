package aigateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// Causes of an attempt's cancellation by the gateway itself, told apart from the caller's.
var (
	errFirstTokenTimeout = errors.New("aigateway: no first token in time")
	errStalled           = errors.New("aigateway: stream stalled")
)

// Result is how a request went, known once its stream has ended: the final SSE event and the
// ai_requests row carry it.
type Result struct {
	Provider string       `json:"provider"`
	Model    string       `json:"model"`
	Usage    domain.Usage `json:"usage"`
	// UsageEstimated is set when the provider reported no usage (the stream was cut short) and
	// the tokens were estimated from the text instead.
	UsageEstimated bool    `json:"usage_estimated,omitempty"`
	CostUSD        float64 `json:"cost_usd"`
	Cached         bool    `json:"cached"`
	FinishReason   string  `json:"finish_reason,omitempty"`
	Status         string  `json:"status"`
	LatencyMS      int64   `json:"latency_ms"`
	FirstTokenMS   int64   `json:"first_token_ms"`
	// Fallbacks counts the candidates that failed before this one answered.
	Fallbacks int `json:"fallbacks"`
}

// Stream is one answer being streamed: the events of domain.ChatStream (deltas, then one final
// event with the finish reason and billed usage, then io.EOF), from a provider or the cache.
// Its first event has already arrived when Gateway.Stream returns it, so the provider and
// model it names are the ones answering. The request is recorded in ai_requests exactly once,
// when the stream ends — final event, failure, cancellation or Close, whichever comes first.
//
// Recv is not safe for concurrent use; Close may be called from another goroutine to abort
// and must be called when the caller is done, even after io.EOF.
type Stream struct {
	g      *Gateway
	req    *Request
	parent context.Context // the caller's: its end means the client went away
	actx   context.Context // the attempt's: the caller's plus the gateway's timeouts
	cancel context.CancelCauseFunc
	timer  *time.Timer
	first  atomic.Bool // the first event has arrived: the timer now watches for stalls
	cand   candidate
	up     domain.ChatStream // nil for a cached answer
	cached *cachedAnswer
	key    string

	pending []domain.ChatEvent // events to hand out before reading upstream again
	start   time.Time
	firstAt time.Time
	tried   int

	mu       sync.Mutex // guards what finalize reads, against a Close from another goroutine
	text     strings.Builder
	outBytes int
	usage    *domain.Usage
	finish   string

	err    error // terminal
	once   sync.Once
	result Result
}

// Provider returns the name of the provider answering.
func (s *Stream) Provider() string { return s.cand.provider.Name() }

// Model returns the ID of the model answering.
func (s *Stream) Model() string { return s.cand.model.ID }

// Cached reports whether the answer comes from the cache.
func (s *Stream) Cached() bool { return s.cached != nil }

// Text returns the answer so far (it is bounded by Options.MaxOutputBytes).
func (s *Stream) Text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// Result returns how the request went; it is complete once Recv has returned the final event
// or an error, or Close has returned.
func (s *Stream) Result() Result { return s.result }

// Stream routes req to a model and returns its answer once the first event has arrived.
// Failures before that fall back to the next candidate (see the package doc); the error
// returned when every candidate failed is the last one's, coded for the HTTP layer.
func (g *Gateway) Stream(ctx context.Context, req Request) (*Stream, error) {
	start := g.opts.Now()
	if !g.Configured() {
		return nil, g.errNotConfigured()
	}
	if err := req.validate(g.opts.MaxPromptBytes); err != nil {
		return nil, err
	}
	r := &req
	budget := g.opts.RequestBudgetUSD
	if r.BudgetUSD > 0 {
		budget = min(budget, r.BudgetUSD)
	}
	usersBinds := false
	remaining, hasBudget, err := g.remaining(ctx, r.UserID)
	if err != nil {
		return nil, err
	}
	if hasBudget {
		if remaining <= 0 {
			return nil, g.failed(ctx, r, start, "", "", g.budgetSpent())
		}
		if remaining < budget {
			budget, usersBinds = remaining, true
		}
	}
	cands, err := g.candidates(r, budget, usersBinds)
	if err != nil {
		return nil, g.failed(ctx, r, start, "", r.Model, err)
	}
	key := cacheKey(r, r.tier())
	if !r.NoCache {
		if a, ok := g.lookup(ctx, key); ok {
			return g.cachedStream(ctx, r, start, key, a, cands[0]), nil
		}
	}

	var (
		lastErr  error
		last     candidate
		tried    int
		soonest  time.Time
		skipped  bool
		provider string
	)
	for _, c := range cands {
		provider = c.provider.Name()
		if until, cooling := g.health.until(provider, g.opts.Now()); cooling {
			if !skipped || until.Before(soonest) {
				soonest = until
			}
			skipped = true
			continue
		}
		s, err := g.open(ctx, r, c, start, key)
		if err == nil {
			s.tried = tried
			return s, nil
		}
		tried++
		lastErr, last = err, c
		if ctx.Err() != nil || !fallsBack(err) {
			break
		}
		d := g.health.fail(provider, err, g.opts.Now())
		g.log.WarnContext(ctx, "ai provider failed before the first token; falling back",
			"provider", provider, "model", c.model.ID, "cooldown", d, "err", err)
	}
	if lastErr == nil {
		wait := max(soonest.Sub(g.opts.Now()), time.Second)
		return nil, g.failed(ctx, r, start, "", r.Model, &RetryError{
			Err:        domain.Errorf(domain.EUNAVAILABLE, "every AI provider is cooling down after failures; retry in %d s", int(wait.Round(time.Second)/time.Second)),
			RetryAfter: wait,
		})
	}
	return nil, g.failed(ctx, r, start, last.provider.Name(), last.model.ID, lastErr)
}

// fallsBack reports whether the next candidate should get a request that failed with err:
// the domain's retryable failures, and an authentication failure, which is about this
// provider's key and says nothing about the others.
func fallsBack(err error) bool {
	var pe *domain.ProviderError
	return domain.IsRetryable(err) || errors.As(err, &pe) && pe.Kind == domain.ProviderAuth
}

// open sends the request to one candidate and waits for its first event, bounded by
// FirstTokenTimeout.
func (g *Gateway) open(ctx context.Context, req *Request, c candidate, start time.Time, key string) (*Stream, error) {
	actx, cancel := context.WithCancelCause(ctx)
	s := &Stream{g: g, req: req, parent: ctx, actx: actx, cancel: cancel, cand: c, key: key, start: start}
	s.timer = time.AfterFunc(g.opts.FirstTokenTimeout, s.timedOut)
	var (
		up  domain.ChatStream
		err error
	)
	if c.fim {
		up, err = c.provider.(domain.FIMProvider).Complete(actx, domain.FIMRequest{
			Model: c.model.ID, Prefix: req.FIM.Prefix, Suffix: req.FIM.Suffix, MaxTokens: c.maxTokens, Stop: req.Stop})
	} else {
		up, err = c.provider.ChatStream(actx, domain.ChatRequest{
			Model: c.model.ID, Messages: req.Messages, MaxTokens: c.maxTokens, Temperature: req.Temperature, Stop: req.Stop})
	}
	if err == nil {
		ev, rerr := up.Recv()
		if rerr == nil {
			s.up = up
			s.firstAt = g.opts.Now()
			s.first.Store(true)
			s.timer.Reset(g.opts.IdleTimeout)
			s.pending = append(s.pending[:0], ev)
			return s, nil
		}
		_ = up.Close()
		err = rerr
	}
	s.timer.Stop()
	err = s.attemptError(err)
	cancel(nil)
	return nil, err
}

// timedOut ends the attempt when the provider is silent for too long: before its first event
// (the gateway then falls back) or between two events (the stream ends with an error).
func (s *Stream) timedOut() {
	if s.first.Load() {
		s.cancel(errStalled)
	} else {
		s.cancel(errFirstTokenTimeout)
	}
}

// attemptError explains why the attempt ended: the caller's cancellation as such, the
// gateway's own timeouts as provider failures (so they fall back), everything else as is.
func (s *Stream) attemptError(err error) error {
	if cerr := s.parent.Err(); cerr != nil {
		return wrap(cerr)
	}
	name := s.cand.provider.Name()
	switch context.Cause(s.actx) {
	case errFirstTokenTimeout:
		return &domain.ProviderError{Provider: name, Kind: domain.ProviderUnavailable,
			Message: fmt.Sprintf("no answer within %s", s.g.opts.FirstTokenTimeout), Err: err}
	case errStalled:
		return &domain.ProviderError{Provider: name, Kind: domain.ProviderUnavailable,
			Message: fmt.Sprintf("the stream stalled: nothing for %s", s.g.opts.IdleTimeout), Err: err}
	}
	if errors.Is(err, io.EOF) {
		return &domain.ProviderError{Provider: name, Kind: domain.ProviderUnavailable, Message: "the stream ended without an answer", Err: io.ErrUnexpectedEOF}
	}
	return err
}

// Recv returns the next event. After the first token a provider failure is returned as an
// error (no fallback: the caller has shown the tokens); the final event carries the billed
// usage, estimated when the provider reported none.
func (s *Stream) Recv() (domain.ChatEvent, error) {
	if s.err != nil {
		return domain.ChatEvent{}, s.err
	}
	var (
		ev  domain.ChatEvent
		err error
	)
	switch {
	case len(s.pending) > 0:
		ev = s.pending[0]
		s.pending = s.pending[1:]
	case s.up == nil:
		err = io.EOF
	default:
		ev, err = s.up.Recv()
		if err == nil {
			s.timer.Reset(s.g.opts.IdleTimeout)
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) && s.finish != "" {
			s.err = io.EOF
			return domain.ChatEvent{}, io.EOF
		}
		return domain.ChatEvent{}, s.fail(s.attemptError(err))
	}

	s.mu.Lock()
	if ev.Delta != "" {
		s.outBytes += len(ev.Delta)
		var over error
		switch {
		case s.outBytes > s.g.opts.MaxOutputBytes:
			over = &domain.ProviderError{Provider: s.Provider(), Kind: domain.ProviderUnavailable,
				Message: fmt.Sprintf("the answer exceeded %d bytes and was cut off", s.g.opts.MaxOutputBytes)}
		case s.g.opts.Now().Sub(s.start) > s.g.opts.MaxStreamDuration:
			over = &domain.ProviderError{Provider: s.Provider(), Kind: domain.ProviderUnavailable,
				Message: fmt.Sprintf("the answer took longer than %s and was cut off", s.g.opts.MaxStreamDuration)}
		}
		if over != nil {
			s.mu.Unlock()
			if s.up != nil {
				_ = s.up.Close()
			}
			return domain.ChatEvent{}, s.fail(over)
		}
		s.text.WriteString(ev.Delta)
	}
	if ev.FinishReason != "" {
		s.finish = ev.FinishReason
		if ev.Usage != nil {
			u := *ev.Usage
			s.usage = &u
		}
	}
	s.mu.Unlock()
	if ev.FinishReason != "" {
		status := StatusOK
		if s.cached != nil {
			status = StatusCached
		}
		s.finalize(status, nil)
		u := s.result.Usage
		ev.Usage = &u
	}
	return ev, nil
}

// fail ends the stream with err, holding a provider fault against the provider.
func (s *Stream) fail(err error) error {
	status := StatusError
	if s.parent.Err() != nil {
		status = StatusCancelled
	} else if fallsBack(err) {
		d := s.g.health.fail(s.Provider(), err, s.g.opts.Now())
		s.g.log.WarnContext(s.parent, "ai stream failed after the first token", "provider", s.Provider(),
			"model", s.Model(), "cooldown", d, "err", err)
	}
	s.finalize(status, err)
	s.err = err
	return err
}

// Close aborts the stream if it is still running and records it (as cancelled) if it was
// not recorded yet. It is idempotent.
func (s *Stream) Close() error {
	if s.up != nil {
		_ = s.up.Close()
	}
	s.finalize(StatusCancelled, nil)
	return nil
}

// finalize settles the request once: usage and cost, the user's spend, the ai_requests row,
// the cache entry for a complete answer, and the provider's health.
func (s *Stream) finalize(status string, err error) {
	s.once.Do(func() {
		if s.timer != nil {
			s.timer.Stop()
		}
		if s.cancel != nil {
			s.cancel(nil)
		}
		g := s.g
		now := g.opts.Now()
		s.mu.Lock()
		defer s.mu.Unlock()
		usage, estimated := domain.Usage{}, false
		switch {
		case status == StatusCached:
		case s.usage != nil:
			usage = *s.usage
		default:
			usage, estimated = domain.Usage{InputTokens: s.cand.inTokens, OutputTokens: (s.outBytes + 3) / 4}, true
		}
		cost := 0.0
		if status != StatusCached {
			cost = s.cand.model.Cost(usage)
		}
		s.result = Result{
			Provider: s.Provider(), Model: s.Model(), Usage: usage, UsageEstimated: estimated, CostUSD: cost,
			Cached: s.cached != nil, FinishReason: s.finish, Status: status,
			LatencyMS: now.Sub(s.start).Milliseconds(), Fallbacks: s.tried,
		}
		if !s.firstAt.IsZero() {
			s.result.FirstTokenMS = s.firstAt.Sub(s.start).Milliseconds()
		}
		g.charge(s.req.UserID, cost, s.start)
		g.record(s.parent, &domain.AIRequest{
			ID: domain.NewID(), UserID: s.req.UserID, Provider: s.Provider(), Model: s.Model(), Kind: s.req.Kind,
			TokensIn: usage.InputTokens, TokensOut: usage.OutputTokens, CostUSD: cost,
			LatencyMS: s.result.LatencyMS, Status: status, CreatedAt: s.start.UTC(),
		})
		if status == StatusOK {
			g.health.ok(s.Provider())
			if !s.req.NoStore && (s.finish == domain.FinishStop || s.finish == domain.FinishLength) {
				g.saveAnswer(s.parent, s.key, &cachedAnswer{Text: s.text.String(), FinishReason: s.finish,
					Provider: s.Provider(), Model: s.Model(), Usage: usage})
			}
		}
		if err != nil && status == StatusError {
			g.log.InfoContext(s.parent, "ai stream ended with an error", "provider", s.Provider(), "model", s.Model(), "err", err)
		}
	})
}

// cachedStream replays a cached answer: its text as one delta, then the final event. Nothing
// is billed; the row in ai_requests says "cached".
func (g *Gateway) cachedStream(ctx context.Context, req *Request, start time.Time, key string, a *cachedAnswer, fallback candidate) *Stream {
	c := fallback
	for _, p := range g.providers {
		if p.Name() != a.Provider {
			continue
		}
		if m, ok := domain.FindModel(p.Models(), a.Model); ok {
			c = candidate{provider: p, model: m}
		}
	}
	if c.provider.Name() != a.Provider || c.model.ID != a.Model {
		// The answering provider is no longer configured; name it anyway, at no price.
		c = candidate{provider: namedProvider{fallback.provider, a.Provider}, model: domain.ModelInfo{ID: a.Model, Provider: a.Provider}}
	}
	s := &Stream{g: g, req: req, parent: ctx, cand: c, cached: a, key: key, start: start, firstAt: g.opts.Now()}
	if a.Text != "" {
		s.pending = append(s.pending, domain.ChatEvent{Delta: a.Text})
	}
	s.pending = append(s.pending, domain.ChatEvent{FinishReason: a.FinishReason})
	return s
}

// namedProvider reports another name for a provider, for cached answers of providers that
// have since been removed from the configuration.
type namedProvider struct {
	domain.ChatProvider
	name string
}

// Name returns the name the cached answer was recorded under.
func (p namedProvider) Name() string { return p.name }
