// Package lifecycle starts, stops and hibernates workspace VMs.
//
// Every workspace has one domain.VMState record, changed only by compare-and-set on its
// version, so any number of API instances and sweepers can act at once: of two starts, one
// claims the record (stopped → starting) and starts the VM while the other waits for the result;
// a stop during a start moves the record to stopping and the starter, whose next
// compare-and-set fails, stops the instance it started. Nothing is orphaned: every failure path
// stops the provider's instance, a start or stop whose owner died is finished by the sweeper
// when its deadline passes, and providers find a workspace's VM by workspace when its instance
// ID was never recorded.
//
// Activity comes from the agent's heartbeats (terminal input, output, collab edits — an open
// idle tab is not activity). A running record's Deadline is the earlier of its idle deadline
// (last activity + IdleTimeout, or + NoClientsTimeout once every client has gone, pushed out
// by a keepalive) and its agent-lost deadline (last heartbeat + AgentLostAfter), recomputed at
// every change; the sweeper (Sweep) therefore needs one indexed query to find every
// workspace to stop, and two batched writes to record the stops.
package lifecycle

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/ticket"
)

// Store is what the service needs from the database; domain.Store implements it.
type Store interface {
	domain.LifecycleStore
	WorkspaceByID(ctx context.Context, id string) (*domain.Workspace, error)
}

// Options tune the service. Zero values take the defaults named on each field.
type Options struct {
	// IdleTimeout stops a workspace with no terminal or collab activity for this long
	// (default 30 min, like Codespaces).
	IdleTimeout time.Duration
	// NoClientsTimeout stops a workspace this long after its last client left, if nothing
	// happened since (default 3 min, like Gitpod after the tab closes).
	NoClientsTimeout time.Duration
	// KeepaliveMax caps one keepalive (default 4 h).
	KeepaliveMax time.Duration
	// StopWarning is how long before a stop heartbeat replies set warning, so the agent can
	// warn connected clients (default 5 min).
	StopWarning time.Duration
	// HeartbeatInterval is how often agents are told to send heartbeats (default 30 s).
	HeartbeatInterval time.Duration
	// AgentLostAfter stops a running workspace whose agent sent no heartbeat for this long
	// (default 3 min).
	AgentLostAfter time.Duration
	// StartTimeout bounds a whole start: provisioning, booting and the agent's health (default
	// 5 min).
	StartTimeout time.Duration
	// StopTimeout bounds one provider stop; a stop that fails is retried this long after
	// (default 2 min).
	StopTimeout time.Duration
	// PollInterval is how often a start waiting for another start or stop rereads the record
	// (default 100 ms).
	PollInterval time.Duration
	// SweepLimit bounds the records one sweep handles (default 10,000); the rest wait for the
	// next run.
	SweepLimit int
	// SweepConcurrency bounds the provider stops a sweep runs at once (default 16).
	SweepConcurrency int
	// ControlPlaneURL is the API's base URL as agents reach it (heartbeats, file sync).
	ControlPlaneURL string
	// AgentAllowedOrigins are the browser origins agents accept WebSockets from (default:
	// the origin of ControlPlaneURL, which serves the IDE on the local stack).
	AgentAllowedOrigins []string
	// TicketKey signs the tickets the start answer carries; agents get its public half.
	TicketKey ed25519.PrivateKey
	// TicketTTL is the tickets' lifetime (default ticket.DefaultTTL).
	TicketTTL time.Duration
	// Now is the clock for states and deadlines; nil means time.Now. Durations of phases are
	// measured on the real clock.
	Now func() time.Time
	// HTTPClient probes the agent's /healthz; nil means a client with a 2 s timeout.
	HTTPClient *http.Client
}

