package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/vibecode/vibecode/shared/domain"
)

const workspaceColumns = `id, owner_id, name, created_at, updated_at`

func scanWorkspace(row interface{ Scan(...any) error }) (*domain.Workspace, error) {
	w := &domain.Workspace{}
	err := row.Scan(&w.ID, &w.OwnerID, &w.Name, timeCol{&w.CreatedAt}, timeCol{&w.UpdatedAt})
	return w, err
}

// CreateWorkspace stores w; ENOTFOUND if its owner does not exist.
func (s *Store) CreateWorkspace(ctx context.Context, w *domain.Workspace) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO workspaces (`+workspaceColumns+`) VALUES (?, ?, ?, ?, ?)`,
		w.ID, w.OwnerID, w.Name, ts(w.CreatedAt), ts(w.UpdatedAt))
	return dbErr("create workspace", fmt.Sprintf("workspace %q", w.Name), err)
}

// WorkspaceByID returns the workspace or ENOTFOUND.
func (s *Store) WorkspaceByID(ctx context.Context, id string) (*domain.Workspace, error) {
	w, err := scanWorkspace(s.rdb.QueryRowContext(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = ?`, id))
	if err != nil {
		return nil, dbErr("workspace by id", "workspace", err)
	}
	return w, nil
}

// ListWorkspaces returns the owner's workspaces, oldest first.
func (s *Store) ListWorkspaces(ctx context.Context, ownerID string) ([]*domain.Workspace, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE owner_id = ? ORDER BY created_at, id`, ownerID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list workspaces: %w", err)
	}
	return collect(rows, "list workspaces", scanWorkspace)
}

// UpdateWorkspace saves w's name and UpdatedAt; ENOTFOUND if it does not exist.
func (s *Store) UpdateWorkspace(ctx context.Context, w *domain.Workspace) error {
	return s.execOne(ctx, "update workspace", "workspace",
		`UPDATE workspaces SET name = ?, updated_at = ? WHERE id = ?`, w.Name, ts(w.UpdatedAt), w.ID)
}

// DeleteWorkspace deletes the workspace; its projects, files and chunks go with it through
// ON DELETE CASCADE in the same statement, and its vectors leave the index after the commit.
// ENOTFOUND if it does not exist.
func (s *Store) DeleteWorkspace(ctx context.Context, id string) error {
	s.chunkMu.Lock()
	defer s.chunkMu.Unlock()
	err := s.write(ctx, "delete workspace", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM workspaces WHERE id = ?`, id)
		if err != nil {
			return dbErr("delete workspace", "workspace", err)
		}
		return mustAffect("delete workspace", "workspace", res)
	})
	if err != nil {
		return err
	}
	s.index.dropWorkspace(id)
	s.text.dropWorkspace(id)
	return nil
}

const projectColumns = `id, workspace_id, name, root, created_at, updated_at`

func scanProject(row interface{ Scan(...any) error }) (*domain.Project, error) {
	p := &domain.Project{}
	err := row.Scan(&p.ID, &p.WorkspaceID, &p.Name, &p.Root, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt})
	return p, err
}

// CreateProject stores p; ECONFLICT if the workspace has a project of that name, ENOTFOUND if
// the workspace does not exist.
func (s *Store) CreateProject(ctx context.Context, p *domain.Project) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		p.ID, p.WorkspaceID, p.Name, p.Root, ts(p.CreatedAt), ts(p.UpdatedAt))
	return dbErr("create project", fmt.Sprintf("a project named %q in this workspace", p.Name), err)
}

// ProjectByID returns the project of that workspace or ENOTFOUND.
func (s *Store) ProjectByID(ctx context.Context, workspaceID, id string) (*domain.Project, error) {
	p, err := scanProject(s.rdb.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = ? AND workspace_id = ?`, id, workspaceID))
	if err != nil {
		return nil, dbErr("project by id", "project", err)
	}
	return p, nil
}

// ListProjects returns the workspace's projects ordered by name.
func (s *Store) ListProjects(ctx context.Context, workspaceID string) ([]*domain.Project, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE workspace_id = ? ORDER BY name, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list projects: %w", err)
	}
	return collect(rows, "list projects", scanProject)
}

// UpdateProject saves p's name, root and UpdatedAt; ECONFLICT if the new name is taken in the
// workspace, ENOTFOUND if the project does not exist there.
func (s *Store) UpdateProject(ctx context.Context, p *domain.Project) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE projects SET name = ?, root = ?, updated_at = ? WHERE id = ? AND workspace_id = ?`,
		p.Name, p.Root, ts(p.UpdatedAt), p.ID, p.WorkspaceID)
	if err != nil {
		return dbErr("update project", fmt.Sprintf("a project named %q in this workspace", p.Name), err)
	}
	return mustAffect("update project", "project", res)
}

// DeleteProject deletes the project, not its files; ENOTFOUND if absent.
func (s *Store) DeleteProject(ctx context.Context, workspaceID, id string) error {
	return s.execOne(ctx, "delete project", "project", `DELETE FROM projects WHERE id = ? AND workspace_id = ?`, id, workspaceID)
}
