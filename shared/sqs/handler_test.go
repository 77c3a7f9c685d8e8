package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/sqs"
)

// loadEvent reads a Lambda SQS event fixture the way the Lambda runtime delivers it: as JSON.
func loadEvent(t *testing.T, name string) events.SQSEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// call is one handler invocation.
type call struct {
	path    string
	attempt int
}

// fakeHandler fails, panics or succeeds by path, and records its calls.
type fakeHandler struct {
	mu    sync.Mutex
	calls []call
	jobs  []domain.IndexJob
}

func (f *fakeHandler) handle(ctx context.Context, job domain.IndexJob, attempt int) error {
	f.mu.Lock()
	f.calls = append(f.calls, call{job.Path, attempt})
	f.jobs = append(f.jobs, job)
	f.mu.Unlock()
	switch job.Path {
	case "src/fails.go":
		return errors.New("embedder unavailable")
	case "src/panics.go":
		panic("nil map")
	}
	return nil
}

func failedIDs(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func TestHandler(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(t.Output(), nil))) // Handler logs to the default logger
	t.Run("PartialFailures", func(t *testing.T) {
		ev := loadEvent(t, "sqs-event.json")
		f := &fakeHandler{}
		resp, err := sqs.Handler(f.handle)(t.Context(), ev)
		if err != nil {
			t.Fatalf("function error %v; per-message failures must not fail the invocation", err)
		}
		// 2 failed, 3 isn't JSON, 4 has no path, 5 panicked.
		want := []string{
			"c4c1bb1e-0002-4a0e-9e4b-000000000002",
			"c4c1bb1e-0003-4a0e-9e4b-000000000003",
			"c4c1bb1e-0004-4a0e-9e4b-000000000004",
			"c4c1bb1e-0005-4a0e-9e4b-000000000005",
		}
		if got := failedIDs(resp); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("BatchItemFailures = %v, want %v", got, want)
		}
		// Attempts come from ApproximateReceiveCount; a missing count means a first delivery.
		wantCalls := []call{{"src/main.go", 1}, {"src/fails.go", 3}, {"src/panics.go", 2}, {"docs/gone.md", 1}, {"src/last.go", 4}}
		if fmt.Sprint(f.calls) != fmt.Sprint(wantCalls) {
			t.Errorf("handler calls = %v, want %v (poison bodies never reach the handler)", f.calls, wantCalls)
		}
		wantJob := domain.IndexJob{WorkspaceID: "ws-1", Path: "docs/gone.md", Version: 0, Deleted: true,
			EnqueuedAt: time.Date(2026, 3, 4, 5, 6, 7, 891, time.UTC)}
		if f.jobs[3] != wantJob {
			t.Errorf("decoded job = %+v, want %+v", f.jobs[3], wantJob)
		}

		// What Lambda reads back.
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), `{"batchItemFailures":[{"itemIdentifier":"c4c1bb1e-0002-4a0e-9e4b-000000000002"}`) {
			t.Errorf("response JSON = %s", b)
		}
	})

	t.Run("AllSucceed", func(t *testing.T) {
		ev := loadEvent(t, "sqs-event.json")
		ev.Records = ev.Records[:1]
		f := &fakeHandler{}
		resp, err := sqs.Handler(f.handle)(t.Context(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handler = %v, %v; want no failures", resp, err)
		}
		// An empty or null list tells Lambda that every record succeeded.
		b, _ := json.Marshal(resp)
		if string(b) != `{"batchItemFailures":null}` && string(b) != `{"batchItemFailures":[]}` {
			t.Errorf("response JSON = %s", b)
		}
	})

	t.Run("FIFOStopsAtFirstFailure", func(t *testing.T) {
		ev := loadEvent(t, "sqs-event.json")
		for i := range ev.Records {
			ev.Records[i].EventSourceARN += ".fifo"
		}
		f := &fakeHandler{}
		resp, err := sqs.Handler(f.handle)(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 2 {
			t.Errorf("handler ran %d times (%v), want 2: nothing after the first failure", len(f.calls), f.calls)
		}
		if got := failedIDs(resp); len(got) != 6 || got[0] != "c4c1bb1e-0002-4a0e-9e4b-000000000002" {
			t.Errorf("BatchItemFailures = %v, want the failed record and every one after it", got)
		}
	})

	t.Run("OutOfTime", func(t *testing.T) {
		ev := loadEvent(t, "sqs-event.json")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		f := &fakeHandler{}
		resp, err := sqs.Handler(f.handle)(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.calls) != 0 || len(resp.BatchItemFailures) != len(ev.Records) {
			t.Errorf("with a done context: %d calls, %d failures; want 0 calls, all %d records failed",
				len(f.calls), len(resp.BatchItemFailures), len(ev.Records))
		}
	})

	t.Run("EmptyEvent", func(t *testing.T) {
		resp, err := sqs.Handler(new(fakeHandler).handle)(t.Context(), events.SQSEvent{})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("Handler = %v, %v", resp, err)
		}
	})
}