func (o *Options) defaults() {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&o.IdleTimeout, 30*time.Minute)
	set(&o.NoClientsTimeout, 3*time.Minute)
	set(&o.KeepaliveMax, 4*time.Hour)
	set(&o.StopWarning, 5*time.Minute)
	set(&o.HeartbeatInterval, 30*time.Second)
	set(&o.AgentLostAfter, 3*time.Minute)
	set(&o.StartTimeout, 5*time.Minute)
	set(&o.StopTimeout, 2*time.Minute)
	set(&o.PollInterval, 100*time.Millisecond)
	set(&o.TicketTTL, ticket.DefaultTTL)
	if o.SweepLimit <= 0 {
		o.SweepLimit = 10000
	}
	if o.SweepConcurrency <= 0 {
		o.SweepConcurrency = 16
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if len(o.AgentAllowedOrigins) == 0 && o.ControlPlaneURL != "" {
		if u, err := url.Parse(o.ControlPlaneURL); err == nil && u.Scheme != "" && u.Host != "" {
			o.AgentAllowedOrigins = []string{u.Scheme + "://" + u.Host}
		}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 2 * time.Second}
	}
}

// Service runs the workspace lifecycle over one provider. It is safe for concurrent use and
// keeps no state of its own: everything is in the store.
type Service struct {
	store    Store
	provider domain.VMProvider
	issuer   *ticket.Issuer
	pubKey   string
	log      *slog.Logger
	opts     Options
}

// New returns the service. opts.TicketKey must be set.
func New(store Store, provider domain.VMProvider, log *slog.Logger, opts Options) (*Service, error) {
	opts.defaults()
	if len(opts.TicketKey) != ed25519.PrivateKeySize {
		return nil, errors.New("lifecycle: a ticket signing key is required")
	}
	if provider == nil {
		return nil, errors.New("lifecycle: a VM provider is required")
	}
	return &Service{
		store:    store,
		provider: provider,
		issuer:   ticket.NewIssuer(opts.TicketKey),
		pubKey:   ticket.EncodePublicKey(opts.TicketKey.Public().(ed25519.PublicKey)),
		log:      log,
		opts:     opts,
	}, nil
}

// Options returns the options in force (defaults filled in).
func (s *Service) Options() Options { return s.opts }

