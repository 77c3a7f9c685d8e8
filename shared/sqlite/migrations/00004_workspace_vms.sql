-- The lifecycle record of each workspace's VM (domain.VMState). Every change is a
-- compare-and-set on version. There is deliberately no foreign key to workspaces: deleting a
-- workspace must not erase the record of a VM that may still run, or the VM would be orphaned;
-- the sweeper stops it and then deletes the record. deadline is when the sweeper must look at
-- the row again; its index makes the sweeper's candidate query one range scan.

-- +goose Up
CREATE TABLE workspace_vms (
    workspace_id      TEXT PRIMARY KEY,
    state             TEXT NOT NULL CHECK (state IN ('stopped', 'starting', 'running', 'stopping', 'failed')),
    version           INTEGER NOT NULL CHECK (version > 0),
    phase             TEXT NOT NULL DEFAULT '',
    provider          TEXT NOT NULL DEFAULT '',
    instance_id       TEXT NOT NULL DEFAULT '',
    agent_url         TEXT NOT NULL DEFAULT '',
    agent_token_hash  TEXT NOT NULL DEFAULT '',
    owner_id          TEXT NOT NULL DEFAULT '',
    state_changed_at  TEXT NOT NULL,
    started_at        TEXT,
    last_activity_at  TEXT,
    last_heartbeat_at TEXT,
    last_client_at    TEXT,
    clients           INTEGER NOT NULL DEFAULT 0,
    keepalive_until   TEXT,
    stop_reason       TEXT NOT NULL DEFAULT '',
    stop_detail       TEXT NOT NULL DEFAULT '',
    stopped_at        TEXT,
    deadline          TEXT
) STRICT;
CREATE INDEX workspace_vms_deadline ON workspace_vms (deadline) WHERE deadline IS NOT NULL;

-- +goose Down
DROP TABLE workspace_vms;
