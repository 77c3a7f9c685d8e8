package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vibecode/vibecode/shared/domain"
)

// Index state transitions. Every transition names a file version; version 0 is a delete.
// Each is one statement whose WHERE clause is the ordering rule, so concurrent workers cannot
// interleave a check and a write:
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
// ordering rule, with $8 true for pending (which may replace a delete's entry).
const upsertIndexState = `
	INSERT INTO index_state AS s (workspace_id, path, version, state, reason, attempts, updated_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (workspace_id, path) DO UPDATE SET version = excluded.version, state = excluded.state,
		reason = excluded.reason, attempts = excluded.attempts, updated_at = excluded.updated_at
	WHERE (s.version > 0 AND excluded.version >= s.version) OR (s.version = 0 AND $8::bool)`

// markIndex records a transition for version > 0.
func (s *Store) markIndex(ctx context.Context, op, workspaceID, path string, version int64, state, reason string, attempts int, now time.Time) error {
	_, err := s.pool.Exec(ctx, upsertIndexState, workspaceID, path, version, state, reason, attempts, now, state == domain.IndexPending)
	return wrapErr(err, op, "index state")
}

// markDeleteIndex updates the entry recorded by a delete (version 0), if there is one.
func (s *Store) markDeleteIndex(ctx context.Context, op, workspaceID, path, state, reason string, attempts int, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE index_state SET state = $3, reason = $4, attempts = $5, updated_at = $6
		WHERE workspace_id = $1 AND path = $2 AND version = 0`, workspaceID, path, state, reason, attempts, now)
	return wrapErr(err, op, "index state")
}

// MarkIndexPending records that a job for the version is queued; for version 0 (a delete) the
// file's entry becomes a pending delete whatever it was. ENOTFOUND if the workspace does not
// exist.
func (s *Store) MarkIndexPending(ctx context.Context, workspaceID, path string, version int64, now time.Time) error {
	if version < 0 {
		return domain.Errorf(domain.EINVALID, "index version %d is negative", version)
	}
	if version == 0 {
		_, err := s.pool.Exec(ctx, `
			INSERT INTO index_state (workspace_id, path, version, state, reason, attempts, updated_at)
			VALUES ($1, $2, 0, 'pending', '', 0, $3)
			ON CONFLICT (workspace_id, path) DO UPDATE SET version = 0, state = 'pending', reason = '', attempts = 0,
				updated_at = excluded.updated_at`, workspaceID, path, now)
		return wrapErr(err, "mark index pending", "index state")
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
		_, err := s.pool.Exec(ctx, `DELETE FROM index_state WHERE workspace_id = $1 AND path = $2 AND version = 0`, workspaceID, path)
		return wrapErr(err, "mark index done", "index state")
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

// IndexStatus returns the workspace's summary, read in one repeatable-read snapshot so the
// counts and the error list agree. A workspace that does not exist has all zeros.
func (s *Store) IndexStatus(ctx context.Context, workspaceID string) (*domain.IndexStatus, error) {
	st := &domain.IndexStatus{Errors: []domain.IndexEntry{}}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM files WHERE workspace_id = $1),
				(SELECT count(*) FROM rag_chunks WHERE workspace_id = $1),
				count(*) FILTER (WHERE state = 'pending'),
				count(*) FILTER (WHERE state = 'failed'),
				count(*) FILTER (WHERE state = 'skipped'),
				max(updated_at) FILTER (WHERE state = 'done')
			FROM index_state WHERE workspace_id = $1`, workspaceID).
			Scan(&st.Files, &st.Chunks, &st.Pending, &st.Failed, &st.Skipped, &st.LastIndexedAt)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT path, version, state, reason, attempts, updated_at FROM index_state
			WHERE workspace_id = $1 AND state IN ('failed', 'skipped')
			ORDER BY updated_at DESC, path
			LIMIT $2`, workspaceID, maxIndexErrors)
		if err != nil {
			return err
		}
		var e domain.IndexEntry
		_, err = pgx.ForEachRow(rows, []any{&e.Path, &e.Version, &e.State, &e.Reason, &e.Attempts, &e.UpdatedAt}, func() error {
			e.UpdatedAt = e.UpdatedAt.UTC()
			st.Errors = append(st.Errors, e)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, wrapErr(err, "index status", "index status")
	}
	st.LastIndexedAt = utcPtr(st.LastIndexedAt)
	return st, nil
}
