package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

const vmColumns = `workspace_id, state, version, phase, provider, instance_id, agent_url, agent_token_hash, owner_id,
	state_changed_at, started_at, last_activity_at, last_heartbeat_at, last_client_at, clients, keepalive_until,
	stop_reason, stop_detail, stopped_at, deadline`

func scanVMState(row interface{ Scan(...any) error }) (*domain.VMState, error) {
	s := &domain.VMState{}
	err := row.Scan(&s.WorkspaceID, &s.State, &s.Version, &s.Phase, &s.Provider, &s.InstanceID, &s.AgentURL,
		&s.AgentTokenHash, &s.OwnerID, timeCol{&s.StateChangedAt}, nullTimeCol{&s.StartedAt},
		nullTimeCol{&s.LastActivityAt}, nullTimeCol{&s.LastHeartbeatAt}, nullTimeCol{&s.LastClientAt}, &s.Clients,
		nullTimeCol{&s.KeepaliveUntil}, &s.StopReason, &s.StopDetail, nullTimeCol{&s.StoppedAt}, nullTimeCol{&s.Deadline})
	return s, err
}

// vmArgs returns s's columns after workspace_id, state and version, in vmColumns order.
func vmArgs(s *domain.VMState) []any {
	return []any{s.Phase, s.Provider, s.InstanceID, s.AgentURL, s.AgentTokenHash, s.OwnerID,
		ts(s.StateChangedAt), nullTS(s.StartedAt), nullTS(s.LastActivityAt), nullTS(s.LastHeartbeatAt),
		nullTS(s.LastClientAt), s.Clients, nullTS(s.KeepaliveUntil), s.StopReason, s.StopDetail,
		nullTS(s.StoppedAt), nullTS(s.Deadline)}
}

const (
	vmInsert = `INSERT INTO workspace_vms (` + vmColumns + `)
		VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id) DO NOTHING`
	vmUpdate = `UPDATE workspace_vms SET state = ?, version = version + 1, phase = ?, provider = ?, instance_id = ?,
		agent_url = ?, agent_token_hash = ?, owner_id = ?, state_changed_at = ?, started_at = ?,
		last_activity_at = ?, last_heartbeat_at = ?, last_client_at = ?, clients = ?, keepalive_until = ?,
		stop_reason = ?, stop_detail = ?, stopped_at = ?, deadline = ?
		WHERE workspace_id = ? AND version = ?`
)

// VMState returns the workspace's VM record, or ENOTFOUND when it has none.
func (s *Store) VMState(ctx context.Context, workspaceID string) (*domain.VMState, error) {
	v, err := scanVMState(s.rdb.QueryRowContext(ctx, `SELECT `+vmColumns+` FROM workspace_vms WHERE workspace_id = ?`, workspaceID))
	if err != nil {
		return nil, dbErr("vm state", "VM state", err)
	}
	return v, nil
}

// putVM applies one compare-and-set with the given statements and reports whether it applied.
func putVM(ctx context.Context, ins, upd *sql.Stmt, v *domain.VMState) (bool, error) {
	if !domain.ValidVMState(v.State) {
		return false, domain.Errorf(domain.EINVALID, "unknown VM state %q", v.State)
	}
	var res sql.Result
	var err error
	if v.Version == 0 {
		res, err = ins.ExecContext(ctx, append([]any{v.WorkspaceID, v.State}, vmArgs(v)...)...)
	} else {
		res, err = upd.ExecContext(ctx, append(append([]any{v.State}, vmArgs(v)...), v.WorkspaceID, v.Version)...)
	}
	if err != nil {
		return false, dbErr("put vm state", "VM state", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: put vm state: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	v.Version++
	return true, nil
}

// PutVMState stores v if the stored version is still v.Version; ECONFLICT otherwise.
func (s *Store) PutVMState(ctx context.Context, v *domain.VMState) error {
	applied, err := s.PutVMStates(ctx, []*domain.VMState{v})
	if err != nil {
		return err
	}
	if !applied[0] {
		return domain.Errorf(domain.ECONFLICT, "the workspace's VM state changed meanwhile")
	}
	return nil
}

// PutVMStates applies each compare-and-set in one write transaction, with the two statements
// prepared once, so a sweep that stops thousands of VMs costs one commit.
func (s *Store) PutVMStates(ctx context.Context, states []*domain.VMState) ([]bool, error) {
	applied := make([]bool, len(states))
	if len(states) == 0 {
		return applied, nil
	}
	err := s.write(ctx, "put vm states", func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, vmInsert)
		if err != nil {
			return fmt.Errorf("sqlite: put vm states: %w", err)
		}
		defer ins.Close()
		upd, err := tx.PrepareContext(ctx, vmUpdate)
		if err != nil {
			return fmt.Errorf("sqlite: put vm states: %w", err)
		}
		defer upd.Close()
		for i, v := range states {
			if applied[i], err = putVM(ctx, ins, upd, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// The transaction rolled back: nothing was applied, so no version may stay incremented.
		for i, ok := range applied {
			if ok {
				states[i].Version--
			}
		}
		return nil, err
	}
	return applied, nil
}

// DueVMStates returns up to limit records whose deadline is at or before now, earliest first.
func (s *Store) DueVMStates(ctx context.Context, now time.Time, limit int) ([]*domain.VMState, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+vmColumns+` FROM workspace_vms
		WHERE deadline IS NOT NULL AND deadline <= ? ORDER BY deadline, workspace_id LIMIT ?`, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due vm states: %w", err)
	}
	return collect(rows, "due vm states", scanVMState)
}

// DeleteVMState removes the record if its version is still version.
func (s *Store) DeleteVMState(ctx context.Context, workspaceID string, version int64) error {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM workspace_vms WHERE workspace_id = ? AND version = ?`, workspaceID, version)
	if err != nil {
		return dbErr("delete vm state", "VM state", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete vm state: %w", err)
	} else if n == 0 {
		return domain.Errorf(domain.ECONFLICT, "the workspace's VM state changed meanwhile")
	}
	return nil
}
