// Package memqueue is the in-process domain.Queue of the local stack, where running SQS or
// Pub/Sub would be one more thing to install.
//
// It keeps the delivery contract of the cloud queues so that the consumer behaves the same
// everywhere: delivery is at least once, the handler sees attempt numbers counted from 1, a
// failed (or panicking) delivery is retried after a backoff, and after MaxAttempts the job is
// dead-lettered through Options.OnDeadLetter. Jobs are JSON-encoded on Enqueue and decoded per
// delivery, as on the wire, so a job that wouldn't survive a real queue doesn't survive this
// one either.
//
// The queue is unbounded and lives in memory: Enqueue never blocks, and whatever is queued when
// the process exits is lost. That is fine for one developer's stack, where a restart reindexes
// on the next write; it is not a production queue.
package memqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.Queue = (*Queue)(nil)

// ErrClosed is returned by Enqueue after Close, so that a caller racing shutdown learns the
// jobs were not accepted instead of losing them silently.
var ErrClosed = errors.New("memqueue: queue closed")

// Defaults used for zero Options fields; they match what the cloud queues are configured with.
const (
	DefaultWorkers     = 2
	DefaultMaxAttempts = 5
)

// Options tunes a Queue. The zero value is usable: every zero field takes its default.
type Options struct {
	// Workers is how many deliveries run at once (default DefaultWorkers).
	Workers int
	// MaxAttempts is how many deliveries a job gets before it is dead-lettered
	// (default DefaultMaxAttempts).
	MaxAttempts int
	// Backoff says how long to wait before redelivering a job whose delivery number attempt
	// failed (default DefaultBackoff).
	Backoff func(attempt int) time.Duration
	// OnDeadLetter is called once for a job that failed MaxAttempts times, with the number of
	// attempts and the last error, so that the caller can record the failure (the cloud queues
	// move such a job to a dead-letter queue instead). It runs on a worker; a nil func only logs.
	OnDeadLetter func(job domain.IndexJob, attempts int, err error)
	// Logger receives failures and dead letters (default slog.Default()).
	Logger *slog.Logger
}

// DefaultBackoff waits 100ms·2^(attempt-1), capped at 30s, with "equal jitter" (a random
// duration between half and all of that) so that jobs which failed together don't all come
// back at the same instant.
func DefaultBackoff(attempt int) time.Duration {
	const base, limit = 100 * time.Millisecond, 30 * time.Second
	d := limit
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 20 { // 100ms·2^19 is already far past the cap
		d = min(base<<(attempt-1), limit)
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// Queue is an in-process, unbounded, at-least-once job queue with a fixed pool of workers.
// It is safe for concurrent use. Create it with New and stop it with Close.
type Queue struct {
	handler domain.JobHandler
	opts    Options
	log     *slog.Logger

	// ctx is passed to the handler; cancel aborts running handlers when Close gives up.
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	cond     *sync.Cond // signalled when ready grows or stopping is set; uses mu
	ready    []delivery // FIFO of deliveries waiting for a worker
	timers   map[*time.Timer]struct{}
	running  int
	closed   bool          // Enqueue refuses new jobs
	stopping bool          // workers exit; nothing more is delivered
	changed  chan struct{} // closed and replaced whenever the idle state may have changed

	workers sync.WaitGroup
}

// delivery is one pending delivery of a job: its JSON body and the attempt it will be.
type delivery struct {
	body    []byte
	attempt int
}

// New starts a queue whose workers deliver jobs to handler.
func New(handler domain.JobHandler, opts Options) *Queue {
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{
		handler: handler,
		opts:    opts,
		log:     log.With("component", "memqueue"),
		ctx:     ctx,
		cancel:  cancel,
		timers:  make(map[*time.Timer]struct{}),
		changed: make(chan struct{}),
	}
	q.cond = sync.NewCond(&q.mu)
	q.workers.Add(opts.Workers)
	for range opts.Workers {
		go q.work()
	}
	return q
}

// Enqueue accepts the jobs for delivery and returns at once. It fails only if the queue is
// closed, ctx is already done, or a job cannot be JSON-encoded; then none of the jobs were
// accepted.
func (q *Queue) Enqueue(ctx context.Context, jobs ...domain.IndexJob) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memqueue: enqueue: %w", err)
	}
	ds := make([]delivery, len(jobs))
	for i, job := range jobs {
		body, err := json.Marshal(job)
		if err != nil {
			return fmt.Errorf("memqueue: encode job for %q: %w", job.Path, err)
		}
		ds[i] = delivery{body: body, attempt: 1}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	if len(ds) == 0 {
		return nil
	}
	q.ready = append(q.ready, ds...)
	q.notifyLocked()
	for range ds {
		q.cond.Signal()
	}
	return nil
}

// Idle blocks until nothing is queued, waiting to be retried or running, or ctx is done. Tests
// use it to wait for the effects of Enqueue; it includes retries, so it can take as long as
// the backoffs add up to.
func (q *Queue) Idle(ctx context.Context) error {
	for {
		q.mu.Lock()
		idle := q.idleLocked()
		changed := q.changed
		q.mu.Unlock()
		if idle {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("memqueue: wait for idle: %w", ctx.Err())
		}
	}
}

// Close stops accepting jobs and waits until every accepted job has been handled, retries
// and all, so that a clean shutdown loses nothing. If ctx ends first, Close cancels the
// context of running handlers, drops the jobs still queued or waiting to be retried (logging
// how many) and returns an error wrapping ctx's error without waiting further: a handler that
// ignores its context may still finish afterwards. Close may be called more than once.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()

	if err := q.Idle(ctx); err != nil {
		q.mu.Lock()
		dropped := len(q.ready)
		for t := range q.timers {
			if t.Stop() { // its callback will not run, so its job is dropped here
				dropped++
			}
		}
		q.ready, q.timers = nil, nil
		running := q.running
		q.stopLocked()
		q.mu.Unlock()
		q.cancel()
		if dropped > 0 {
			q.log.Warn("queue closed with jobs undelivered", "dropped", dropped, "running", running)
		}
		return fmt.Errorf("memqueue: close: %d jobs dropped, %d still running: %w", dropped, running, ctx.Err())
	}

	q.mu.Lock()
	q.stopLocked()
	q.mu.Unlock()
	q.workers.Wait() // idle workers exit at once
	q.cancel()
	return nil
}

