package memqueue_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/memqueue"
)

// deadLetter is one OnDeadLetter call.
type deadLetter struct {
	job      domain.IndexJob
	attempts int
	err      error
}

// recorder collects dead letters.
type recorder struct {
	mu    sync.Mutex
	dead  []deadLetter
	calls map[string][]int // path -> attempts seen by the handler
}

func (r *recorder) onDeadLetter(job domain.IndexJob, attempts int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dead = append(r.dead, deadLetter{job, attempts, err})
}

func (r *recorder) saw(job domain.IndexJob, attempt int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = make(map[string][]int)
	}
	r.calls[job.Path] = append(r.calls[job.Path], attempt)
}

func (r *recorder) attempts(path string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.calls[path]...)
}

func (r *recorder) deadLetters() []deadLetter {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]deadLetter(nil), r.dead...)
}

func job(path string) domain.IndexJob {
	return domain.IndexJob{WorkspaceID: "ws1", Path: path, Version: 3, EnqueuedAt: time.Now()}
}

// opts returns fast test options: no real backoff, logs to the test's output.
func opts(t *testing.T, rec *recorder) memqueue.Options {
	t.Helper()
	return memqueue.Options{
		MaxAttempts:  3,
		Backoff:      func(int) time.Duration { return time.Millisecond },
		OnDeadLetter: rec.onDeadLetter,
		Logger:       slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
}

// noLeaks fails the test if goroutines started during it are still running shortly after it
// ends (goleak by hand: the module doesn't depend on it).
func noLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("goroutines: %d before, %d after; stacks:\n%s", before, runtime.NumGoroutine(), buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// closeQueue closes q, failing the test if that takes more than a few seconds.
func closeQueue(t *testing.T, q *memqueue.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func idle(t *testing.T, q *memqueue.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.Idle(ctx); err != nil {
		t.Fatalf("Idle: %v", err)
	}
}

func TestQueue_Enqueue(t *testing.T) {
	t.Run("RetriesThenSucceeds", func(t *testing.T) {
		noLeaks(t)
		rec := &recorder{}
		q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
			rec.saw(j, attempt)
			if attempt < 3 {
				return fmt.Errorf("flaky %d", attempt)
			}
			return nil
		}, opts(t, rec))
		if err := q.Enqueue(context.Background(), job("a.go")); err != nil {
			t.Fatal(err)
		}
		idle(t, q)
		if got := fmt.Sprint(rec.attempts("a.go")); got != "[1 2 3]" {
			t.Errorf("attempts = %s, want [1 2 3]", got)
		}
		if d := rec.deadLetters(); len(d) != 0 {
			t.Errorf("dead letters = %v, want none", d)
		}
		closeQueue(t, q)
	})

	t.Run("DeadLettersAfterMaxAttempts", func(t *testing.T) {
		noLeaks(t)
		rec := &recorder{}
		q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
			rec.saw(j, attempt)
			return fmt.Errorf("broken on attempt %d", attempt)
		}, opts(t, rec))
		want := job("b.go")
		if err := q.Enqueue(context.Background(), want); err != nil {
			t.Fatal(err)
		}
		idle(t, q)
		if got := fmt.Sprint(rec.attempts("b.go")); got != "[1 2 3]" {
			t.Errorf("attempts = %s, want [1 2 3]", got)
		}
		dead := rec.deadLetters()
		if len(dead) != 1 {
			t.Fatalf("dead letters = %v, want one", dead)
		}
		d := dead[0]
		if d.attempts != 3 || d.err == nil || d.err.Error() != "broken on attempt 3" {
			t.Errorf("dead letter = %d attempts, err %v; want 3 attempts, the last error", d.attempts, d.err)
		}
		if d.job.Path != want.Path || d.job.WorkspaceID != want.WorkspaceID || !d.job.EnqueuedAt.Equal(want.EnqueuedAt) {
			t.Errorf("dead job = %+v, want %+v", d.job, want)
		}
		closeQueue(t, q)
	})

	t.Run("DeliversTheJobAsSent", func(t *testing.T) {
		noLeaks(t)
		rec := &recorder{}
		want := domain.IndexJob{WorkspaceID: "w", Path: "dir/ü x.md", Version: 0, Deleted: true,
			EnqueuedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
		got := make(chan domain.IndexJob, 1)
		q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
			got <- j
			return nil
		}, opts(t, rec))
		if err := q.Enqueue(context.Background(), want); err != nil {
			t.Fatal(err)
		}
		if j := <-got; j != want {
			t.Errorf("handler got %+v, want %+v", j, want)
		}
		closeQueue(t, q)
	})

	t.Run("ManyJobsOnce", func(t *testing.T) {
		noLeaks(t)
		rec := &recorder{}
		q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
			rec.saw(j, attempt)
			return nil
		}, opts(t, rec))
		var jobs []domain.IndexJob
		for i := range 100 {
			jobs = append(jobs, job(fmt.Sprintf("f%03d.go", i)))
		}
		if err := q.Enqueue(context.Background(), jobs...); err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(context.Background()); err != nil {
			t.Fatalf("Enqueue of nothing: %v", err)
		}
		idle(t, q)
		for _, j := range jobs {
			if got := fmt.Sprint(rec.attempts(j.Path)); got != "[1]" {
				t.Errorf("%s: attempts = %s, want [1]", j.Path, got)
			}
		}
		closeQueue(t, q)
	})

	t.Run("CanceledContext", func(t *testing.T) {
		noLeaks(t)
		q := memqueue.New(func(context.Context, domain.IndexJob, int) error { return nil }, opts(t, &recorder{}))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := q.Enqueue(ctx, job("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("Enqueue with canceled ctx = %v, want context.Canceled", err)
		}
		closeQueue(t, q)
	})
}

