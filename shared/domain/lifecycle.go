package domain

import (
	"context"
	"strings"
	"time"
)

// States of a workspace VM. A workspace that has never been started has no VMState and is
// reported as VMStopped.
//
//	stopped ──start──► starting ──agent healthy──► running ──stop/idle/preempted──► stopping ──► stopped
//	   ▲                  │  └──stop requested──► stopping                                           │
//	   │                  └──provider error / never healthy──► failed ──start──► starting            │
//	   └─────────────────────────────────────────────────────────────────────────────────────────────┘
const (
	VMStopped  = "stopped"  // no VM runs; its disk persists
	VMStarting = "starting" // a start is in flight (Phase says where)
	VMRunning  = "running"  // the agent answered /healthz and sends heartbeats
	VMStopping = "stopping" // a stop is in flight, or must be retried
	VMFailed   = "failed"   // the last start failed (StopReason/StopDetail say why); start again to retry
)

// ValidVMState reports whether s is one of the VM states.
func ValidVMState(s string) bool {
	switch s {
	case VMStopped, VMStarting, VMRunning, VMStopping, VMFailed:
		return true
	}
	return false
}

// Phases of a start, in order, as VMState.Phase and the start answer's timings name them.
const (
	PhaseProvisioning = "provisioning" // the provider creates or resumes the instance
	PhaseBooting      = "booting"      // the instance boots until it has an address
	PhaseAgentReady   = "agent_ready"  // the agent starts until GET /healthz answers 200
)

// Reasons recorded with every stop (VMState.StopReason).
const (
	StopUser             = "user"              // POST …/stop
	StopIdle             = "idle"              // no terminal or collab activity for the idle timeout
	StopIdleNoClients    = "idle_no_clients"   // every client had gone for the shorter timeout
	StopKeepaliveExpired = "keepalive_expired" // a keepalive ran out with no activity since
	StopPreempted        = "preempted"         // the cloud reclaimed the spot VM
	StopAgentLost        = "agent_lost"        // the agent stopped sending heartbeats
	StopFailed           = "failed"            // the start failed; StopDetail has the error
	StopStartTimeout     = "start_timeout"     // the start never finished (its owner died)
	StopDeleted          = "workspace_deleted" // the workspace was deleted while its VM ran
)

// VMState is the lifecycle record of one workspace's VM. Every change goes through a
// compare-and-set on Version, so concurrent starts, stops, heartbeats and sweeps never
// overwrite each other: the loser reloads and decides again.
type VMState struct {
	WorkspaceID string
	State       string
	// Version is incremented by every stored change; 0 means no record yet.
	Version int64
	// Phase is the current start phase while starting, else "".
	Phase string
	// Provider names the VMProvider that owns InstanceID ("local", "ec2", "gce").
	Provider   string
	InstanceID string
	// AgentURL is the agent's base URL while starting (once known) and running.
	AgentURL string
	// AgentTokenHash is the SHA-256 (hex) of the token the agent authenticates its heartbeats
	// with; a new token is generated for every start.
	AgentTokenHash string
	// OwnerID is the workspace owner at the last start (for tickets and auditing).
	OwnerID string

	StateChangedAt  time.Time
	StartedAt       *time.Time // when the current or last start began
	LastActivityAt  *time.Time // the latest terminal input or output or collab edit (or the start)
	LastHeartbeatAt *time.Time
	LastClientAt    *time.Time // the last heartbeat that counted a client (or the start)
	Clients         int        // connected clients at the last heartbeat
	KeepaliveUntil  *time.Time // a keepalive holds the VM running until then

	StopReason string // why the last stop or failure happened (Stop* constants)
	StopDetail string // a sentence for people: the error of a failed start, …
	StoppedAt  *time.Time

	// Deadline is when the sweeper must look at the record again: the idle or agent-lost
	// deadline while running, the start or stop timeout while starting or stopping, a cleanup
	// retry after a failure; nil when nothing is due. The sweeper selects by it alone, so one
	// indexed range query finds every candidate.
	Deadline *time.Time
}

// LifecycleStore persists VM states. It is part of Store; the conformance suite checks it.
type LifecycleStore interface {
	// VMState returns the workspace's record, or ENOTFOUND when it has none.
	VMState(ctx context.Context, workspaceID string) (*VMState, error)
	// PutVMState stores s if the stored record's version is s.Version (0: there must be no
	// record yet), and then increments s.Version. ECONFLICT when another change came first;
	// EINVALID for an unknown state.
	PutVMState(ctx context.Context, s *VMState) error
	// PutVMStates does what PutVMState does for each record, in one transaction, and reports
	// which were applied (a version conflict is not an error and leaves that record as is).
	PutVMStates(ctx context.Context, states []*VMState) ([]bool, error)
	// DueVMStates returns up to limit records whose Deadline is at or before now, earliest
	// first. It is the sweeper's one candidate query.
	DueVMStates(ctx context.Context, now time.Time, limit int) ([]*VMState, error)
	// DeleteVMState removes the record if its version is still version; ECONFLICT otherwise.
	DeleteVMState(ctx context.Context, workspaceID string, version int64) error
}

