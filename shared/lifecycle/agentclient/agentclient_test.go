package agentclient_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lifecycle"
	"github.com/vibecode/vibecode/shared/lifecycle/agentclient"
)

func TestClient_SendAndRun(t *testing.T) {
	var got atomic.Value
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/workspaces/ws1/heartbeat" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":{"code":"not_found","message":"workspace not found"}}`, http.StatusNotFound)
			return
		}
		var hb domain.Heartbeat
		if err := json.NewDecoder(r.Body).Decode(&hb); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got.Store(hb)
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"state":"running","stop_at":"2026-11-27T09:30:00Z","warning":true,"stop_reason":"idle","heartbeat_interval_s":30}`))
	}))
	defer srv.Close()

	in := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	c := agentclient.New(srv.URL+"/", "ws1", "tok")
	reply, err := c.Send(context.Background(), domain.Heartbeat{LastInputAt: &in, TerminalClients: 2, Preempted: true})
	if err != nil {
		t.Fatal(err)
	}
	if reply.State != "running" || !reply.Warning || reply.StopReason != "idle" || reply.HeartbeatIntervalS != 30 ||
		!reply.StopAt.Equal(time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)) {
		t.Fatalf("reply = %+v", reply)
	}
	hb := got.Load().(domain.Heartbeat)
	if !hb.LastInputAt.Equal(in) || hb.TerminalClients != 2 || !hb.Preempted {
		t.Fatalf("sent %+v", hb)
	}

	// A wrong token is an error naming the answer.
	if _, err := agentclient.New(srv.URL, "ws1", "nope").Send(context.Background(), domain.Heartbeat{}); err == nil {
		t.Fatal("a refused heartbeat was not an error")
	}

	// Run sends at once and then every interval until cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	replies := make(chan struct{}, 10)
	done := make(chan struct{})
	before := n.Load()
	go func() {
		c.Run(ctx, 5*time.Millisecond, func() domain.Heartbeat { return domain.Heartbeat{CollabClients: 1} },
			func(*lifecycle.HeartbeatReply) { replies <- struct{}{} }, func(err error) { t.Error(err) })
		close(done)
	}()
	for range 3 {
		select {
		case <-replies:
		case <-time.After(10 * time.Second):
			t.Fatal("Run sent no heartbeat")
		}
	}
	cancel()
	<-done
	if n.Load()-before < 3 {
		t.Fatalf("%d heartbeats", n.Load()-before)
	}
}
