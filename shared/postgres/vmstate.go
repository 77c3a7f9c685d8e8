package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vibecode/vibecode/shared/domain"
)

const vmColumns = `workspace_id, state, version, phase, provider, instance_id, agent_url, agent_token_hash, owner_id,
	state_changed_at, started_at, last_activity_at, last_heartbeat_at, last_client_at, clients, keepalive_until,
	stop_reason, stop_detail, stopped_at, deadline`

func scanVMState(row pgx.Row) (*domain.VMState, error) {
	var s domain.VMState
	err := row.Scan(&s.WorkspaceID, &s.State, &s.Version, &s.Phase, &s.Provider, &s.InstanceID, &s.AgentURL,
		&s.AgentTokenHash, &s.OwnerID, &s.StateChangedAt, &s.StartedAt, &s.LastActivityAt, &s.LastHeartbeatAt,
		&s.LastClientAt, &s.Clients, &s.KeepaliveUntil, &s.StopReason, &s.StopDetail, &s.StoppedAt, &s.Deadline)
	if err != nil {
		return nil, err
	}
	s.StateChangedAt = s.StateChangedAt.UTC()
	for _, p := range []**time.Time{&s.StartedAt, &s.LastActivityAt, &s.LastHeartbeatAt, &s.LastClientAt,
		&s.KeepaliveUntil, &s.StoppedAt, &s.Deadline} {
		*p = utcPtr(*p)
	}
	return &s, nil
}

// vmArgs returns s's columns after workspace_id, state and version, in vmColumns order.
func vmArgs(s *domain.VMState) []any {
	return []any{s.Phase, s.Provider, s.InstanceID, s.AgentURL, s.AgentTokenHash, s.OwnerID,
		s.StateChangedAt, s.StartedAt, s.LastActivityAt, s.LastHeartbeatAt, s.LastClientAt, s.Clients,
		s.KeepaliveUntil, s.StopReason, s.StopDetail, s.StoppedAt, s.Deadline}
}

const (
	vmInsert = `INSERT INTO workspace_vms (` + vmColumns + `)
		VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		ON CONFLICT (workspace_id) DO NOTHING`
	vmUpdate = `UPDATE workspace_vms SET state = $1, version = version + 1, phase = $2, provider = $3,
		instance_id = $4, agent_url = $5, agent_token_hash = $6, owner_id = $7, state_changed_at = $8,
		started_at = $9, last_activity_at = $10, last_heartbeat_at = $11, last_client_at = $12, clients = $13,
		keepalive_until = $14, stop_reason = $15, stop_detail = $16, stopped_at = $17, deadline = $18
		WHERE workspace_id = $19 AND version = $20`
)

// VMState returns the workspace's VM record, or ENOTFOUND when it has none.
func (s *Store) VMState(ctx context.Context, workspaceID string) (*domain.VMState, error) {
	v, err := scanVMState(s.pool.QueryRow(ctx, `SELECT `+vmColumns+` FROM workspace_vms WHERE workspace_id = $1`, workspaceID))
	return v, wrapErr(err, "vm state", "VM state")
}

// PutVMState stores v if the stored version is still v.Version; ECONFLICT otherwise.
func (s *Store) PutVMState(ctx context.Context, v *domain.VMState) error {
	if !domain.ValidVMState(v.State) {
		return domain.Errorf(domain.EINVALID, "unknown VM state %q", v.State)
	}
	var tag pgconn.CommandTag
	var err error
	if v.Version == 0 {
		tag, err = s.pool.Exec(ctx, vmInsert, append([]any{v.WorkspaceID, v.State}, vmArgs(v)...)...)
	} else {
		tag, err = s.pool.Exec(ctx, vmUpdate, append(append([]any{v.State}, vmArgs(v)...), v.WorkspaceID, v.Version)...)
	}
	if err != nil {
		return wrapErr(err, "put vm state", "VM state")
	}
	if tag.RowsAffected() == 0 {
		return domain.Errorf(domain.ECONFLICT, "the workspace's VM state changed meanwhile")
	}
	v.Version++
	return nil
}

