package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/vibecode/vibecode/shared/domain"
)

const fileColumns = `workspace_id, path, size, hash, language, version, modified_at`

func scanFile(row pgx.Row, extra ...any) (*domain.File, error) {
	var f domain.File
	dst := append([]any{&f.WorkspaceID, &f.Path, &f.Size, &f.Hash, &f.Language, &f.Version, &f.ModifiedAt}, extra...)
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	f.ModifiedAt = f.ModifiedAt.UTC()
	return &f, nil
}

// PutFile creates or replaces the file in a single statement whose WHERE clause (or ON
// CONFLICT) is the precondition, so checking and writing cannot be separated by a concurrent
// writer: of several writers with the same If-Match exactly one matches, the others find the
// new hash and fail with EPRECONDITION, writing nothing. The version is 1 on insert and
// increments on every update, so created is exactly version == 1.
func (s *Store) PutFile(ctx context.Context, f *domain.File, content []byte, opts domain.PutOptions) (created bool, err error) {
	if content == nil {
		content = []byte{} // nil would be NULL, and an empty file is not a missing one
	}
	args := []any{f.WorkspaceID, f.Path, content, f.Size, f.Hash, f.Language, f.ModifiedAt}
	var version int64
	switch {
	case opts.IfNoneMatch && opts.IfMatch != "":
		return false, domain.Errorf(domain.EPRECONDITION, "If-Match and If-None-Match cannot both hold")
	case opts.IfNoneMatch:
		err = s.pool.QueryRow(ctx, `
			INSERT INTO files (workspace_id, path, content, size, hash, language, modified_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1)
			ON CONFLICT (workspace_id, path) DO NOTHING
			RETURNING version`, args...).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, domain.Errorf(domain.EPRECONDITION, "file %s already exists", f.Path)
		}
	case opts.IfMatch != "":
		err = s.pool.QueryRow(ctx, `
			UPDATE files SET content = $3, size = $4, hash = $5, language = $6, modified_at = $7, version = version + 1
			WHERE workspace_id = $1 AND path = $2 AND ($8 = '*' OR hash = $8)
			RETURNING version`, append(args, opts.IfMatch)...).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			if opts.IfMatch == "*" {
				return false, domain.Errorf(domain.EPRECONDITION, "file %s does not exist", f.Path)
			}
			return false, domain.Errorf(domain.EPRECONDITION, "file %s does not exist or has changed", f.Path)
		}
	default:
		err = s.pool.QueryRow(ctx, `
			INSERT INTO files AS f (workspace_id, path, content, size, hash, language, modified_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 1)
			ON CONFLICT (workspace_id, path) DO UPDATE SET content = excluded.content, size = excluded.size,
				hash = excluded.hash, language = excluded.language, modified_at = excluded.modified_at,
				version = f.version + 1
			RETURNING version`, args...).Scan(&version)
	}
	if err != nil {
		return false, wrapErr(err, "put file", "file")
	}
	f.Version = version
	return version == 1, nil
}

// FileByPath returns the file's metadata or ENOTFOUND.
func (s *Store) FileByPath(ctx context.Context, workspaceID, path string) (*domain.File, error) {
	f, err := scanFile(s.pool.QueryRow(ctx, `SELECT `+fileColumns+` FROM files WHERE workspace_id = $1 AND path = $2`, workspaceID, path))
	return f, wrapErr(err, "file by path", "file")
}

// FileContent returns the metadata and the content from one row, so they always agree.
func (s *Store) FileContent(ctx context.Context, workspaceID, path string) (*domain.File, []byte, error) {
	var content []byte
	f, err := scanFile(s.pool.QueryRow(ctx, `SELECT `+fileColumns+`, content FROM files WHERE workspace_id = $1 AND path = $2`, workspaceID, path), &content)
	if err != nil {
		return nil, nil, wrapErr(err, "file content", "file")
	}
	if content == nil {
		content = []byte{}
	}
	return f, content, nil
}

// ListFiles returns every file's metadata, without content, ordered by path byte-wise.
func (s *Store) ListFiles(ctx context.Context, workspaceID string) ([]*domain.File, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+fileColumns+` FROM files WHERE workspace_id = $1 ORDER BY path`, workspaceID)
	if err != nil {
		return nil, wrapErr(err, "list files", "file")
	}
	files, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.File, error) { return scanFile(row) })
	return files, wrapErr(err, "list files", "file")
}

// DeleteFile deletes the file and its chunks in one transaction, so search never returns
// chunks of a deleted file. opts.IfMatch is checked in the DELETE itself; ENOTFOUND if the
// file does not exist, EPRECONDITION if it exists with another hash.
func (s *Store) DeleteFile(ctx context.Context, workspaceID, path string, opts domain.PutOptions) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM files WHERE workspace_id = $1 AND path = $2 AND ($3 IN ('', '*') OR hash = $3)`,
			workspaceID, path, opts.IfMatch)
		if err != nil {
			return wrapErr(err, "delete file", "file")
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE workspace_id = $1 AND path = $2)`, workspaceID, path).Scan(&exists); err != nil {
				return wrapErr(err, "delete file", "file")
			}
			if exists {
				return domain.Errorf(domain.EPRECONDITION, "file %s has changed", path)
			}
			return domain.Errorf(domain.ENOTFOUND, "file not found")
		}
		_, err = tx.Exec(ctx, `DELETE FROM rag_chunks WHERE workspace_id = $1 AND path = $2`, workspaceID, path)
		return wrapErr(err, "delete file chunks", "chunk")
	})
}
