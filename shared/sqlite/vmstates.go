package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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
)

// VMState returns the workspace's VM record, or ENOTFOUND when it has none.
func (s *Store) VMState(ctx context.Context, workspaceID string) (*domain.VMState, error) {
	v, err := scanVMState(s.rdb.QueryRowContext(ctx, `SELECT `+vmColumns+` FROM workspace_vms WHERE workspace_id = ?`, workspaceID))
	if err != nil {
		return nil, dbErr("vm state", "VM state", err)
	}
	return v, nil
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

// vmBatchRows is how many records one batched update carries (20 parameters each, under
// SQLite's limit of 32766 parameters per statement).
const vmBatchRows = 1000

// vmBatchUpdate returns the statement that applies n compare-and-sets at once: the new
// records are a VALUES list joined to the table by primary key, so a sweep that stops
// thousands of VMs runs a handful of statements, not thousands.
func vmBatchUpdate(n int) string {
	var b strings.Builder
	b.WriteString(`WITH c (workspace_id, version, state, phase, provider, instance_id, agent_url, agent_token_hash,
		owner_id, state_changed_at, started_at, last_activity_at, last_heartbeat_at, last_client_at, clients,
		keepalive_until, stop_reason, stop_detail, stopped_at, deadline) AS (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(`)
	UPDATE workspace_vms AS v SET state = c.state, version = v.version + 1, phase = c.phase,
		provider = c.provider, instance_id = c.instance_id, agent_url = c.agent_url,
		agent_token_hash = c.agent_token_hash, owner_id = c.owner_id, state_changed_at = c.state_changed_at,
		started_at = c.started_at, last_activity_at = c.last_activity_at, last_heartbeat_at = c.last_heartbeat_at,
		last_client_at = c.last_client_at, clients = c.clients, keepalive_until = c.keepalive_until,
		stop_reason = c.stop_reason, stop_detail = c.stop_detail, stopped_at = c.stopped_at, deadline = c.deadline
	FROM c WHERE v.workspace_id = c.workspace_id AND v.version = c.version
	RETURNING workspace_id`)
	return b.String()
}

// PutVMStates applies each compare-and-set in one write transaction: new records one by one
// (they are rare in a batch), updates all in one statement.
func (s *Store) PutVMStates(ctx context.Context, states []*domain.VMState) ([]bool, error) {
	applied := make([]bool, len(states))
	if len(states) == 0 {
		return applied, nil
	}
	for _, v := range states {
		if !domain.ValidVMState(v.State) {
			return nil, domain.Errorf(domain.EINVALID, "unknown VM state %q", v.State)
		}
	}
	var rows [][]any
	byID := map[string]int{}
	for i, v := range states {
		if v.Version != 0 {
			rows = append(rows, append([]any{v.WorkspaceID, v.Version, v.State}, vmArgs(v)...))
			byID[v.WorkspaceID] = i
		}
	}
	err := s.write(ctx, "put vm states", func(tx *sql.Tx) error {
		if len(rows) < len(states) {
			ins, err := tx.PrepareContext(ctx, vmInsert)
			if err != nil {
				return fmt.Errorf("sqlite: put vm states: %w", err)
			}
			defer ins.Close()
			for i, v := range states {
				if v.Version != 0 {
					continue
				}
				res, err := ins.ExecContext(ctx, append([]any{v.WorkspaceID, v.State}, vmArgs(v)...)...)
				if err != nil {
					return dbErr("put vm state", "VM state", err)
				}
				n, err := res.RowsAffected()
				if err != nil {
					return fmt.Errorf("sqlite: put vm states: %w", err)
				}
				applied[i] = n > 0
			}
		}
		if len(rows) == 0 {
			return nil
		}
		// Full chunks share one prepared statement: parsing a thousand-row VALUES list
		// costs as much as running it.
		stmts := map[int]*sql.Stmt{}
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		for len(rows) > 0 {
			chunk := rows[:min(len(rows), vmBatchRows)]
			rows = rows[len(chunk):]
			args := make([]any, 0, len(chunk)*20)
			for _, r := range chunk {
				args = append(args, r...)
			}
			st := stmts[len(chunk)]
			if st == nil {
				var err error
				if st, err = tx.PrepareContext(ctx, vmBatchUpdate(len(chunk))); err != nil {
					return fmt.Errorf("sqlite: put vm states: %w", err)
				}
				stmts[len(chunk)] = st
			}
			res, err := st.QueryContext(ctx, args...)
			if err != nil {
				return dbErr("put vm states", "VM state", err)
			}
			for res.Next() {
				var id string
				if err := res.Scan(&id); err != nil {
					res.Close()
					return fmt.Errorf("sqlite: put vm states: %w", err)
				}
				applied[byID[id]] = true
			}
			if err := res.Err(); err != nil {
				res.Close()
				return dbErr("put vm states", "VM state", err)
			}
			if err := res.Close(); err != nil {
				return fmt.Errorf("sqlite: put vm states: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, ok := range applied {
		if ok {
			states[i].Version++
		}
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