// vmBatchUpdate applies many compare-and-sets in one statement over parallel arrays.
const vmBatchUpdate = `UPDATE workspace_vms v SET state = c.state, version = v.version + 1, phase = c.phase,
		provider = c.provider, instance_id = c.instance_id, agent_url = c.agent_url,
		agent_token_hash = c.agent_token_hash, owner_id = c.owner_id, state_changed_at = c.state_changed_at,
		started_at = c.started_at, last_activity_at = c.last_activity_at, last_heartbeat_at = c.last_heartbeat_at,
		last_client_at = c.last_client_at, clients = c.clients, keepalive_until = c.keepalive_until,
		stop_reason = c.stop_reason, stop_detail = c.stop_detail, stopped_at = c.stopped_at, deadline = c.deadline
	FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::text[], $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[],
		$14::timestamptz[], $15::integer[], $16::timestamptz[], $17::text[], $18::text[], $19::timestamptz[],
		$20::timestamptz[])
		AS c(workspace_id, version, state, phase, provider, instance_id, agent_url, agent_token_hash, owner_id,
		state_changed_at, started_at, last_activity_at, last_heartbeat_at, last_client_at, clients,
		keepalive_until, stop_reason, stop_detail, stopped_at, deadline)
	WHERE v.workspace_id = c.workspace_id AND v.version = c.version
	RETURNING v.workspace_id`

// PutVMStates applies each compare-and-set in one transaction: new records one by one (they
// are rare in a batch), updates all in one statement, so a sweep that stops thousands of VMs
// costs one round trip.
func (s *Store) PutVMStates(ctx context.Context, states []*domain.VMState) ([]bool, error) {
	for _, v := range states {
		if !domain.ValidVMState(v.State) {
			return nil, domain.Errorf(domain.EINVALID, "unknown VM state %q", v.State)
		}
	}
	applied := make([]bool, len(states))
	if len(states) == 0 {
		return applied, nil
	}
	var (
		ids, stateCol, phase, provider, instance, agentURL, tokenHash, owner, reason, detail []string
		versions                                                                             []int64
		clients                                                                              []int32
		changed                                                                              []time.Time
		started, activity, heartbeat, client, keepalive, stopped, deadline                   []*time.Time
	)
	byID := map[string]int{}
	for i, v := range states {
		if v.Version == 0 {
			continue
		}
		byID[v.WorkspaceID] = i
		ids, versions, stateCol = append(ids, v.WorkspaceID), append(versions, v.Version), append(stateCol, v.State)
		phase, provider, instance = append(phase, v.Phase), append(provider, v.Provider), append(instance, v.InstanceID)
		agentURL, tokenHash, owner = append(agentURL, v.AgentURL), append(tokenHash, v.AgentTokenHash), append(owner, v.OwnerID)
		changed, started, activity = append(changed, v.StateChangedAt), append(started, v.StartedAt), append(activity, v.LastActivityAt)
		heartbeat, client, clients = append(heartbeat, v.LastHeartbeatAt), append(client, v.LastClientAt), append(clients, int32(v.Clients))
		keepalive, reason, detail = append(keepalive, v.KeepaliveUntil), append(reason, v.StopReason), append(detail, v.StopDetail)
		stopped, deadline = append(stopped, v.StoppedAt), append(deadline, v.Deadline)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for i, v := range states {
			if v.Version != 0 {
				continue
			}
			tag, err := tx.Exec(ctx, vmInsert, append([]any{v.WorkspaceID, v.State}, vmArgs(v)...)...)
			if err != nil {
				return err
			}
			applied[i] = tag.RowsAffected() > 0
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, vmBatchUpdate, ids, versions, stateCol, phase, provider, instance, agentURL,
			tokenHash, owner, changed, started, activity, heartbeat, client, clients, keepalive, reason, detail,
			stopped, deadline)
		if err != nil {
			return err
		}
		done, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range done {
			applied[byID[id]] = true
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "put vm states", "VM state")
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
	rows, err := s.pool.Query(ctx, `SELECT `+vmColumns+` FROM workspace_vms
		WHERE deadline IS NOT NULL AND deadline <= $1 ORDER BY deadline, workspace_id LIMIT $2`, now, limit)
	if err != nil {
		return nil, wrapErr(err, "due vm states", "VM state")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.VMState, error) { return scanVMState(row) })
	if err != nil {
		return nil, wrapErr(err, "due vm states", "VM state")
	}
	if out == nil {
		out = []*domain.VMState{}
	}
	return out, nil
}

// DeleteVMState removes the record if its version is still version.
func (s *Store) DeleteVMState(ctx context.Context, workspaceID string, version int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM workspace_vms WHERE workspace_id = $1 AND version = $2`, workspaceID, version)
	if err != nil {
		return wrapErr(err, "delete vm state", "VM state")
	}
	if tag.RowsAffected() == 0 {
		return domain.Errorf(domain.ECONFLICT, "the workspace's VM state changed meanwhile")
	}
	return nil
}
