-- The lifecycle record of each workspace's VM (domain.VMState). Every change is a
-- compare-and-set on version. There is deliberately no foreign key to workspaces: deleting a
-- workspace must not erase the record of a VM that may still run, or the VM would be orphaned;
-- the sweeper stops it and then deletes the record. deadline is when the sweeper must look at
-- the row again; its partial index makes the sweeper's candidate query one range scan.

-- +goose Up
CREATE TABLE workspace_vms (
	workspace_id      text PRIMARY KEY,
	state             text NOT NULL CHECK (state IN ('stopped', 'starting', 'running', 'stopping', 'failed')),
	version           bigint NOT NULL CHECK (version > 0),
	phase             text NOT NULL DEFAULT '',
	provider          text NOT NULL DEFAULT '',
	instance_id       text NOT NULL DEFAULT '',
	agent_url         text NOT NULL DEFAULT '',
	agent_token_hash  text NOT NULL DEFAULT '',
	owner_id          text NOT NULL DEFAULT '',
	state_changed_at  timestamptz NOT NULL,
	started_at        timestamptz,
	last_activity_at  timestamptz,
	last_heartbeat_at timestamptz,
	last_client_at    timestamptz,
	clients           integer NOT NULL DEFAULT 0,
	keepalive_until   timestamptz,
	stop_reason       text NOT NULL DEFAULT '',
	stop_detail       text NOT NULL DEFAULT '',
	stopped_at        timestamptz,
	deadline          timestamptz
);
CREATE INDEX workspace_vms_deadline_idx ON workspace_vms (deadline) WHERE deadline IS NOT NULL;

-- +goose Down
DROP TABLE workspace_vms;
