package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// Index state transitions. Every transition names a file version; version 0 is a delete.
// Each is one statement whose WHERE clause is the ordering rule:
//
//   - A transition for version v > 0 applies when the file has no entry, or v is at least the
//     recorded version. An entry recorded by a delete (version 0) gives way only to a new
//     pending version, which the API records after the file is written again (versions
//     restart at 1): a done, failed or skipped for v > 0 arriving then is a job that read
//     the file before it was deleted, and is ignored.
//   - MarkIndexPending(0) always applies: a delete is newer than every version before it.
//   - MarkIndexDone(0) removes the entry if it was recorded by a delete; MarkIndexFailed(0)
//     and MarkIndexSkipped(0) update only such an entry. A late delete job cannot remove or
//     overwrite the entry of a file written again since.

// upsertIndexState is the INSERT of a transition for version > 0; the DO UPDATE's WHERE is the
// ordering rule, with ?8 true for pending (which may replace a delete's entry).
const upsertIndexState = `
	INSERT INTO index_state (workspace_id, path, version, state, reason, attempts, updated_at)
	VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
	ON CONFLICT (workspace_id, path) DO UPDATE SET version = excluded.version, state = excluded.state,
		reason = excluded.reason, attempts = excluded.attempts, updated_at = excluded.updated_at
	WHERE (index_state.version > 0 AND excluded.version >= index_state.version) OR (index_state.version = 0 AND ?8)`

// markIndex records a transition for version > 0; ENOTFOUND if the workspace does not exist.
func (s *Store) markIndex(ctx context.Context, op, workspaceID, path string, version int64, state, reason string, attempts int, now time.Time) error {
	_, err := s.wdb.ExecContext(ctx, upsertIndexState, workspaceID, path, version, state, reason, attempts, ts(now), state == domain.IndexPending)
	return dbErr(op, "index state of "+path, err)
}

// markDeleteIndex updates the entry recorded by a delete (version 0), if there is one.
func (s *Store) markDeleteIndex(ctx context.Context, op, workspaceID, path, state, reason string, attempts int, now time.Time) error {
	_, err := s.wdb.ExecContext(ctx, `UPDATE index_state SET state = ?, reason = ?, attempts = ?, updated_at = ?
		WHERE workspace_id = ? AND path = ? AND version = 0`, state, reason, attempts, ts(now), workspaceID, path)
	return dbErr(op, "index state of "+path, err)
}

// MarkIndexPending records that a job for the version is queued; for version 0 (a delete) the
// file's entry becomes a pending delete whatever it was. ENOTFOUND if the workspace does not
// exist.
func (s *Store) MarkIndexPending(ctx context.Context, workspaceID, path string, version int64, now time.Time) error {
	if version < 0 {
		return domain.Errorf(domain.EINVALID, "index version %d is negative", version)
	}
	if version == 0 {
		_, err := s.wdb.ExecContext(ctx, `
			INSERT INTO index_state (workspace_id, path, version, state, reason, attempts, updated_at)
			VALUES (?, ?, 0, 'pending', '', 0, ?)
			ON CONFLICT (workspace_id, path) DO UPDATE SET version = 0, state = 'pending', reason = '', attempts = 0,
				updated_at = excluded.updated_at`, workspaceID, path, ts(now))
		return dbErr("mark index pending", "index state of "+path, err)
	}
	return s.markIndex(ctx, "mark index pending", workspaceID, path, version, domain.IndexPending, "", 0, now)
}

// MarkIndexDone records that the version is indexed; for version 0, that the deleted file's
// chunks are gone, which removes its entry.
func (s *Store) MarkIndexDone(ctx context.Context, workspaceID, path string, version int64, now time.Time) error {
	switch {
	case version < 0:
		return domain.Errorf(domain.EINVALID, "index version %d is negative", version)
	case version == 0:
		_, err := s.wdb.ExecContext(ctx, `DELETE FROM index_state WHERE workspace_id = ? AND path = ? AND version = 0`, workspaceID, path)
		return dbErr("mark index done", "index state of "+path, err)
	}
	return s.markIndex(ctx, "mark index done", workspaceID, path, version, domain.IndexDone, "", 0, now)
}

// MarkIndexFailed records that the version failed attempts times for reason.
func (s *Store) MarkIndexFailed(ctx context.Context, workspaceID, path string, version int64, reason string, attempts int, now time.Time) error {
	switch {
	case version < 0:
		return domain.Errorf(domain.EINVALID, "index version %d is negative", version)
	case version == 0:
		return s.markDeleteIndex(ctx, "mark index failed", workspaceID, path, domain.IndexFailed, reason, attempts, now)
	}
	return s.markIndex(ctx, "mark index failed", workspaceID, path, version, domain.IndexFailed, reason, attempts, now)
}

// MarkIndexSkipped records that the version is deliberately not indexed, and why.
func (s *Store) MarkIndexSkipped(ctx context.Context, workspaceID, path string, version int64, reason string, now time.Time) error {
	switch {
	case version < 0:
		return domain.Errorf(domain.EINVALID, "index version %d is negative", version)
	case version == 0:
		return s.markDeleteIndex(ctx, "mark index skipped", workspaceID, path, domain.IndexSkipped, reason, 0, now)
	}
	return s.markIndex(ctx, "mark index skipped", workspaceID, path, version, domain.IndexSkipped, reason, 0, now)
}

// maxIndexErrors bounds IndexStatus.Errors.
const maxIndexErrors = 100

// IndexStatus returns the workspace's summary, read in one transaction (one WAL snapshot) so
// the counts and the error list agree. A workspace that does not exist has all zeros.
func (s *Store) IndexStatus(ctx context.Context, workspaceID string) (*domain.IndexStatus, error) {
	tx, err := s.rdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: index status: begin: %w", err)
	}
	defer tx.Rollback() // read-only: nothing to commit
	st := &domain.IndexStatus{}
	var last sql.NullString
	err = tx.QueryRowContext(ctx, `
		SELECT (SELECT COUNT(*) FROM files WHERE workspace_id = ?1),
			(SELECT COUNT(*) FROM rag_chunks WHERE workspace_id = ?1),
			COUNT(*) FILTER (WHERE state = 'pending'),
			COUNT(*) FILTER (WHERE state = 'failed'),
			COUNT(*) FILTER (WHERE state = 'skipped'),
			MAX(updated_at) FILTER (WHERE state = 'done')
		FROM index_state WHERE workspace_id = ?1`, workspaceID).
		Scan(&st.Files, &st.Chunks, &st.Pending, &st.Failed, &st.Skipped, &last)
	if err != nil {
		return nil, fmt.Errorf("sqlite: index status: %w", err)
	}
	if last.Valid {
		if err := (nullTimeCol{&st.LastIndexedAt}).Scan(last.String); err != nil {
			return nil, fmt.Errorf("sqlite: index status: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, `
		SELECT path, version, state, reason, attempts, updated_at FROM index_state
		WHERE workspace_id = ? AND state IN ('failed', 'skipped')
		ORDER BY updated_at DESC, path
		LIMIT ?`, workspaceID, maxIndexErrors)
	if err != nil {
		return nil, fmt.Errorf("sqlite: index status: %w", err)
	}
	st.Errors, err = collect(rows, "index status", func(row interface{ Scan(...any) error }) (domain.IndexEntry, error) {
		var e domain.IndexEntry
		err := row.Scan(&e.Path, &e.Version, &e.State, &e.Reason, &e.Attempts, timeCol{&e.UpdatedAt})
		return e, err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}
