package lifecycle

import (
	"context"
	"fmt"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// maxRetries bounds the compare-and-set retries of one call; each retry means another change
// came first, which only heartbeats do often.
const maxRetries = 10

// Stop stops the workspace's VM, recording reason (domain.StopUser from the API), and
// returns the status after it. Stopping a stopped workspace changes nothing. A stop during a
// start wins: the record moves to stopping, the VM is stopped, and the start answers a
// conflict. If the provider fails, the record stays stopping and the stop is retried by the
// sweeper; the caller gets EUNAVAILABLE.
func (s *Service) Stop(ctx context.Context, workspaceID, reason string) (*Status, error) {
	for range maxRetries {
		v, err := s.load(ctx, workspaceID)
		if err != nil {
			return nil, err
		}
		now := s.now()
		switch v.State {
		case domain.VMStopped, domain.VMFailed:
			return s.status(v), nil
		case domain.VMStopping:
			if v.Deadline != nil && !now.Before(*v.Deadline) {
				if err := s.recover(ctx, v); err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
					return nil, err
				}
				continue
			}
			return s.status(v), nil
		case domain.VMStarting, domain.VMRunning:
			next := *v
			next.State, next.Phase, next.StateChangedAt = domain.VMStopping, "", now
			next.StopReason, next.StopDetail = reason, s.reasonDetail(reason)
			next.Deadline = tp(now.Add(s.opts.StopTimeout))
			if err := s.store.PutVMState(ctx, &next); domain.ErrorCode(err) == domain.ECONFLICT {
				continue
			} else if err != nil {
				return nil, err
			}
			if err := s.doStop(ctx, &next); err != nil {
				return nil, err
			}
			return s.status(&next), nil
		default:
			return nil, fmt.Errorf("lifecycle: workspace %s has unknown state %q", workspaceID, v.State)
		}
	}
	return nil, domain.Errorf(domain.ECONFLICT, "the workspace's state keeps changing; try again")
}

// doStop stops a record's instance (the record is stopping, or failed with a cleanup due)
// and records the outcome: stopped (or failed, cleaned up), deleted for a deleted workspace,
// or a retry deadline when the provider failed.
func (s *Service) doStop(ctx context.Context, v *domain.VMState) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.StopTimeout)
	defer cancel()
	err := s.provider.Stop(sctx, v.WorkspaceID, domain.VMInstance{ID: v.InstanceID, AgentURL: v.AgentURL})
	if err != nil {
		s.log.ErrorContext(ctx, "stopping a workspace VM failed; will retry", "workspace", v.WorkspaceID, "err", err)
		next := *v
		next.Deadline = tp(s.now().Add(s.opts.StopTimeout))
		if perr := s.store.PutVMState(sctx, &next); perr == nil {
			*v = next
		}
		return domain.Errorf(domain.EUNAVAILABLE, "the VM could not be stopped yet (it is retried automatically): %v", err)
	}
	if v.StopReason == domain.StopDeleted {
		if err := s.store.DeleteVMState(sctx, v.WorkspaceID, v.Version); err != nil && domain.ErrorCode(err) != domain.ECONFLICT {
			return err
		}
		return nil
	}
	next := *v
	if err := s.finishStopped(sctx, &next, nil); err != nil {
		return err
	}
	*v = next
	s.log.InfoContext(ctx, "workspace stopped", "workspace", v.WorkspaceID, "reason", v.StopReason)
	return nil
}

// recover finishes a record whose deadline passed while starting or stopping (its owner
// died) or failed (its cleanup must be retried): it claims the record and stops the VM.
// ECONFLICT when someone else claimed it first.
func (s *Service) recover(ctx context.Context, v *domain.VMState) error {
	now := s.now()
	next := *v
	switch v.State {
	case domain.VMStarting:
		next.State, next.Phase, next.StateChangedAt = domain.VMStopping, "", now
		next.StopReason, next.StopDetail = domain.StopStartTimeout, s.reasonDetail(domain.StopStartTimeout)
	case domain.VMStopping, domain.VMFailed:
	default:
		return nil
	}
	next.Deadline = tp(now.Add(s.opts.StopTimeout))
	if err := s.store.PutVMState(ctx, &next); err != nil {
		return err
	}
	return s.doStop(ctx, &next)
}

// Keepalive holds a running workspace up for d from now, even without activity (long
// builds whose output the agent does not see). d must be positive and at most KeepaliveMax;
// a new keepalive replaces the previous one. The stop after it is recorded as
// keepalive_expired.
func (s *Service) Keepalive(ctx context.Context, workspaceID string, d time.Duration) (*Status, error) {
	if d <= 0 {
		return nil, domain.Errorf(domain.EINVALID, "keepalive duration must be positive")
	}
	if d > s.opts.KeepaliveMax {
		return nil, domain.Errorf(domain.EINVALID, "keepalive is capped at %s; asked for %s", s.opts.KeepaliveMax, d)
	}
	for range maxRetries {
		v, err := s.load(ctx, workspaceID)
		if err != nil {
			return nil, err
		}
		if v.State != domain.VMRunning {
			return nil, domain.Errorf(domain.ECONFLICT, "the workspace is %s; only a running workspace can be kept alive", v.State)
		}
		next := *v
		next.KeepaliveUntil = tp(s.now().Add(d))
		s.runningDeadline(&next)
		if err := s.store.PutVMState(ctx, &next); domain.ErrorCode(err) == domain.ECONFLICT {
			continue
		} else if err != nil {
			return nil, err
		}
		return s.status(&next), nil
	}
	return nil, domain.Errorf(domain.ECONFLICT, "the workspace's state keeps changing; try again")
}

