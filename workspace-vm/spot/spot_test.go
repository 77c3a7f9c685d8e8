package spot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vibecode/vibecode/workspace-vm/spot"
)

// fakeIMDS speaks IMDSv2: PUT /latest/api/token with a TTL header hands out a token, and
// every GET needs the current token (401 otherwise); instance-action is 404 until an
// interruption is scheduled.
type fakeIMDS struct {
	mu        sync.Mutex
	token     string
	tokens    int
	scheduled bool
	gets      int
	bad       []string
}

func (f *fakeIMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
		if r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") == "" {
			http.Error(w, "missing TTL", http.StatusBadRequest)
			return
		}
		f.tokens++
		f.token = fmt.Sprintf("token-%d", f.tokens)
		fmt.Fprint(w, f.token)
	case r.Method == http.MethodGet && r.URL.Path == "/latest/meta-data/spot/instance-action":
		f.gets++
		if r.Header.Get("X-aws-ec2-metadata-token") != f.token {
			f.bad = append(f.bad, r.Header.Get("X-aws-ec2-metadata-token"))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if !f.scheduled {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, `{"action": "stop", "time": "2026-11-27T09:02:00Z"}`)
	default:
		http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
	}
}

func (f *fakeIMDS) set(fn func(f *fakeIMDS)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func TestWatch_AWS(t *testing.T) {
	f := &fakeIMDS{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	done := make(chan spot.Notice, 1)
	go func() {
		_ = spot.Run(context.Background(), spot.Options{Cloud: spot.AWS, Endpoint: srv.URL, Interval: 5 * time.Millisecond},
			func(n spot.Notice) { done <- n })
	}()
	// Polls get 404 (nothing scheduled); then the token is revoked: the watcher fetches a
	// new one; then the notice comes.
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.gets >= 3 })
	f.set(func(f *fakeIMDS) { f.token = "rotated" })
	waitFor(t, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.tokens >= 2 })
	f.set(func(f *fakeIMDS) { f.scheduled = true })
	select {
	case n := <-done:
		want := time.Date(2026, 11, 27, 9, 2, 0, 0, time.UTC)
		if n.Cloud != spot.AWS || n.Action != "stop" || !n.Time.Equal(want) {
			t.Fatalf("notice = %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notice")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bad) != 1 || f.bad[0] != "token-1" {
		t.Fatalf("requests with a wrong token: %v (only the revoked one expected)", f.bad)
	}
}

// fakeGCPMetadata serves instance/preempted: FALSE with an ETag at first, and holds a
// wait_for_change request with that last_etag until the VM is preempted.
type fakeGCPMetadata struct {
	preempt  chan struct{}
	requests atomic.Int32
	waits    atomic.Int32
	flavor   atomic.Bool // a request without Metadata-Flavor: Google arrived
}

func (f *fakeGCPMetadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if r.Header.Get("Metadata-Flavor") != "Google" {
		f.flavor.Store(true)
		http.Error(w, "Missing Metadata-Flavor:Google header.", http.StatusForbidden)
		return
	}
	if r.URL.Path != "/computeMetadata/v1/instance/preempted" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if q.Get("wait_for_change") == "true" && q.Get("last_etag") == "etag-false" {
		f.waits.Add(1)
		select {
		case <-f.preempt:
			w.Header().Set("ETag", "etag-true")
			fmt.Fprint(w, "TRUE")
		case <-r.Context().Done():
		}
		return
	}
	w.Header().Set("ETag", "etag-false")
	fmt.Fprint(w, "FALSE")
}

func TestWatch_GCP(t *testing.T) {
	f := &fakeGCPMetadata{preempt: make(chan struct{})}
	srv := httptest.NewServer(f)
	defer srv.Close()
	done := make(chan spot.Notice, 1)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	go func() {
		n, err := spot.Watch(context.Background(), spot.Options{Cloud: spot.GCP, Endpoint: srv.URL, Interval: time.Millisecond,
			Now: func() time.Time { return now }})
		if err == nil {
			done <- n
		}
	}()
	waitFor(t, func() bool { return f.waits.Load() == 1 })
	close(f.preempt)
	select {
	case n := <-done:
		if n.Cloud != spot.GCP || n.Action != "preempted" || !n.Time.Equal(now.Add(30*time.Second)) {
			t.Fatalf("notice = %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notice")
	}
	if f.flavor.Load() {
		t.Fatal("a request lacked Metadata-Flavor: Google")
	}
	// One plain read, one long poll: no busy loop.
	if got := f.requests.Load(); got != 2 {
		t.Fatalf("%d requests, want 2", got)
	}
}

func TestWatch_RetriesAndCancel(t *testing.T) {
	// No metadata server at all (a closed port): the watch keeps trying until cancelled.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	for _, cloud := range []string{spot.AWS, spot.GCP} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		_, err := spot.Watch(ctx, spot.Options{Cloud: cloud, Endpoint: url, Interval: time.Millisecond})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: err = %v, want the context's", cloud, err)
		}
	}
	// A metadata server that errors is retried too.
	var n atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 4 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "TRUE")
	}))
	defer flaky.Close()
	got, err := spot.Watch(context.Background(), spot.Options{Cloud: spot.GCP, Endpoint: flaky.URL, Interval: time.Millisecond})
	if err != nil || got.Action != "preempted" {
		t.Fatalf("after errors: %+v, %v", got, err)
	}
	if _, err := spot.Watch(context.Background(), spot.Options{Cloud: "azure"}); err == nil {
		t.Fatal("an unknown cloud was accepted")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}
