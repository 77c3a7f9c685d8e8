package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Agent is the workspace VM agent's configuration (workspace-vm/main.go). The zero value is
// not usable; call AgentFromEnv.
type Agent struct {
	// Addr is where the agent listens (AGENT_ADDR, default 127.0.0.1:7070). On a VM the
	// lifecycle puts a proxy in front of it; the agent itself speaks plain HTTP.
	Addr string
	// WorkspaceID is the workspace this agent serves; tickets for any other are refused
	// (WORKSPACE_ID, default "local").
	WorkspaceID string
	// WorkspaceDir is the workspace's directory on disk: terminals start there and the collab
	// hub keeps files there in step (WORKSPACE_DIR, default the current directory).
	WorkspaceDir string
	// StateDir holds what must survive an agent restart: terminal scrollback and working
	// directories, collaboration logs (AGENT_STATE_DIR, default
	// $VIBECODE_DATA_DIR/agent/$WORKSPACE_ID, so local agents for several workspaces do not
	// share one).
	StateDir string
	// TicketPublicKey verifies WebSocket tickets (TICKET_PUBLIC_KEY: base64 of the 32-byte
	// Ed25519 public key). When unset, the agent reads TicketPublicKeyFile instead.
	TicketPublicKey ed25519.PublicKey
	// TicketPublicKeyFile is read when TICKET_PUBLIC_KEY is unset (TICKET_PUBLIC_KEY_FILE,
	// default $VIBECODE_DATA_DIR/ticket-ed25519.pub, where a local stack keeps its key pair).
	TicketPublicKeyFile string
	// AllowedOrigins are the browser origins (scheme://host[:port]) that may open WebSockets;
	// "*" allows any (AGENT_ALLOWED_ORIGINS, comma-separated; default the local stack's URL,
	// http://$HOST:$PORT, plus its localhost spelling).
	AllowedOrigins []string
	// AdminToken lets the lifecycle read /stats without a ticket (AGENT_ADMIN_TOKEN, at least
	// 32 bytes; unset means only tickets work).
	AdminToken string
	// Shell is the terminal shell (AGENT_SHELL, else SHELL; empty means /bin/bash, falling
	// back to /bin/sh).
	Shell string
	// TerminalScrollback is each terminal's replay ring in bytes
	// (AGENT_TERMINAL_SCROLLBACK, default 262144).
	TerminalScrollback int
	// TerminalGrace is how long a terminal nobody is attached to keeps its shell
	// (AGENT_TERMINAL_GRACE, default 5m).
	TerminalGrace time.Duration
	// TerminalMaxSessions caps live terminals (AGENT_TERMINAL_MAX_SESSIONS, default 32) and
	// TerminalMaxClients the sockets attached to one (AGENT_TERMINAL_MAX_CLIENTS, default 8).
	TerminalMaxSessions int
	TerminalMaxClients  int
	// PingInterval is how often every WebSocket is pinged, so that proxies that drop idle
	// connections after ~60 s keep them (AGENT_PING_INTERVAL, default 15s).
	PingInterval time.Duration
	// ShutdownTimeout bounds the graceful shutdown on SIGTERM: flush state, close sockets
	// (AGENT_SHUTDOWN_TIMEOUT, default 15s; spot VMs get 30 s or 2 min in all).
	ShutdownTimeout time.Duration
	// LogLevel is debug, info, warn or error (LOG_LEVEL, default info).
	LogLevel slog.Level

	// Lifecycle (set by the control plane's VM providers, see domain.AgentConfig): with
	// ControlPlaneURL (AGENT_CONTROL_PLANE_URL) and Token (AGENT_TOKEN) the agent sends
	// heartbeats every HeartbeatInterval (AGENT_HEARTBEAT_INTERVAL, default 30s); Spot
	// (AGENT_SPOT: aws or gcp) makes it watch that cloud's spot interruption notice.
	ControlPlaneURL   string
	Token             string
	HeartbeatInterval time.Duration
	Spot              string
	// FilePollInterval is how often the agent asks the control plane whether the workspace's
	// files changed through the API, to write them to the workspace disk
	// (AGENT_FILE_POLL_INTERVAL, default 1s; answered 304 while nothing changed).
	FilePollInterval time.Duration
}

// agentSecretEnv are variables the agent may be started with that a user's shell must not
// inherit: a workspace's owner must not be able to read the agent's admin token, for one.
var agentSecretEnv = []string{
	"AGENT_ADMIN_TOKEN", "AGENT_TOKEN", "TICKET_PRIVATE_KEY", "JWT_SECRET", "DATABASE_URL", "REDIS_URL",
	"EMBEDDINGS_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY",
	"GROQ_API_KEY", "DEEPSEEK_API_KEY",
}