// now is the service clock in UTC, truncated to what every store keeps (microseconds).
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Status is a workspace's lifecycle as GET …/status answers it.
type Status struct {
	WorkspaceID string `json:"workspace_id"`
	// State is stopped, starting, running, stopping or failed.
	State string `json:"state"`
	// Phase is the current start phase while starting.
	Phase string `json:"phase,omitempty"`
	// AgentURL is the agent's base URL while running.
	AgentURL       string     `json:"agent_url,omitempty"`
	LastActivityAt *time.Time `json:"last_activity_at"`
	Clients        int        `json:"clients"`
	KeepaliveUntil *time.Time `json:"keepalive_until,omitempty"`
	// StopAt is when the workspace will be stopped for idleness if nothing happens (running).
	StopAt *time.Time `json:"stop_at,omitempty"`
	// StopReason and StopDetail say why the last stop or failure happened.
	StopReason string     `json:"stop_reason,omitempty"`
	StopDetail string     `json:"stop_detail,omitempty"`
	StoppedAt  *time.Time `json:"stopped_at,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
}

// Phase is one timed step of a start.
type Phase struct {
	Name string `json:"name"`
	MS   int64  `json:"ms"`
}

// Tickets open the agent's WebSockets: one per capability, so a leaked one grants only it.
type Tickets struct {
	Terminal  string    `json:"terminal"`
	Collab    string    `json:"collab"`
	ExpiresAt time.Time `json:"expires_at"`
}

// StartResult is the answer of a start: the agent's URL, tickets, and how long each phase
// took (no phases when the workspace was running already).
type StartResult struct {
	Status   Status  `json:"status"`
	Started  bool    `json:"started"`
	AgentURL string  `json:"agent_url"`
	Tickets  Tickets `json:"tickets"`
	Phases   []Phase `json:"phases"`
	TotalMS  int64   `json:"total_ms"`
}

// HeartbeatReply tells the agent what the control plane thinks of its workspace.
type HeartbeatReply struct {
	State string `json:"state"`
	// StopAt is when the workspace will be stopped if nothing happens; Warning is set when
	// that is within the warning period, and the agent should warn its clients (with
	// StopReason). Once State is stopping, StopAt is now.
	StopAt     *time.Time `json:"stop_at,omitempty"`
	Warning    bool       `json:"warning"`
	StopReason string     `json:"stop_reason,omitempty"`
	// HeartbeatIntervalS is how often the agent should send heartbeats, in seconds.
	HeartbeatIntervalS int `json:"heartbeat_interval_s"`
}

// load returns the workspace's record, or a fresh stopped one (version 0) when it has none.
func (s *Service) load(ctx context.Context, workspaceID string) (*domain.VMState, error) {
	v, err := s.store.VMState(ctx, workspaceID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return &domain.VMState{WorkspaceID: workspaceID, State: domain.VMStopped}, nil
	}
	if err != nil {
		return nil, err
	}
	if !domain.ValidVMState(v.State) {
		return nil, fmt.Errorf("lifecycle: workspace %s has unknown state %q", workspaceID, v.State)
	}
	return v, nil
}

// Status returns the workspace's lifecycle status.
func (s *Service) Status(ctx context.Context, workspaceID string) (*Status, error) {
	v, err := s.load(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return s.status(v), nil
}

func (s *Service) status(v *domain.VMState) *Status {
	st := &Status{
		WorkspaceID: v.WorkspaceID, State: v.State, Phase: v.Phase, LastActivityAt: v.LastActivityAt,
		Clients: v.Clients, KeepaliveUntil: v.KeepaliveUntil, StopReason: v.StopReason, StopDetail: v.StopDetail,
		StoppedAt: v.StoppedAt, StartedAt: v.StartedAt,
	}
	if v.State == domain.VMRunning {
		st.AgentURL = v.AgentURL
		at, _ := s.idleStop(v)
		st.StopAt = &at
	}
	if v.State != domain.VMStarting {
		st.Phase = ""
	}
	return st
}

// idleStop returns when a running workspace stops for idleness if nothing happens, and why.
func (s *Service) idleStop(v *domain.VMState) (time.Time, string) {
	var last time.Time
	if v.LastActivityAt != nil {
		last = *v.LastActivityAt
	}
	at, reason := last.Add(s.opts.IdleTimeout), domain.StopIdle
	if v.Clients == 0 {
		since := last
		if v.LastClientAt != nil && v.LastClientAt.After(since) {
			since = *v.LastClientAt
		}
		if t := since.Add(s.opts.NoClientsTimeout); t.Before(at) {
			at, reason = t, domain.StopIdleNoClients
		}
	}
	if v.KeepaliveUntil != nil && v.KeepaliveUntil.After(at) {
		at, reason = *v.KeepaliveUntil, domain.StopKeepaliveExpired
	}
	return at, reason
}

// lostAt returns when a running workspace's agent counts as lost.
func (s *Service) lostAt(v *domain.VMState) time.Time {
	var last time.Time
	if v.LastHeartbeatAt != nil {
		last = *v.LastHeartbeatAt
	}
	return last.Add(s.opts.AgentLostAfter)
}

// runningDeadline sets a running record's deadline: the earlier of its idle stop and the
// moment its agent counts as lost.
func (s *Service) runningDeadline(v *domain.VMState) {
	at, _ := s.idleStop(v)
	if lost := s.lostAt(v); lost.Before(at) {
		at = lost
	}
	v.Deadline = &at
}

// reasonDetail is the sentence stored with a stop reason.
func (s *Service) reasonDetail(reason string) string {
	switch reason {
	case domain.StopIdle:
		return fmt.Sprintf("no terminal or editor activity for %s", s.opts.IdleTimeout)
	case domain.StopIdleNoClients:
		return fmt.Sprintf("every client had left for %s with no activity", s.opts.NoClientsTimeout)
	case domain.StopKeepaliveExpired:
		return "the keepalive ended with no activity since"
	case domain.StopAgentLost:
		return fmt.Sprintf("the agent sent no heartbeat for %s", s.opts.AgentLostAfter)
	case domain.StopPreempted:
		return "the cloud reclaimed the spot VM; start the workspace again to resume it"
	case domain.StopUser:
		return "stopped on request"
	case domain.StopStartTimeout:
		return fmt.Sprintf("the start did not finish within %s", s.opts.StartTimeout)
	case domain.StopDeleted:
		return "the workspace was deleted"
	}
	return ""
}

// newAgentToken returns a random token and its stored hash.
func newAgentToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tokenMatches compares a presented agent token with the stored hash in constant time.
func tokenMatches(token, hash string) bool {
	if token == "" || hash == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(hash)) == 1
}

// sleep waits d or until ctx is done.
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

func tp(t time.Time) *time.Time { return &t }