// AuthenticateAgent checks that token is the agent token of the workspace's current start:
// EUNAUTHORIZED without a token, ENOTFOUND ("workspace not found", as for any workspace the
// caller may not see) with a wrong one or for a missing workspace.
func (s *Service) AuthenticateAgent(ctx context.Context, workspaceID, token string) error {
	if token == "" {
		return domain.Errorf(domain.EUNAUTHORIZED, "agent token required: send Authorization: Bearer <agent token>")
	}
	v, err := s.store.VMState(ctx, workspaceID)
	if domain.ErrorCode(err) == domain.ENOTFOUND || (err == nil && !tokenMatches(token, v.AgentTokenHash)) {
		return domain.Errorf(domain.ENOTFOUND, "workspace not found")
	}
	return err
}

// Heartbeat records an agent's report. token must be the agent token of the workspace's
// current start (see AuthenticateAgent). Activity times
// only move forward and never past now; a preempted report moves the workspace to stopping
// (the sweeper, or the next start, finishes the stop once the cloud has stopped the VM).
// Heartbeats of a starting workspace are answered but not recorded, so they cannot disturb
// the start's compare-and-set.
func (s *Service) Heartbeat(ctx context.Context, workspaceID, token string, hb domain.Heartbeat) (*HeartbeatReply, error) {
	if hb.TerminalClients < 0 || hb.CollabClients < 0 {
		return nil, domain.Errorf(domain.EINVALID, "client counts must not be negative")
	}
	for range maxRetries {
		if err := s.AuthenticateAgent(ctx, workspaceID, token); err != nil {
			return nil, err
		}
		v, err := s.store.VMState(ctx, workspaceID)
		if err != nil {
			return nil, err
		}
		if v.State != domain.VMRunning {
			return s.reply(v), nil
		}
		now := s.now()
		next := *v
		next.LastHeartbeatAt = tp(now)
		for _, t := range []*time.Time{hb.LastInputAt, hb.LastOutputAt, hb.LastEditAt} {
			if t == nil {
				continue
			}
			c := t.UTC().Truncate(time.Microsecond)
			if c.After(now) {
				c = now // a VM clock ahead of ours must not buy time
			}
			if next.LastActivityAt == nil || c.After(*next.LastActivityAt) {
				next.LastActivityAt = tp(c)
			}
		}
		next.Clients = hb.TerminalClients + hb.CollabClients
		if next.Clients > 0 {
			next.LastClientAt = tp(now)
		}
		switch _, err := s.store.WorkspaceByID(ctx, workspaceID); {
		case domain.ErrorCode(err) == domain.ENOTFOUND:
			s.toStopping(&next, domain.StopDeleted, now)
		case err != nil:
			return nil, err
		case hb.Preempted:
			s.toStopping(&next, domain.StopPreempted, now)
		default:
			s.runningDeadline(&next)
		}
		if err := s.store.PutVMState(ctx, &next); domain.ErrorCode(err) == domain.ECONFLICT {
			continue
		} else if err != nil {
			return nil, err
		}
		if next.State == domain.VMStopping {
			s.log.InfoContext(ctx, "workspace stopping on the agent's report", "workspace", workspaceID, "reason", next.StopReason)
		}
		return s.reply(&next), nil
	}
	return nil, domain.Errorf(domain.ECONFLICT, "the workspace's state keeps changing; try again")
}

// toStopping moves a running record to stopping with reason, due for the sweeper now.
func (s *Service) toStopping(v *domain.VMState, reason string, now time.Time) {
	v.State, v.Phase, v.StateChangedAt = domain.VMStopping, "", now
	v.StopReason, v.StopDetail = reason, s.reasonDetail(reason)
	v.Deadline = tp(now)
}

// reply is the heartbeat answer for a record.
func (s *Service) reply(v *domain.VMState) *HeartbeatReply {
	r := &HeartbeatReply{State: v.State, HeartbeatIntervalS: int(s.opts.HeartbeatInterval / time.Second)}
	now := s.now()
	switch v.State {
	case domain.VMRunning:
		at, reason := s.idleStop(v)
		r.StopAt = &at
		if at.Sub(now) <= s.opts.StopWarning {
			r.Warning, r.StopReason = true, reason
		}
	case domain.VMStarting:
	default:
		r.StopAt, r.Warning, r.StopReason = &now, true, v.StopReason
	}
	return r
}
