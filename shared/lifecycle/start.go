package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/ticket"
)

// errStoppedWhileStarting is returned to a start that a stop overtook.
var errStoppedWhileStarting = domain.Errorf(domain.ECONFLICT, "the workspace was stopped while it was starting; start it again")

// Start starts or resumes the workspace's VM and returns once its agent is healthy, with
// tickets for user. On a running workspace it only issues fresh tickets, so the IDE calls it
// whenever it needs them. A start already in flight (from any instance) is joined: this call
// waits for its outcome instead of starting a second VM. A start that fails answers
// EUNAVAILABLE with the reason, leaves the record failed and the provider's instance stopped.
func (s *Service) Start(ctx context.Context, ws *domain.Workspace, user *domain.User) (*StartResult, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout+s.opts.StopTimeout)
	defer cancel()
	for {
		v, err := s.load(ctx, ws.ID)
		if err != nil {
			return nil, err
		}
		now := s.now()
		switch v.State {
		case domain.VMRunning:
			if s.agentAlive(ctx, v, now) {
				return s.result(v, user, false, nil, 0)
			}
			// The record says running but the agent is gone (a local stack that restarted
			// killed it, a VM that died): stop what is left, then start afresh.
			next := *v
			s.toStopping(&next, domain.StopAgentLost, now)
			next.Deadline = tp(now.Add(s.opts.StopTimeout))
			if err := s.store.PutVMState(ctx, &next); domain.ErrorCode(err) == domain.ECONFLICT {
				continue
			} else if err != nil {
				return nil, err
			}
			if err := s.doStop(ctx, &next); err != nil {
				return nil, err
			}
		case domain.VMStarting, domain.VMStopping:
			if v.Deadline != nil && !now.Before(*v.Deadline) {
				// Its owner died or gave up: finish it the way the sweeper would, then go on.
				if err := s.recover(ctx, v); err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
					return nil, err
				}
				continue
			}
			if err := sleep(ctx, s.opts.PollInterval); err != nil {
				return nil, domain.Errorf(domain.EUNAVAILABLE, "the workspace is still %s; try again", v.State)
			}
		case domain.VMStopped, domain.VMFailed:
			token, hash := newAgentToken()
			next := *v
			next.State, next.Phase = domain.VMStarting, domain.PhaseProvisioning
			next.Provider, next.OwnerID = s.provider.Name(), ws.OwnerID
			next.AgentURL, next.AgentTokenHash = "", hash
			next.StateChangedAt, next.StartedAt = now, tp(now)
			next.StopReason, next.StopDetail = "", ""
			next.Clients, next.KeepaliveUntil = 0, nil
			// Only a start whose owner died outlives this: the owner gives up after
			// StartTimeout and cleans up within StopTimeout.
			next.Deadline = tp(now.Add(s.opts.StartTimeout + s.opts.StopTimeout))
			if err := s.store.PutVMState(ctx, &next); domain.ErrorCode(err) == domain.ECONFLICT {
				continue // someone else moved first: look again
			} else if err != nil {
				return nil, err
			}
			return s.run(ctx, &next, token, user)
		default:
			return nil, fmt.Errorf("lifecycle: workspace %s has unknown state %q", ws.ID, v.State)
		}
	}
}

