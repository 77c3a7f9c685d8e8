package lifecycle

import (
	"context"
	"sync"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// SweepReport says what one sweep did.
type SweepReport struct {
	// Due is how many records the candidate query returned.
	Due int `json:"due"`
	// Claimed is how many of them this sweep took (others changed meanwhile, e.g. a heartbeat
	// with activity arrived, or another sweeper was faster).
	Claimed int `json:"claimed"`
	// Stopped counts VMs stopped (or failed starts cleaned up); Failed the provider stops that
	// failed and will be retried; Refreshed the records that were not due after all and only
	// got a new deadline.
	Stopped   int `json:"stopped"`
	Failed    int `json:"failed"`
	Refreshed int `json:"refreshed"`
	// Reasons counts the stops by reason.
	Reasons map[string]int `json:"reasons"`
	// DBTime is the time spent in the store (one query and at most two batched writes);
	// DBMS is the same in milliseconds, for JSON.
	DBTime time.Duration `json:"-"`
	DBMS   float64       `json:"db_ms"`
}

// Sweep stops what is due: running workspaces idle past their timeout (30 min; 3 min once
// every client has gone; a keepalive pushes it out), running workspaces whose agent went
// silent, workspaces the agent reported preempted or whose workspace was deleted, starts and
// stops whose owner died, and failed starts whose instance could not be stopped. It finds
// them with one query (DueVMStates), claims them with one batched compare-and-set (so a
// heartbeat that arrives meanwhile wins and the workspace keeps running), stops the VMs in
// parallel, and records the outcomes with one more batch. It runs every minute: from the
// EventBridge schedule on AWS, Cloud Scheduler on GCP, a ticker on the local stack.
func (s *Service) Sweep(ctx context.Context) (SweepReport, error) {
	rep := SweepReport{Reasons: map[string]int{}}
	now := s.now()
	t0 := time.Now()
	due, err := s.store.DueVMStates(ctx, now, s.opts.SweepLimit)
	rep.DBTime += time.Since(t0)
	if err != nil {
		return rep, err
	}
	rep.Due = len(due)
	claims := make([]*domain.VMState, 0, len(due))
	stop := make([]bool, 0, len(due))
	for _, v := range due {
		next := *v
		doStop := true
		switch v.State {
		case domain.VMRunning:
			idleAt, reason := s.idleStop(v)
			switch lost := s.lostAt(v); {
			case !now.Before(idleAt):
				s.toStopping(&next, reason, now)
			case !now.Before(lost):
				s.toStopping(&next, domain.StopAgentLost, now)
			default:
				// Not due after all (the timeouts changed since the deadline was set): a
				// workspace with recent activity is never stopped.
				s.runningDeadline(&next)
				doStop = false
			}
		case domain.VMStarting:
			s.toStopping(&next, domain.StopStartTimeout, now)
		case domain.VMStopping, domain.VMFailed:
			// A stop to finish or retry, or a failed start's instance to stop.
		default: // stopped: nothing to do
			next.Deadline = nil
			doStop = false
		}
		if doStop {
			next.Deadline = tp(now.Add(s.opts.StopTimeout)) // ours until then
		}
		claims = append(claims, &next)
		stop = append(stop, doStop)
	}
	if len(claims) == 0 {
		return rep, nil
	}
	t0 = time.Now()
	applied, err := s.store.PutVMStates(ctx, claims)
	rep.DBTime += time.Since(t0)
	if err != nil {
		return rep, err
	}
	var work []*domain.VMState
	for i, v := range claims {
		switch {
		case !applied[i]:
		case stop[i]:
			rep.Claimed++
			work = append(work, v)
		default:
			rep.Claimed++
			rep.Refreshed++
		}
	}

	// Stop the VMs, SweepConcurrency at a time.
	errs := make([]error, len(work))
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.opts.SweepConcurrency)
	for i, v := range work {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.StopTimeout)
			defer cancel()
			errs[i] = s.provider.Stop(sctx, v.WorkspaceID, domain.VMInstance{ID: v.InstanceID, AgentURL: v.AgentURL})
		}()
	}
	wg.Wait()

	done := make([]*domain.VMState, 0, len(work))
	var deleted []*domain.VMState
	now = s.now()
	for i, v := range work {
		next := *v
		if errs[i] != nil {
			rep.Failed++
			s.log.ErrorContext(ctx, "sweeper could not stop a workspace VM; will retry", "workspace", v.WorkspaceID, "err", errs[i])
			next.Deadline = tp(now.Add(s.opts.StopTimeout))
			done = append(done, &next)
			continue
		}
		rep.Stopped++
		rep.Reasons[v.StopReason]++
		if v.StopReason == domain.StopDeleted {
			deleted = append(deleted, v)
			continue
		}
		s.markStopped(&next)
		done = append(done, &next)
		s.log.InfoContext(ctx, "workspace stopped by the sweeper", "workspace", v.WorkspaceID, "reason", v.StopReason)
	}
	t0 = time.Now()
	_, err = s.store.PutVMStates(ctx, done)
	for _, v := range deleted {
		if derr := s.store.DeleteVMState(ctx, v.WorkspaceID, v.Version); derr != nil && domain.ErrorCode(derr) != domain.ECONFLICT && err == nil {
			err = derr
		}
	}
	rep.DBTime += time.Since(t0)
	rep.DBMS = float64(rep.DBTime.Microseconds()) / 1000
	return rep, err
}
