// Command workspace-vm is the workspace agent: one static binary per workspace VM that serves
// the workspace's terminals and collaborative editing over WebSockets (package agent).
// Configuration comes from the environment (config.AgentFromEnv); this file only wires.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lifecycle/agentclient"
	"github.com/vibecode/vibecode/shared/ticket"
	"github.com/vibecode/vibecode/workspace-vm/agent"
	"github.com/vibecode/vibecode/workspace-vm/collab"
	"github.com/vibecode/vibecode/workspace-vm/filesync"
	"github.com/vibecode/vibecode/workspace-vm/spot"
	"github.com/vibecode/vibecode/workspace-vm/terminal"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.AgentFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	pub := cfg.TicketPublicKey
	if pub == nil {
		if pub, err = ticket.ReadPublicKeyFile(cfg.TicketPublicKeyFile); err != nil {
			return fmt.Errorf("no ticket key: set TICKET_PUBLIC_KEY, or start the local stack first so it writes %s: %w", cfg.TicketPublicKeyFile, err)
		}
	}
	activity := agent.NewActivity()
	terms, err := terminal.NewManager(terminal.Options{
		Dir:          cfg.WorkspaceDir,
		StateDir:     cfg.StateDir,
		Shell:        cfg.Shell,
		Env:          config.ShellEnv(os.Environ()),
		Scrollback:   cfg.TerminalScrollback,
		Grace:        cfg.TerminalGrace,
		MaxSessions:  cfg.TerminalMaxSessions,
		MaxClients:   cfg.TerminalMaxClients,
		PingInterval: cfg.PingInterval,
		Activity:     activity.Touch,
		Logger:       log,
	})
	if err != nil {
		return err
	}

	hub, err := collab.New(collab.Options{
		StateDir:     filepath.Join(cfg.StateDir, "collab"),
		WorkspaceDir: cfg.WorkspaceDir,
		PingInterval: cfg.PingInterval,
		OnActivity:   activity.Touch,
		Logger:       log,
	})
	if err != nil {
		return err
	}

	srv := agent.New(cfg, agent.Deps{
		Terminals: terms,
		Collab:    hub,
		Tickets:   ticket.NewVerifier(pub),
		Activity:  activity,
		Logger:    log,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	log.Info("agent listening", "addr", ln.Addr().String(), "workspace", cfg.WorkspaceID, "dir", cfg.WorkspaceDir)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	startLifecycle(ctx, stop, cfg, log, func(preempted bool) domain.Heartbeat {
		return heartbeatOf(activity, terms, hub, preempted)
	})
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("agent stopping: saving terminals, closing sockets")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Stop accepting first (WebSockets are hijacked: Shutdown does not wait for them), then
	// save and close them with 4503 so clients know to come back.
	err = errors.Join(httpSrv.Shutdown(sctx), srv.Shutdown(sctx))
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("agent stopped")
	return nil
}

// startFileSync keeps the workspace disk and the control plane's files in step, both ways,
// with the agent token: changes on disk (a terminal `git checkout`, a build, a document the
// collab hub wrote) go to the file API, so the stored files and the search index follow the
// disk; files written through the API (the IDE's save) are written to the disk, so terminals
// see them. See filesync.Syncer for the rules.
func startFileSync(ctx context.Context, cfg config.Agent, log *slog.Logger) {
	// The agent's own state must never be synchronised: were it inside the workspace (as
	// with the defaults, WORKSPACE_DIR=. and AGENT_STATE_DIR=.vibecode/agent/…), every save of
	// the sync's state would be a change to sync.
	var skip []string
	if rel, err := filepath.Rel(cfg.WorkspaceDir, cfg.StateDir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		if rel == "." {
			log.Warn("file sync disabled: AGENT_STATE_DIR is the workspace directory")
			return
		}
		skip = append(skip, filepath.ToSlash(rel))
	}
	remote, err := filesync.NewHTTPRemote(filesync.HTTPRemoteOptions{BaseURL: cfg.ControlPlaneURL, WorkspaceID: cfg.WorkspaceID,
		AgentToken: cfg.Token})
	if err != nil {
		log.Warn("file sync disabled", "err", err)
		return
	}
	syncer, err := filesync.NewSyncer(filesync.SyncerOptions{Dir: cfg.WorkspaceDir, Remote: remote,
		StateFile: filepath.Join(cfg.StateDir, "filesync", "base.json"), PollInterval: cfg.FilePollInterval, SkipPaths: skip, Logger: log})
	if err != nil {
		log.Warn("file sync disabled", "err", err)
		return
	}
	// The watcher starts first, so no change made during the first synchronisation is missed.
	w, err := filesync.New(filesync.Options{Dir: cfg.WorkspaceDir, Reporter: syncer, AllDeletes: true, SkipPaths: skip, Logger: log})
	if err != nil {
		log.Warn("file sync disabled", "err", err)
		return
	}
	go func() {
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			log.Warn("file sync stopped", "err", err)
		}
	}()
	go func() { _ = syncer.Run(ctx) }()
	go func() {
		t0 := time.Now()
		select {
		case <-syncer.Ready():
			log.Info("file sync running", "control_plane", cfg.ControlPlaneURL, "poll", cfg.FilePollInterval.String(),
				"first_sync_ms", time.Since(t0).Milliseconds())
		case <-ctx.Done():
		}
	}()
}

// startLifecycle starts the agent's side of the lifecycle: heartbeats to the control plane
// when it gave a URL and token, and the spot interruption watcher on a spot cloud, which
// reports the preemption and then shuts the agent down like SIGTERM does (save, close 4503).
func startLifecycle(ctx context.Context, stop func(), cfg config.Agent, log *slog.Logger, report func(preempted bool) domain.Heartbeat) {
	var hb *agentclient.Client
	if cfg.ControlPlaneURL != "" && cfg.Token != "" {
		hb = agentclient.New(cfg.ControlPlaneURL, cfg.WorkspaceID, cfg.Token)
		go hb.Run(ctx, cfg.HeartbeatInterval, func() domain.Heartbeat { return report(false) }, nil,
			func(err error) { log.Warn("heartbeat failed", "err", err) })
		startFileSync(ctx, cfg, log)
	} else {
		log.Info("no control plane (AGENT_CONTROL_PLANE_URL, AGENT_TOKEN): no heartbeats, no file sync")
	}
	if cfg.Spot != "" {
		go func() {
			_ = spot.Run(ctx, spot.Options{Cloud: cfg.Spot}, func(n spot.Notice) {
				log.Warn("spot interruption notice: shutting down", "cloud", n.Cloud, "action", n.Action, "at", n.Time)
				if hb != nil {
					sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
					if _, err := hb.Send(sctx, report(true)); err != nil {
						log.Warn("reporting the preemption failed", "err", err)
					}
					cancel()
				}
				stop()
			})
		}()
	}
}

// heartbeatOf is what the agent reports: the last terminal input, output and collab edit,
// and its connected clients.
func heartbeatOf(a *agent.Activity, terms *terminal.Manager, hub *collab.Hub, preempted bool) domain.Heartbeat {
	snap := a.Snapshot()
	at := func(kind string) *time.Time {
		if t, ok := snap[kind]; ok {
			return &t
		}
		return nil
	}
	return domain.Heartbeat{
		LastInputAt: at(terminal.ActivityInput), LastOutputAt: at(terminal.ActivityOutput), LastEditAt: at(agent.ActivityCollab),
		TerminalClients: terms.Stats().Clients, CollabClients: hub.Stats().Clients, Preempted: preempted,
	}
}