// stopLocked tells the workers to exit. q.mu must be held.
func (q *Queue) stopLocked() {
	q.stopping = true
	q.cond.Broadcast()
	q.notifyLocked()
}

// idleLocked reports whether no job is queued, delayed or running. q.mu must be held.
func (q *Queue) idleLocked() bool {
	return len(q.ready) == 0 && len(q.timers) == 0 && q.running == 0
}

// notifyLocked wakes every Idle waiter so it looks at the state again. q.mu must be held.
func (q *Queue) notifyLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// work is one worker: it delivers jobs until the queue stops.
func (q *Queue) work() {
	defer q.workers.Done()
	for {
		q.mu.Lock()
		for len(q.ready) == 0 && !q.stopping {
			q.cond.Wait()
		}
		if q.stopping {
			q.mu.Unlock()
			return
		}
		d := q.ready[0]
		q.ready[0] = delivery{} // let the body be collected once delivered
		q.ready = q.ready[1:]
		q.running++
		q.mu.Unlock()

		retry, delay := q.deliver(d)

		q.mu.Lock()
		q.running--
		if retry && !q.stopping {
			q.scheduleLocked(delivery{body: d.body, attempt: d.attempt + 1}, delay)
		}
		q.notifyLocked()
		q.mu.Unlock()
	}
}

// scheduleLocked puts d back on the ready list after delay. q.mu must be held.
func (q *Queue) scheduleLocked(d delivery, delay time.Duration) {
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if _, ok := q.timers[t]; !ok {
			return // Close dropped it
		}
		delete(q.timers, t)
		q.ready = append(q.ready, d)
		q.cond.Signal()
		q.notifyLocked()
	})
	q.timers[t] = struct{}{}
}

// deliver runs the handler once for d and reports whether to retry it and after how long.
// A job that has used its attempts is dead-lettered here.
func (q *Queue) deliver(d delivery) (retry bool, delay time.Duration) {
	var job domain.IndexJob
	err := json.Unmarshal(d.body, &job)
	if err != nil {
		// Cannot happen for bodies we encoded; a retry would fail the same way.
		q.deadLetter(job, d.attempt, fmt.Errorf("memqueue: decode job: %w", err))
		return false, 0
	}
	err = q.call(job, d.attempt)
	if err == nil {
		return false, 0
	}
	if d.attempt >= q.opts.MaxAttempts {
		q.deadLetter(job, d.attempt, err)
		return false, 0
	}
	delay = q.opts.Backoff(d.attempt)
	q.log.Warn("index job failed; will retry",
		"workspace_id", job.WorkspaceID, "path", job.Path, "version", job.Version,
		"attempt", d.attempt, "retry_in", delay, "err", err)
	return true, delay
}

// call runs the handler, turning a panic into an error so that one bad job cannot take the
// local stack down.
func (q *Queue) call(job domain.IndexJob, attempt int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("index job handler panicked", "path", job.Path, "attempt", attempt,
				"panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("memqueue: handler panicked: %v", r)
		}
	}()
	return q.handler(q.ctx, job, attempt)
}

// deadLetter reports a job that will not be delivered again.
func (q *Queue) deadLetter(job domain.IndexJob, attempts int, err error) {
	q.log.Error("index job dead-lettered",
		"workspace_id", job.WorkspaceID, "path", job.Path, "version", job.Version,
		"attempts", attempts, "err", err)
	if q.opts.OnDeadLetter == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			q.log.Error("OnDeadLetter panicked", "path", job.Path, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	q.opts.OnDeadLetter(job, attempts, err)
}
