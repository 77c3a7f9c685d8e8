package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// lifecycleTests are the parts of the suite about workspace VM states.
var lifecycleTests = []test{
	{"VMStates", testVMStates},
	{"VMStateCompareAndSet", testVMStateCAS},
	{"VMStatesBatch", testVMStatesBatch},
	{"DueVMStates", testDueVMStates},
}

func tp(t time.Time) *time.Time { return &t }

// fullVMState returns a record with every field set, so a round trip checks each column.
func fullVMState(wsID string) *domain.VMState {
	return &domain.VMState{
		WorkspaceID: wsID, State: domain.VMRunning, Phase: domain.PhaseAgentReady, Provider: "local",
		InstanceID: "i-123", AgentURL: "http://127.0.0.1:7070", AgentTokenHash: "abc", OwnerID: "owner",
		StateChangedAt: at(1), StartedAt: tp(at(2)), LastActivityAt: tp(at(3)), LastHeartbeatAt: tp(at(4)),
		LastClientAt: tp(at(5)), Clients: 3, KeepaliveUntil: tp(at(6)), StopReason: domain.StopIdle,
		StopDetail: "idle for 30m", StoppedAt: tp(at(7)), Deadline: tp(at(8)),
	}
}

func wantVMState(t *testing.T, got, want *domain.VMState) {
	t.Helper()
	g, w := *got, *want
	times := func(s *domain.VMState) []*time.Time {
		return []*time.Time{s.StartedAt, s.LastActivityAt, s.LastHeartbeatAt, s.LastClientAt, s.KeepaliveUntil, s.StoppedAt, s.Deadline}
	}
	gt, wt := times(&g), times(&w)
	for i := range gt {
		switch {
		case (gt[i] == nil) != (wt[i] == nil):
			t.Fatalf("time field %d = %v, want %v", i, gt[i], wt[i])
		case gt[i] != nil && (!gt[i].Equal(*wt[i]) || gt[i].Location() != time.UTC):
			t.Fatalf("time field %d = %v, want %v in UTC", i, gt[i], wt[i])
		}
	}
	if !g.StateChangedAt.Equal(w.StateChangedAt) || g.StateChangedAt.Location() != time.UTC {
		t.Fatalf("StateChangedAt = %v, want %v in UTC", g.StateChangedAt, w.StateChangedAt)
	}
	g.StartedAt, g.LastActivityAt, g.LastHeartbeatAt, g.LastClientAt, g.KeepaliveUntil, g.StoppedAt, g.Deadline = nil, nil, nil, nil, nil, nil, nil
	w.StartedAt, w.LastActivityAt, w.LastHeartbeatAt, w.LastClientAt, w.KeepaliveUntil, w.StoppedAt, w.Deadline = nil, nil, nil, nil, nil, nil, nil
	g.StateChangedAt, w.StateChangedAt = time.Time{}, time.Time{}
	if g != w {
		t.Fatalf("VMState = %+v, want %+v", g, w)
	}
}

// testVMStates checks the round trip of every field, versions, nil times and deletes.
func testVMStates(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "vm@example.com")
	w := mkWorkspace(t, s, u, "w")

	_, err := s.VMState(ctx, w.ID)
	wantCode(t, err, domain.ENOTFOUND)

	v := fullVMState(w.ID)
	must(t, s.PutVMState(ctx, v))
	if v.Version != 1 {
		t.Fatalf("Version after insert = %d, want 1", v.Version)
	}
	got, err := s.VMState(ctx, w.ID)
	must(t, err)
	wantVMState(t, got, v)

	// Clearing optional fields stores NULLs and empty strings.
	next := &domain.VMState{WorkspaceID: w.ID, State: domain.VMStopped, Version: got.Version, StateChangedAt: at(9)}
	must(t, s.PutVMState(ctx, next))
	if next.Version != 2 {
		t.Fatalf("Version after update = %d, want 2", next.Version)
	}
	got, err = s.VMState(ctx, w.ID)
	must(t, err)
	wantVMState(t, got, next)

	// An unknown state is refused and changes nothing.
	bad := *got
	bad.State = "hibernating"
	wantCode(t, s.PutVMState(ctx, &bad), domain.EINVALID)
	if bad.Version != got.Version {
		t.Fatalf("Version after a refused put = %d, want %d", bad.Version, got.Version)
	}
	_, err = s.PutVMStates(ctx, []*domain.VMState{&bad})
	wantCode(t, err, domain.EINVALID)

	// Delete is a compare-and-set too.
	wantCode(t, s.DeleteVMState(ctx, w.ID, 1), domain.ECONFLICT)
	must(t, s.DeleteVMState(ctx, w.ID, 2))
	_, err = s.VMState(ctx, w.ID)
	wantCode(t, err, domain.ENOTFOUND)
	wantCode(t, s.DeleteVMState(ctx, w.ID, 2), domain.ECONFLICT)

	// The record outlives its workspace (the sweeper must still stop a VM that runs).
	must(t, s.PutVMState(ctx, &domain.VMState{WorkspaceID: w.ID, State: domain.VMRunning, StateChangedAt: now}))
	must(t, s.DeleteWorkspace(ctx, w.ID))
	got, err = s.VMState(ctx, w.ID)
	must(t, err)
	if got.State != domain.VMRunning {
		t.Fatalf("state after the workspace was deleted = %q", got.State)
	}
}

