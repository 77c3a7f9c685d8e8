// Package agentclient is the workspace agent's side of the lifecycle: it sends heartbeats
// (activity, client counts, a preemption) to POST {control plane}/api/workspaces/{id}/heartbeat
// with the agent token of the current start, and hands the replies (when the workspace would
// be stopped, whether to warn clients) to the agent.
package agentclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lifecycle"
)

// Client sends one workspace agent's heartbeats. It is safe for concurrent use.
type Client struct {
	endpoint string
	token    string
	http     *http.Client
}

// New returns a client for the workspace's agent; token is its AGENT_TOKEN.
func New(controlPlaneURL, workspaceID, token string) *Client {
	return &Client{
		endpoint: strings.TrimRight(controlPlaneURL, "/") + "/api/workspaces/" + url.PathEscape(workspaceID) + "/heartbeat",
		token:    token,
		http:     &http.Client{Timeout: 10 * time.Second},
	}
}

// Send sends one heartbeat and returns the control plane's reply.
func (c *Client) Send(ctx context.Context, hb domain.Heartbeat) (*lifecycle.HeartbeatReply, error) {
	body, err := json.Marshal(hb)
	if err != nil {
		return nil, fmt.Errorf("agentclient: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("agentclient: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agentclient: heartbeat: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("agentclient: heartbeat: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("agentclient: heartbeat answered %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var reply lifecycle.HeartbeatReply
	if err := json.Unmarshal(b, &reply); err != nil {
		return nil, fmt.Errorf("agentclient: heartbeat reply: %w", err)
	}
	return &reply, nil
}

// Run sends a heartbeat built by report at once and then every interval until ctx is done,
// passing each reply to onReply (if set) and each failure to onError (if set). A failed
// heartbeat is not retried early: the next one carries the same activity.
func (c *Client) Run(ctx context.Context, interval time.Duration, report func() domain.Heartbeat,
	onReply func(*lifecycle.HeartbeatReply), onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		reply, err := c.Send(ctx, report())
		switch {
		case err != nil && ctx.Err() == nil && onError != nil:
			onError(err)
		case err == nil && onReply != nil:
			onReply(reply)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