// VMSpec is what a provider needs to start a workspace's VM and its agent.
type VMSpec struct {
	WorkspaceID string
	// InstanceID is the instance of the previous start, to resume; "" the first time.
	InstanceID string
	// Agent is the configuration handed to the agent (environment of the local process, user
	// data in the clouds).
	Agent AgentConfig
}

// AgentConfig is what the control plane tells a workspace agent at start.
type AgentConfig struct {
	WorkspaceID string
	// ControlPlaneURL is the base URL of the API the agent sends heartbeats to
	// (POST {ControlPlaneURL}/api/workspaces/{id}/heartbeat) and file changes to.
	ControlPlaneURL string
	// Token authenticates the agent's heartbeats (Authorization: Bearer).
	Token string
	// TicketPublicKey verifies the tickets browsers present (base64 Ed25519).
	TicketPublicKey string
	// HeartbeatInterval is how often the agent reports activity.
	HeartbeatInterval time.Duration
	// AllowedOrigins are the browser origins that may open the agent's WebSockets (the IDE's).
	AllowedOrigins []string
}

// VMInstance is a provider's handle on a started VM.
type VMInstance struct {
	ID string
	// AgentURL is the agent's base URL, when the provider knows it already.
	AgentURL string
}

// VMProvider creates, resumes and stops workspace VMs: one agent per workspace on a disk that
// persists across stops. Local processes, EC2 spot instances and Compute Engine Spot VMs
// implement it.
type VMProvider interface {
	// Name is the provider's name as VMState.Provider records it.
	Name() string
	// Start creates the workspace's VM (spec.InstanceID == "") or resumes it, and returns once
	// the provider has accepted the request (the provisioning phase).
	Start(ctx context.Context, spec VMSpec) (VMInstance, error)
	// WaitRunning waits until the instance runs and returns the agent's base URL (the booting
	// phase).
	WaitRunning(ctx context.Context, workspaceID string, inst VMInstance) (string, error)
	// Stop stops the workspace's VM, keeping its disk, and returns once it is stopped. An empty
	// inst.ID makes the provider find the VM by workspace (so a start that died before
	// recording its instance cannot orphan one). Stopping a stopped or missing VM is not an
	// error.
	Stop(ctx context.Context, workspaceID string, inst VMInstance) error
}

// Heartbeat is what an agent reports about its workspace (POST …/heartbeat).
type Heartbeat struct {
	// LastInputAt, LastOutputAt and LastEditAt are the latest terminal input, terminal output
	// and collab edit the agent saw; nil if none since it started. An open idle tab changes
	// none of them.
	LastInputAt  *time.Time `json:"last_input_at,omitempty"`
	LastOutputAt *time.Time `json:"last_output_at,omitempty"`
	LastEditAt   *time.Time `json:"last_edit_at,omitempty"`
	// TerminalClients and CollabClients count the connected WebSockets.
	TerminalClients int `json:"terminal_clients"`
	CollabClients   int `json:"collab_clients"`
	// Preempted says the cloud announced the VM's interruption.
	Preempted bool `json:"preempted,omitempty"`
}

// Environment variables that carry an AgentConfig to the agent: the local provider sets them
// on the agent process, the cloud providers write them to /etc/vibecode/agent.env for the
// agent's systemd unit. The names are the agent's own (config.AgentFromEnv). Together with the
// directories and the listen address, they are the whole contract between the control plane
// and a workspace agent at start.
const (
	EnvAgentWorkspaceID       = "WORKSPACE_ID"
	EnvAgentControlPlaneURL   = "AGENT_CONTROL_PLANE_URL"
	EnvAgentToken             = "AGENT_TOKEN"
	EnvAgentTicketPublicKey   = "TICKET_PUBLIC_KEY"
	EnvAgentHeartbeatInterval = "AGENT_HEARTBEAT_INTERVAL"
	EnvAgentAllowedOrigins    = "AGENT_ALLOWED_ORIGINS"
	// EnvAgentAddr is the address the agent listens on (host:port).
	EnvAgentAddr = "AGENT_ADDR"
	// EnvAgentWorkspaceDir holds the workspace's files; EnvAgentStateDir the agent's own
	// state (terminal scrollback, collab documents), which survives stops.
	EnvAgentWorkspaceDir = "WORKSPACE_DIR"
	EnvAgentStateDir     = "AGENT_STATE_DIR"
	// EnvAgentSpot names the cloud whose spot interruption notices the agent watches (aws or
	// gcp; unset for local agents).
	EnvAgentSpot = "AGENT_SPOT"
)

// Env returns c as KEY=value pairs (the EnvAgent* variables it covers).
func (c AgentConfig) Env() []string {
	env := []string{
		EnvAgentWorkspaceID + "=" + c.WorkspaceID,
		EnvAgentControlPlaneURL + "=" + c.ControlPlaneURL,
		EnvAgentToken + "=" + c.Token,
		EnvAgentTicketPublicKey + "=" + c.TicketPublicKey,
		EnvAgentHeartbeatInterval + "=" + c.HeartbeatInterval.String(),
	}
	if len(c.AllowedOrigins) > 0 {
		env = append(env, EnvAgentAllowedOrigins+"="+strings.Join(c.AllowedOrigins, ","))
	}
	return env
}