func TestQueue_Workers(t *testing.T) {
	noLeaks(t)
	const workers = 3
	var running, peak, done atomic.Int32
	release := make(chan struct{})
	o := opts(t, &recorder{})
	o.Workers = workers
	q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		done.Add(1)
		return nil
	}, o)
	for i := range 3 * workers {
		if err := q.Enqueue(context.Background(), job(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for running.Load() < workers {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d workers ran at once", running.Load(), workers)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // give a would-be extra worker time to show up
	if p := peak.Load(); p != workers {
		t.Errorf("peak concurrency = %d, want %d", p, workers)
	}
	close(release)
	idle(t, q)
	if d := done.Load(); d != 3*workers {
		t.Errorf("done = %d, want %d", d, 3*workers)
	}
	if p := peak.Load(); p != workers {
		t.Errorf("peak concurrency = %d, want %d", p, workers)
	}
	closeQueue(t, q)
}

func TestQueue_Panic(t *testing.T) {
	t.Run("CountsAsFailure", func(t *testing.T) {
		noLeaks(t)
		rec := &recorder{}
		q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
			rec.saw(j, attempt)
			if attempt == 1 {
				panic("boom")
			}
			return nil
		}, opts(t, rec))
		if err := q.Enqueue(context.Background(), job("p.go")); err != nil {
			t.Fatal(err)
		}
		idle(t, q)
		if got := fmt.Sprint(rec.attempts("p.go")); got != "[1 2]" {
			t.Errorf("attempts = %s, want [1 2]", got)
		}
		closeQueue(t, q)
	})

	t.Run("DeadLettersWithThePanic", func(t *testing.T) {
		noLeaks(t)
		rec := &recorder{}
		o := opts(t, rec)
		o.OnDeadLetter = func(j domain.IndexJob, attempts int, err error) {
			rec.onDeadLetter(j, attempts, err)
			panic("the dead-letter hook panics too")
		}
		q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
			panic(fmt.Sprintf("boom %d", attempt))
		}, o)
		if err := q.Enqueue(context.Background(), job("p.go")); err != nil {
			t.Fatal(err)
		}
		idle(t, q)
		dead := rec.deadLetters()
		if len(dead) != 1 || dead[0].attempts != 3 || !strings.Contains(fmt.Sprint(dead[0].err), "boom 3") {
			t.Errorf("dead letters = %+v, want one after 3 attempts with the last panic", dead)
		}
		closeQueue(t, q)
	})
}

