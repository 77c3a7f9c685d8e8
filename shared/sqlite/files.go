package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vibecode/vibecode/shared/domain"
)

const fileColumns = `workspace_id, path, size, hash, language, version, modified_at`

func scanFile(row interface{ Scan(...any) error }) (*domain.File, error) {
	f := &domain.File{}
	err := row.Scan(&f.WorkspaceID, &f.Path, &f.Size, &f.Hash, &f.Language, &f.Version, timeCol{&f.ModifiedAt})
	return f, err
}

// checkPreconditions applies If-Match / If-None-Match to the current state of a file: exists,
// and its hash when it does.
func checkPreconditions(path string, exists bool, hash string, opts domain.PutOptions) error {
	switch {
	case opts.IfNoneMatch && exists:
		return domain.Errorf(domain.EPRECONDITION, "file %q already exists", path)
	case opts.IfMatch != "" && !exists:
		return domain.Errorf(domain.EPRECONDITION, "file %q does not exist", path)
	case opts.IfMatch != "" && opts.IfMatch != "*" && opts.IfMatch != hash:
		return domain.Errorf(domain.EPRECONDITION, "file %q has changed since it was read", path)
	}
	return nil
}

// PutFile creates or replaces the file with content and f's metadata in one write transaction,
// honouring opts, and sets f.Version. The precondition check and the write happen under the
// write lock taken at BEGIN, so of concurrent writers with one If-Match exactly one succeeds.
func (s *Store) PutFile(ctx context.Context, f *domain.File, content []byte, opts domain.PutOptions) (created bool, err error) {
	if content == nil {
		content = []byte{} // content is NOT NULL; an empty file is an empty blob
	}
	var version int64
	err = s.write(ctx, "put file", func(tx *sql.Tx) error {
		var hash string
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT hash, version FROM files WHERE workspace_id = ? AND path = ?`,
			f.WorkspaceID, f.Path).Scan(&hash, &cur)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: put file: %w", err)
		}
		if err := checkPreconditions(f.Path, exists, hash, opts); err != nil {
			return err
		}
		version = cur + 1
		if exists {
			_, err = tx.ExecContext(ctx, `UPDATE files SET content = ?, size = ?, hash = ?, language = ?, version = ?, modified_at = ?
				WHERE workspace_id = ? AND path = ?`,
				content, f.Size, f.Hash, f.Language, version, ts(f.ModifiedAt), f.WorkspaceID, f.Path)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO files (workspace_id, path, content, size, hash, language, version, modified_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				f.WorkspaceID, f.Path, content, f.Size, f.Hash, f.Language, version, ts(f.ModifiedAt))
		}
		if err != nil {
			return dbErr("put file", fmt.Sprintf("file %q", f.Path), err)
		}
		created = !exists
		return nil
	})
	if err != nil {
		return false, err
	}
	f.Version = version
	return created, nil
}

// FileByPath returns the file's metadata or ENOTFOUND.
func (s *Store) FileByPath(ctx context.Context, workspaceID, path string) (*domain.File, error) {
	f, err := scanFile(s.rdb.QueryRowContext(ctx, `SELECT `+fileColumns+` FROM files WHERE workspace_id = ? AND path = ?`, workspaceID, path))
	if err != nil {
		return nil, dbErr("file by path", fmt.Sprintf("file %q", path), err)
	}
	return f, nil
}

// FileContent returns the metadata and the content, read by one statement so they agree.
func (s *Store) FileContent(ctx context.Context, workspaceID, path string) (*domain.File, []byte, error) {
	f := &domain.File{}
	var content []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT `+fileColumns+`, content FROM files WHERE workspace_id = ? AND path = ?`, workspaceID, path).
		Scan(&f.WorkspaceID, &f.Path, &f.Size, &f.Hash, &f.Language, &f.Version, timeCol{&f.ModifiedAt}, &content)
	if err != nil {
		return nil, nil, dbErr("file content", fmt.Sprintf("file %q", path), err)
	}
	if content == nil {
		content = []byte{}
	}
	return f, content, nil
}

// ListFiles returns every file's metadata ordered by path (byte order).
func (s *Store) ListFiles(ctx context.Context, workspaceID string) ([]*domain.File, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+fileColumns+` FROM files WHERE workspace_id = ? ORDER BY path`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list files: %w", err)
	}
	return collect(rows, "list files", scanFile)
}

// DeleteFile deletes the file and its chunks in one transaction, honouring opts.IfMatch;
// ENOTFOUND if the file does not exist.
func (s *Store) DeleteFile(ctx context.Context, workspaceID, path string, opts domain.PutOptions) error {
	s.chunkMu.Lock()
	defer s.chunkMu.Unlock()
	var removed []string
	err := s.write(ctx, "delete file", func(tx *sql.Tx) error {
		var hash string
		err := tx.QueryRowContext(ctx, `SELECT hash FROM files WHERE workspace_id = ? AND path = ?`, workspaceID, path).Scan(&hash)
		if err != nil {
			return dbErr("delete file", fmt.Sprintf("file %q", path), err)
		}
		if err := checkPreconditions(path, true, hash, domain.PutOptions{IfMatch: opts.IfMatch}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE workspace_id = ? AND path = ?`, workspaceID, path); err != nil {
			return fmt.Errorf("sqlite: delete file: %w", err)
		}
		removed, err = deleteChunks(ctx, tx, workspaceID, path)
		return err
	})
	if err != nil {
		return err
	}
	s.unindex(workspaceID, removed)
	return nil
}