// ShellEnv returns environ (os.Environ()) without the platform's secrets, for the shells the
// agent starts: terminals belong to the workspace's users, the agent's credentials do not.
func ShellEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(agentSecretEnv, name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// AgentFromEnv builds an Agent from getenv (os.Getenv in production, a map in tests) and
// reports every invalid variable at once, naming it.
func AgentFromEnv(getenv func(string) string) (Agent, error) {
	p := parser{getenv: getenv}
	dataDir := p.str("VIBECODE_DATA_DIR", ".vibecode")
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	host, port := p.str("HOST", "127.0.0.1"), p.int("PORT", 8080)
	c := Agent{
		Addr:                p.str("AGENT_ADDR", "127.0.0.1:7070"),
		WorkspaceID:         p.str("WORKSPACE_ID", "local"),
		WorkspaceDir:        p.str("WORKSPACE_DIR", "."),
		StateDir:            p.str("AGENT_STATE_DIR", ""),
		TicketPublicKeyFile: p.str("TICKET_PUBLIC_KEY_FILE", filepath.Join(dataDir, "ticket-ed25519.pub")),
		AllowedOrigins:      p.list("AGENT_ALLOWED_ORIGINS"),
		AdminToken:          p.str("AGENT_ADMIN_TOKEN", ""),
		Shell:               p.str("AGENT_SHELL", p.str("SHELL", "")),
		TerminalScrollback:  p.int("AGENT_TERMINAL_SCROLLBACK", 256<<10),
		TerminalGrace:       p.duration("AGENT_TERMINAL_GRACE", 5*time.Minute),
		TerminalMaxSessions: p.int("AGENT_TERMINAL_MAX_SESSIONS", 32),
		TerminalMaxClients:  p.int("AGENT_TERMINAL_MAX_CLIENTS", 8),
		PingInterval:        p.duration("AGENT_PING_INTERVAL", 15*time.Second),
		ShutdownTimeout:     p.duration("AGENT_SHUTDOWN_TIMEOUT", 15*time.Second),
		LogLevel:            p.level("LOG_LEVEL", slog.LevelInfo),
	}
	if c.StateDir == "" {
		c.StateDir = filepath.Join(dataDir, "agent", c.WorkspaceID)
	}
	if len(c.AllowedOrigins) == 0 {
		hp := net.JoinHostPort(host, strconv.Itoa(port))
		c.AllowedOrigins = []string{"http://" + hp}
		if host == "127.0.0.1" || host == "0.0.0.0" || host == "::1" || host == "::" {
			c.AllowedOrigins = append(c.AllowedOrigins, "http://"+net.JoinHostPort("localhost", strconv.Itoa(port)))
		}
	}
	for i, o := range c.AllowedOrigins {
		norm, err := normalizeOrigin(o)
		if err != nil {
			p.fail("AGENT_ALLOWED_ORIGINS", err.Error())
			continue
		}
		c.AllowedOrigins[i] = norm
	}
	if v := p.str("TICKET_PUBLIC_KEY", ""); v != "" {
		b, err := decodeKey(v)
		if err != nil || len(b) != ed25519.PublicKeySize {
			p.fail("TICKET_PUBLIC_KEY", "is not the base64 of a 32-byte Ed25519 public key")
		} else {
			c.TicketPublicKey = ed25519.PublicKey(b)
		}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		p.fail("AGENT_ADDR", fmt.Sprintf("is not host:port: %q", c.Addr))
	}
	if !validWorkspaceID(c.WorkspaceID) {
		p.fail("WORKSPACE_ID", "must be 1-128 letters, digits, '-', '_' or '.'")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 32 {
		p.fail("AGENT_ADMIN_TOKEN", "must be at least 32 bytes")
	}
	if c.TerminalScrollback < 4<<10 || c.TerminalScrollback > 16<<20 {
		p.fail("AGENT_TERMINAL_SCROLLBACK", "must be between 4096 and 16777216 bytes")
	}
	if c.TerminalMaxSessions < 1 || c.TerminalMaxClients < 1 {
		p.fail("AGENT_TERMINAL_MAX_SESSIONS", "and AGENT_TERMINAL_MAX_CLIENTS must be at least 1")
	}
	c.ControlPlaneURL, c.Token = p.str("AGENT_CONTROL_PLANE_URL", ""), p.str("AGENT_TOKEN", "")
	c.HeartbeatInterval = p.duration("AGENT_HEARTBEAT_INTERVAL", 30*time.Second)
	if c.FilePollInterval = p.duration("AGENT_FILE_POLL_INTERVAL", time.Second); c.FilePollInterval < 50*time.Millisecond {
		p.fail("AGENT_FILE_POLL_INTERVAL", "must be at least 50ms")
	}
	if c.Spot = p.str("AGENT_SPOT", ""); c.Spot != "" && c.Spot != "aws" && c.Spot != "gcp" {
		p.fail("AGENT_SPOT", "must be aws or gcp")
	}
	for _, d := range []*string{&c.WorkspaceDir, &c.StateDir, &c.TicketPublicKeyFile} {
		if abs, err := filepath.Abs(*d); err == nil {
			*d = abs
		}
	}
	if len(p.errs) > 0 {
		return Agent{}, fmt.Errorf("config: %s", strings.Join(p.errs, "; "))
	}
	return c, nil
}

// normalizeOrigin turns "https://Example.com:443/" into "https://example.com" so that origins
// compare as strings; "*" stays.
func normalizeOrigin(o string) (string, error) {
	if o == "*" {
		return o, nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("has %q, not an origin like https://ide.example.com", o)
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}

// NormalizeOrigin returns the form of a browser Origin header that AllowedOrigins holds, so
// that the agent compares like with like; ok is false for anything that is not an http(s)
// origin (including "null").
func NormalizeOrigin(o string) (string, bool) {
	if o == "*" {
		return "", false
	}
	n, err := normalizeOrigin(o)
	return n, err == nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func validWorkspaceID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
