// Package spot watches for the cloud's notice that a spot VM is about to be interrupted, so
// the agent can save documents and terminals, tell its clients and the control plane, and
// close its sockets with the "preempted" close code well before the VM goes.
//
// AWS gives two minutes' notice through the instance metadata service: with an IMDSv2 token
// (PUT /latest/api/token), GET /latest/meta-data/spot/instance-action answers 404 until an
// interruption is scheduled, then 200 with {"action":"stop","time":"…"}; it is polled every
// five seconds. Google gives 30 seconds: GET
// /computeMetadata/v1/instance/preempted?wait_for_change=true (header Metadata-Flavor: Google)
// hangs until the value changes, and answers TRUE once the VM is preempted; then ACPI soft-off
// sends SIGTERM, which the agent handles as a shutdown anyway.
package spot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Clouds Watch knows.
const (
	AWS = "aws"
	GCP = "gcp"
)

// Notice is an interruption notice.
type Notice struct {
	// Cloud is AWS or GCP.
	Cloud string
	// Action is what will happen: AWS's stop, terminate or hibernate; "preempted" on GCP.
	Action string
	// Time is when the VM will be interrupted (AWS says; on GCP, 30 s after the notice).
	Time time.Time
}

// Options configure a watcher. Zero values take the defaults named.
type Options struct {
	// Cloud is AWS or GCP.
	Cloud string
	// Endpoint is the metadata server's base URL (default http://169.254.169.254 on AWS,
	// http://metadata.google.internal on GCP).
	Endpoint string
	// Interval is how often AWS's instance-action is polled (default 5 s), and the pause
	// after a failed request on either cloud.
	Interval time.Duration
	// HTTPClient makes the requests (default a client without timeout: the GCP request hangs
	// on purpose; each AWS request has its own 2 s deadline).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o *Options) defaults() error {
	switch o.Cloud {
	case AWS:
		if o.Endpoint == "" {
			o.Endpoint = "http://169.254.169.254"
		}
	case GCP:
		if o.Endpoint == "" {
			o.Endpoint = "http://metadata.google.internal"
		}
	default:
		return fmt.Errorf("spot: unknown cloud %q (want %s or %s)", o.Cloud, AWS, GCP)
	}
	o.Endpoint = strings.TrimRight(o.Endpoint, "/")
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Watch watches for an interruption notice until one arrives, which it returns, or until ctx
// is done (ctx.Err()). Failed requests (no metadata server yet, a 5xx) are retried every
// Interval; they never end the watch.
func Watch(ctx context.Context, opts Options) (Notice, error) {
	if err := opts.defaults(); err != nil {
		return Notice{}, err
	}
	if opts.Cloud == AWS {
		return watchAWS(ctx, opts)
	}
	return watchGCP(ctx, opts)
}

// Run calls onNotice once when a notice arrives, and returns nil then; it returns ctx.Err()
// when ctx ends first. The agent runs it in a goroutine.
func Run(ctx context.Context, opts Options, onNotice func(Notice)) error {
	n, err := Watch(ctx, opts)
	if err != nil {
		return err
	}
	onNotice(n)
	return nil
}

// watchAWS polls IMDSv2's instance-action.
func watchAWS(ctx context.Context, o Options) (Notice, error) {
	var token string
	var tokenExp time.Time
	for {
		if token == "" || o.Now().After(tokenExp) {
			t, err := awsToken(ctx, o)
			if err == nil {
				token, tokenExp = t, o.Now().Add(5*time.Hour)
			}
		}
		if token != "" {
			n, status, err := awsInstanceAction(ctx, o, token)
			switch {
			case err == nil && status == http.StatusOK:
				return n, nil
			case status == http.StatusUnauthorized:
				token = "" // expired or revoked: get a new one
			}
		}
		if err := sleep(ctx, o.Interval); err != nil {
			return Notice{}, err
		}
	}
}

// awsToken gets an IMDSv2 session token valid for 6 hours.
func awsToken(ctx context.Context, o Options) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, o.Endpoint+"/latest/api/token", nil)
	if err != nil {
		return "", fmt.Errorf("spot: %w", err)
	}
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "21600")
	body, status, err := do(o.HTTPClient, req)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK || len(body) == 0 {
		return "", fmt.Errorf("spot: IMDS token: status %d", status)
	}
	return strings.TrimSpace(string(body)), nil
}

// awsInstanceAction reads the instance-action document: 404 means nothing is scheduled.
func awsInstanceAction(ctx context.Context, o Options, token string) (Notice, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.Endpoint+"/latest/meta-data/spot/instance-action", nil)
	if err != nil {
		return Notice{}, 0, fmt.Errorf("spot: %w", err)
	}
	req.Header.Set("X-aws-ec2-metadata-token", token)
	body, status, err := do(o.HTTPClient, req)
	if err != nil || status != http.StatusOK {
		return Notice{}, status, err
	}
	var doc struct {
		Action string    `json:"action"`
		Time   time.Time `json:"time"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Action == "" {
		return Notice{}, 0, fmt.Errorf("spot: malformed instance-action %q", body)
	}
	return Notice{Cloud: AWS, Action: doc.Action, Time: doc.Time}, status, nil
}

// watchGCP long-polls the preempted flag, passing the last ETag so each request waits for a
// change instead of answering the current value again.
func watchGCP(ctx context.Context, o Options) (Notice, error) {
	etag := ""
	for {
		u := o.Endpoint + "/computeMetadata/v1/instance/preempted"
		if etag != "" {
			u += "?wait_for_change=true&last_etag=" + etag
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return Notice{}, fmt.Errorf("spot: %w", err)
		}
		req.Header.Set("Metadata-Flavor", "Google")
		resp, err := o.HTTPClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if strings.EqualFold(strings.TrimSpace(string(b)), "TRUE") {
					return Notice{Cloud: GCP, Action: "preempted", Time: o.Now().Add(30 * time.Second)}, nil
				}
				if e := resp.Header.Get("ETag"); e != "" {
					etag = e
					continue // wait for the next change at once
				}
			}
		}
		if ctx.Err() != nil {
			return Notice{}, ctx.Err()
		}
		if err := sleep(ctx, o.Interval); err != nil {
			return Notice{}, err
		}
	}
}

func do(c *http.Client, req *http.Request) ([]byte, int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("spot: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("spot: %w", err)
	}
	return b, resp.StatusCode, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