// testVMStateCAS checks that of many concurrent writers from one version exactly one wins,
// both for the first insert and for updates.
func testVMStateCAS(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "cas@example.com")
	w := mkWorkspace(t, s, u, "w")
	for round, version := range []int64{0, 1} {
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := &domain.VMState{WorkspaceID: w.ID, State: domain.VMStarting, Version: version,
					StateChangedAt: now, InstanceID: fmt.Sprint(i)}
				errs[i] = s.PutVMState(ctx, v)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch domain.ErrorCode(err) {
			case "":
				won++
			case domain.ECONFLICT:
			default:
				t.Fatalf("round %d: PutVMState: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d writers won from version %d, want exactly 1", round, won, version)
		}
		got, err := s.VMState(ctx, w.ID)
		must(t, err)
		if got.Version != version+1 {
			t.Fatalf("round %d: version = %d, want %d", round, got.Version, version+1)
		}
	}
	// A stale version conflicts.
	wantCode(t, s.PutVMState(ctx, &domain.VMState{WorkspaceID: w.ID, State: domain.VMRunning, Version: 1, StateChangedAt: now}), domain.ECONFLICT)
	wantCode(t, s.PutVMState(ctx, &domain.VMState{WorkspaceID: w.ID, State: domain.VMRunning, Version: 0, StateChangedAt: now}), domain.ECONFLICT)
}

// testVMStatesBatch checks that a batch applies what matches and reports the rest.
func testVMStatesBatch(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "batch@example.com")
	var states []*domain.VMState
	for i := range 5 {
		w := mkWorkspace(t, s, u, fmt.Sprint("w", i))
		states = append(states, &domain.VMState{WorkspaceID: w.ID, State: domain.VMRunning, StateChangedAt: now})
	}
	applied, err := s.PutVMStates(ctx, states)
	must(t, err)
	for i, ok := range applied {
		if !ok || states[i].Version != 1 {
			t.Fatalf("insert %d: applied %v, version %d", i, ok, states[i].Version)
		}
	}
	// Move record 2 on behind the batch's back: its update must not apply.
	moved := *states[2]
	must(t, s.PutVMState(ctx, &moved))
	for _, v := range states {
		v.State, v.StopReason = domain.VMStopping, domain.StopIdle
	}
	applied, err = s.PutVMStates(ctx, states)
	must(t, err)
	for i, ok := range applied {
		if ok != (i != 2) {
			t.Fatalf("update %d applied = %v", i, ok)
		}
		wantV := int64(2)
		if i == 2 {
			wantV = 1 // unchanged: it did not apply
		}
		if states[i].Version != wantV {
			t.Fatalf("update %d: version %d, want %d", i, states[i].Version, wantV)
		}
		got, err := s.VMState(ctx, states[i].WorkspaceID)
		must(t, err)
		if (got.State == domain.VMStopping) != (i != 2) {
			t.Fatalf("record %d state = %q", i, got.State)
		}
	}
	if applied, err := s.PutVMStates(ctx, nil); err != nil || len(applied) != 0 {
		t.Fatalf("empty batch: %v, %v", applied, err)
	}
}

// testDueVMStates checks the sweeper's query: deadline at or before now, earliest first,
// limited, records without a deadline never.
func testDueVMStates(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "due@example.com")
	deadlines := []*time.Time{tp(at(30)), nil, tp(at(10)), tp(at(20)), tp(at(40))}
	ids := make([]string, len(deadlines))
	for i, d := range deadlines {
		w := mkWorkspace(t, s, u, fmt.Sprint("w", i))
		ids[i] = w.ID
		must(t, s.PutVMState(ctx, &domain.VMState{WorkspaceID: w.ID, State: domain.VMRunning, StateChangedAt: now, Deadline: d}))
	}
	due, err := s.DueVMStates(ctx, at(30), 100)
	must(t, err)
	if len(due) != 3 || due[0].WorkspaceID != ids[2] || due[1].WorkspaceID != ids[3] || due[2].WorkspaceID != ids[0] {
		t.Fatalf("due at 30s: %d records", len(due))
	}
	due, err = s.DueVMStates(ctx, at(30), 2)
	must(t, err)
	if len(due) != 2 || due[0].WorkspaceID != ids[2] {
		t.Fatalf("due with limit 2: %d records", len(due))
	}
	due, err = s.DueVMStates(ctx, at(9), 100)
	must(t, err)
	if due == nil || len(due) != 0 {
		t.Fatalf("due at 9s = %v, want an empty slice", due)
	}
}