// run performs a start this call has claimed: provisioning, booting, agent health, each
// recorded in the record's phase so status can show progress.
func (s *Service) run(ctx context.Context, v *domain.VMState, token string, user *domain.User) (*StartResult, error) {
	begin := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	var phases []Phase
	mark := func(name string, t0 time.Time) {
		phases = append(phases, Phase{Name: name, MS: time.Since(t0).Milliseconds()})
	}
	spec := domain.VMSpec{WorkspaceID: v.WorkspaceID, InstanceID: v.InstanceID, Agent: domain.AgentConfig{
		WorkspaceID: v.WorkspaceID, ControlPlaneURL: s.opts.ControlPlaneURL, Token: token,
		TicketPublicKey: s.pubKey, HeartbeatInterval: s.opts.HeartbeatInterval, AllowedOrigins: s.opts.AgentAllowedOrigins,
	}}

	t0 := time.Now()
	inst, err := s.provider.Start(ctx, spec)
	if err != nil {
		return nil, s.fail(ctx, v, inst, "provisioning", err)
	}
	mark(domain.PhaseProvisioning, t0)
	v.InstanceID, v.Phase = inst.ID, domain.PhaseBooting
	if err := s.store.PutVMState(ctx, v); err != nil {
		return nil, s.overtaken(ctx, v, inst, err)
	}

	t0 = time.Now()
	url, err := s.provider.WaitRunning(ctx, v.WorkspaceID, inst)
	if err != nil {
		return nil, s.fail(ctx, v, inst, "booting", err)
	}
	mark(domain.PhaseBooting, t0)
	inst.AgentURL = url
	v.AgentURL, v.Phase = url, domain.PhaseAgentReady
	if err := s.store.PutVMState(ctx, v); err != nil {
		return nil, s.overtaken(ctx, v, inst, err)
	}

	t0 = time.Now()
	if err := s.waitHealthy(ctx, url); err != nil {
		return nil, s.fail(ctx, v, inst, "waiting for the agent", err)
	}
	mark(domain.PhaseAgentReady, t0)
	now := s.now()
	v.State, v.Phase, v.StateChangedAt = domain.VMRunning, "", now
	v.LastActivityAt, v.LastClientAt, v.LastHeartbeatAt, v.Clients = tp(now), tp(now), tp(now), 0
	s.runningDeadline(v)
	if err := s.store.PutVMState(ctx, v); err != nil {
		return nil, s.overtaken(ctx, v, inst, err)
	}
	s.log.InfoContext(ctx, "workspace started", "workspace", v.WorkspaceID, "provider", v.Provider,
		"instance", v.InstanceID, "ms", time.Since(begin).Milliseconds())
	return s.result(v, user, true, phases, time.Since(begin).Milliseconds())
}

// result builds a start answer with fresh tickets.
func (s *Service) result(v *domain.VMState, user *domain.User, started bool, phases []Phase, total int64) (*StartResult, error) {
	ttl := s.opts.TicketTTL
	issue := func(capability string) (string, error) {
		return s.issuer.Issue(ticket.Claims{UserID: user.ID, WorkspaceID: v.WorkspaceID, Caps: []string{capability}, Name: user.Name}, ttl)
	}
	term, err := issue(ticket.CapTerminal)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	collab, err := issue(ticket.CapCollab)
	if err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	if phases == nil {
		phases = []Phase{}
	}
	return &StartResult{
		Status: *s.status(v), Started: started, AgentURL: v.AgentURL, Phases: phases, TotalMS: total,
		Tickets: Tickets{Terminal: term, Collab: collab, ExpiresAt: time.Now().Add(ttl).UTC().Truncate(time.Second)},
	}, nil
}

// agentAlive reports whether a running record's agent is alive: it sent a heartbeat within
// two intervals, or it answers /healthz now (one try, 2 s at most).
func (s *Service) agentAlive(ctx context.Context, v *domain.VMState, now time.Time) bool {
	if v.LastHeartbeatAt != nil && now.Sub(*v.LastHeartbeatAt) <= 2*s.opts.HeartbeatInterval {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(v.AgentURL, "/")+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := s.opts.HTTPClient.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// waitHealthy polls GET {url}/healthz until it answers 200, backing off from 5 ms to 250 ms.
func (s *Service) waitHealthy(ctx context.Context, url string) error {
	wait := 5 * time.Millisecond
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/healthz", nil)
		if err != nil {
			return fmt.Errorf("health check: %w", err)
		}
		resp, err := s.opts.HTTPClient.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("GET /healthz answered %s", resp.Status)
		} else {
			last = err
		}
		if err := sleep(ctx, wait); err != nil {
			if last == nil {
				last = err
			}
			return fmt.Errorf("agent not healthy after %s: %w", s.opts.StartTimeout, last)
		}
		wait = min(wait*3/2+time.Millisecond, 250*time.Millisecond)
	}
}