func TestQueue_Close(t *testing.T) {
	t.Run("DrainsAcceptedJobs", func(t *testing.T) {
		noLeaks(t)
		rec := &recorder{}
		o := opts(t, rec)
		o.Workers = 1
		q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
			time.Sleep(5 * time.Millisecond)
			rec.saw(j, attempt)
			if attempt == 1 {
				return errors.New("retry me") // the retry must still happen before Close returns
			}
			return nil
		}, o)
		for i := range 5 {
			if err := q.Enqueue(context.Background(), job(fmt.Sprint(i))); err != nil {
				t.Fatal(err)
			}
		}
		closeQueue(t, q)
		for i := range 5 {
			if got := fmt.Sprint(rec.attempts(fmt.Sprint(i))); got != "[1 2]" {
				t.Errorf("job %d: attempts = %s, want [1 2]", i, got)
			}
		}
		if err := q.Enqueue(context.Background(), job("late")); !errors.Is(err, memqueue.ErrClosed) {
			t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
		}
		closeQueue(t, q) // a second Close is harmless
	})

	t.Run("GivesUpWhenContextEnds", func(t *testing.T) {
		noLeaks(t)
		rec := &recorder{}
		o := opts(t, rec)
		o.Workers = 1
		o.Backoff = func(int) time.Duration { return time.Hour }
		started := make(chan struct{}, 10)
		handlerErr := make(chan error, 1)
		q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
			rec.saw(j, attempt)
			switch j.Path {
			case "retry":
				return errors.New("wait an hour")
			case "block":
				started <- struct{}{}
				<-ctx.Done()
				handlerErr <- ctx.Err()
				return ctx.Err()
			}
			return nil
		}, o)
		// "retry" fails and waits an hour; "block" holds the only worker; "queued" never runs.
		if err := q.Enqueue(context.Background(), job("retry"), job("block"), job("queued")); err != nil {
			t.Fatal(err)
		}
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := q.Close(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want DeadlineExceeded", err)
		}
		if !strings.Contains(err.Error(), "2 jobs dropped, 1 still running") {
			t.Errorf("Close error %q doesn't count the dropped and running jobs", err)
		}
		select {
		case herr := <-handlerErr:
			if !errors.Is(herr, context.Canceled) {
				t.Errorf("handler ctx err = %v, want Canceled", herr)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("running handler's context was not canceled")
		}
		idle(t, q)
		if got := rec.attempts("queued"); len(got) != 0 {
			t.Errorf("dropped job ran: attempts %v", got)
		}
		if got := fmt.Sprint(rec.attempts("retry")); got != "[1]" {
			t.Errorf("retry attempts = %s, want [1]", got)
		}
		if err := q.Enqueue(context.Background(), job("late")); !errors.Is(err, memqueue.ErrClosed) {
			t.Errorf("Enqueue after Close = %v, want ErrClosed", err)
		}
	})
}

func TestQueue_Idle(t *testing.T) {
	noLeaks(t)
	release := make(chan struct{})
	q := memqueue.New(func(ctx context.Context, j domain.IndexJob, attempt int) error {
		<-release
		return nil
	}, opts(t, &recorder{}))
	if err := q.Enqueue(context.Background(), job("a")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := q.Idle(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Idle while running = %v, want DeadlineExceeded", err)
	}
	close(release)
	idle(t, q)
	closeQueue(t, q)
}

func TestDefaultBackoff(t *testing.T) {
	for attempt, want := range map[int]time.Duration{
		0:    100 * time.Millisecond,
		1:    100 * time.Millisecond,
		2:    200 * time.Millisecond,
		5:    1600 * time.Millisecond,
		9:    25600 * time.Millisecond,
		10:   30 * time.Second,
		64:   30 * time.Second,
		1000: 30 * time.Second,
	} {
		for range 50 {
			d := memqueue.DefaultBackoff(attempt)
			if d < want/2 || d > want {
				t.Fatalf("DefaultBackoff(%d) = %v, want within [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
}
