-- Heartbeats and the sweeper update workspace_vms rows constantly, and every update changes
-- deadline. With an index on deadline no update could be HOT (heap-only: no index entries
-- rewritten), so each one rewrote two indexes; without it, and with free space left in every
-- page, they are HOT, and a batch that stops 10,000 VMs costs a third. The sweeper's query
-- (deadline <= now) then reads the table sequentially, which stays well under its budget for
-- the tens of thousands of rows one region holds.

-- +goose Up
DROP INDEX workspace_vms_deadline_idx;
ALTER TABLE workspace_vms SET (fillfactor = 70);

-- +goose Down
ALTER TABLE workspace_vms RESET (fillfactor);
CREATE INDEX workspace_vms_deadline_idx ON workspace_vms (deadline) WHERE deadline IS NOT NULL;