// fail records a failed start: it stops the instance (nothing may run unaccounted), marks the
// record failed with the reason, and returns the error the caller sees.
func (s *Service) fail(ctx context.Context, v *domain.VMState, inst domain.VMInstance, step string, cause error) error {
	detail := fmt.Sprintf("%s failed: %v", step, cause)
	if errors.Is(cause, context.DeadlineExceeded) {
		detail = fmt.Sprintf("%s did not finish within the start timeout (%s): %v", step, s.opts.StartTimeout, cause)
	}
	s.log.WarnContext(ctx, "workspace start failed", "workspace", v.WorkspaceID, "step", step, "err", cause)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.StopTimeout)
	defer cancel()
	stopErr := s.provider.Stop(sctx, v.WorkspaceID, inst)
	for range 5 {
		now := s.now()
		next := *v
		next.State, next.Phase, next.StateChangedAt = domain.VMFailed, "", now
		next.StopReason, next.StopDetail, next.StoppedAt = domain.StopFailed, detail, tp(now)
		next.AgentURL, next.Deadline = "", nil
		if stopErr != nil {
			// The instance may still run: the sweeper retries the stop.
			next.Deadline = tp(now.Add(s.opts.StopTimeout))
			s.log.ErrorContext(ctx, "stopping a failed start's instance failed", "workspace", v.WorkspaceID, "err", stopErr)
		}
		err := s.store.PutVMState(sctx, &next)
		if err == nil {
			*v = next
			return domain.Errorf(domain.EUNAVAILABLE, "the workspace failed to start: %s", detail)
		}
		if domain.ErrorCode(err) != domain.ECONFLICT {
			return err
		}
		// A stop overtook the start: the instance is stopped (or being retried); finish it.
		cur, lerr := s.load(sctx, v.WorkspaceID)
		if lerr != nil {
			return lerr
		}
		if cur.State == domain.VMStopping && stopErr == nil {
			return s.finishStopped(sctx, cur, errStoppedWhileStarting)
		}
		if cur.State != domain.VMStarting || cur.AgentTokenHash != v.AgentTokenHash {
			return errStoppedWhileStarting // another start or stop owns the record now
		}
		*v = *cur
	}
	return domain.Errorf(domain.EUNAVAILABLE, "the workspace failed to start: %s", detail)
}

// overtaken handles a compare-and-set that failed during a start: if another change came
// first (a stop, or a sweeper that gave up on this start), the instance this start created is
// stopped so it cannot run unaccounted.
func (s *Service) overtaken(ctx context.Context, v *domain.VMState, inst domain.VMInstance, err error) error {
	if domain.ErrorCode(err) != domain.ECONFLICT {
		return s.fail(ctx, v, inst, "recording the start", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.StopTimeout)
	defer cancel()
	stopErr := s.provider.Stop(sctx, v.WorkspaceID, inst)
	cur, lerr := s.load(sctx, v.WorkspaceID)
	if lerr != nil {
		return lerr
	}
	if cur.State == domain.VMStopping && stopErr == nil {
		if cur.InstanceID == "" {
			cur.InstanceID = inst.ID
		}
		return s.finishStopped(sctx, cur, errStoppedWhileStarting)
	}
	if stopErr != nil {
		s.log.ErrorContext(ctx, "stopping an overtaken start's instance failed; the sweeper retries",
			"workspace", v.WorkspaceID, "err", stopErr)
	}
	return errStoppedWhileStarting
}

// finishStopped moves a stopping record to stopped after its instance was stopped, and
// returns ret (or the store's error).
func (s *Service) finishStopped(ctx context.Context, v *domain.VMState, ret error) error {
	s.markStopped(v)
	if err := s.store.PutVMState(ctx, v); err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
		return err
	}
	return ret
}

// markStopped turns a stopping record into the stopped one (the reason stays).
func (s *Service) markStopped(v *domain.VMState) {
	now := s.now()
	v.State, v.Phase, v.StateChangedAt, v.StoppedAt = domain.VMStopped, "", now, tp(now)
	// The agent token stays valid so a lingering agent learns from its heartbeat that it is
	// stopped; the next start replaces it.
	v.AgentURL, v.Deadline, v.Clients, v.KeepaliveUntil = "", nil, 0, nil
	if v.StopReason == domain.StopFailed {
		v.State = domain.VMFailed
	}
}
