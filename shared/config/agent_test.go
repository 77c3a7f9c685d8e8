package config_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/config"
)

func agentFromMap(m map[string]string) (config.Agent, error) {
	return config.AgentFromEnv(func(k string) string { return m[k] })
}

func TestAgentFromEnv_Defaults(t *testing.T) {
	c, err := agentFromMap(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7070" || c.WorkspaceID != "local" || c.TerminalScrollback != 256<<10 ||
		c.TerminalGrace != 5*time.Minute || c.TerminalMaxClients != 8 || c.PingInterval != 15*time.Second ||
		c.FilePollInterval != time.Second {
		t.Errorf("defaults: %+v", c)
	}
	if !slices.Equal(c.AllowedOrigins, []string{"http://127.0.0.1:8080", "http://localhost:8080"}) {
		t.Errorf("origins = %v", c.AllowedOrigins)
	}
	if !strings.HasSuffix(c.StateDir, "/.vibecode/agent/local") || !strings.HasSuffix(c.TicketPublicKeyFile, "/.vibecode/ticket-ed25519.pub") {
		t.Errorf("paths: %q %q", c.StateDir, c.TicketPublicKeyFile)
	}
	if c.TicketPublicKey != nil {
		t.Error("key set without TICKET_PUBLIC_KEY")
	}
}

func TestAgentFromEnv_Values(t *testing.T) {
	pub := make([]byte, ed25519.PublicKeySize)
	pub[0] = 7
	c, err := agentFromMap(map[string]string{
		"AGENT_ADDR": "0.0.0.0:9000", "WORKSPACE_ID": "ws_1", "WORKSPACE_DIR": "/workspace",
		"AGENT_STATE_DIR": "/state", "TICKET_PUBLIC_KEY": base64.StdEncoding.EncodeToString(pub),
		"AGENT_ALLOWED_ORIGINS": "https://IDE.example.com:443/, http://localhost:3000",
		"AGENT_ADMIN_TOKEN":     strings.Repeat("x", 32), "SHELL": "/bin/zsh",
		"AGENT_TERMINAL_GRACE": "1m", "AGENT_FILE_POLL_INTERVAL": "250ms",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.WorkspaceID != "ws_1" || c.WorkspaceDir != "/workspace" || c.StateDir != "/state" ||
		c.Shell != "/bin/zsh" || c.TerminalGrace != time.Minute || !ed25519.PublicKey(pub).Equal(c.TicketPublicKey) ||
		c.FilePollInterval != 250*time.Millisecond {
		t.Errorf("values: %+v", c)
	}
	if !slices.Equal(c.AllowedOrigins, []string{"https://ide.example.com", "http://localhost:3000"}) {
		t.Errorf("origins = %v", c.AllowedOrigins)
	}
}

func TestAgentFromEnv_Invalid(t *testing.T) {
	_, err := agentFromMap(map[string]string{
		"AGENT_ADDR": "nope", "WORKSPACE_ID": "a/b", "TICKET_PUBLIC_KEY": "c2hvcnQ=",
		"AGENT_ALLOWED_ORIGINS": "ftp://x", "AGENT_ADMIN_TOKEN": "short", "AGENT_TERMINAL_SCROLLBACK": "10",
		"AGENT_FILE_POLL_INTERVAL": "1ms",
	})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, name := range []string{"AGENT_ADDR", "WORKSPACE_ID", "TICKET_PUBLIC_KEY", "AGENT_ALLOWED_ORIGINS", "AGENT_ADMIN_TOKEN", "AGENT_TERMINAL_SCROLLBACK", "AGENT_FILE_POLL_INTERVAL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:8080": "http://localhost:8080", "HTTPS://A.B:443": "https://a.b", "http://[::1]:80": "http://[::1]",
	} {
		if got, ok := config.NormalizeOrigin(in); !ok || got != want {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"null", "*", "", "file://x", "http://a/b"} {
		if _, ok := config.NormalizeOrigin(in); ok {
			t.Errorf("NormalizeOrigin(%q) ok", in)
		}
	}
}

func TestShellEnv(t *testing.T) {
	got := config.ShellEnv([]string{"PATH=/bin", "AGENT_ADMIN_TOKEN=s", "TICKET_PRIVATE_KEY=k", "HOME=/h", "OPENAI_API_KEY=x"})
	if !slices.Equal(got, []string{"PATH=/bin", "HOME=/h"}) {
		t.Errorf("ShellEnv = %v", got)
	}
}
