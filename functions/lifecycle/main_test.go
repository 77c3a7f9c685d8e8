package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/vibecode/vibecode/shared/lifecycle"
)

type fakeSweeper struct{ calls int }

func (f *fakeSweeper) Sweep(context.Context) (lifecycle.SweepReport, error) {
	f.calls++
	return lifecycle.SweepReport{Due: 3, Stopped: 2}, nil
}

func event(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDispatch(t *testing.T) {
	var paths []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"state":"stopped"}`)
	})
	sw := &fakeSweeper{}
	fn := dispatch(h, sw, slog.New(slog.NewTextHandler(io.Discard, nil)))

	// The EventBridge schedule runs the sweeper, not the HTTP handler.
	out, err := fn(context.Background(), event(t, "scheduled-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep, ok := out.(lifecycle.SweepReport); !ok || rep.Stopped != 2 || sw.calls != 1 || len(paths) != 0 {
		t.Fatalf("scheduled event: %#v, sweeps %d, requests %v", out, sw.calls, paths)
	}

	// An HTTP API request reaches the handler.
	out, err = fn(context.Background(), event(t, "status-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, ok := out.(events.APIGatewayV2HTTPResponse)
	if !ok || resp.StatusCode != http.StatusOK || resp.Body != `{"state":"stopped"}` || sw.calls != 1 {
		t.Fatalf("HTTP event: %#v", out)
	}
	if len(paths) != 1 || paths[0] != "GET /api/workspaces/abc/status" {
		t.Fatalf("requests = %v", paths)
	}

	// Garbage is an error, not a sweep.
	if _, err := fn(context.Background(), json.RawMessage(`[1,2]`)); err == nil {
		t.Fatal("an array event was accepted")
	}
}
