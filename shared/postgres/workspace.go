package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/vibecode/vibecode/shared/domain"
)

const workspaceColumns = `id, owner_id, name, created_at, updated_at`

func scanWorkspace(row pgx.Row) (*domain.Workspace, error) {
	var w domain.Workspace
	if err := row.Scan(&w.ID, &w.OwnerID, &w.Name, &w.CreatedAt, &w.UpdatedAt); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	return &w, nil
}

// CreateWorkspace stores w; ENOTFOUND if its owner does not exist.
func (s *Store) CreateWorkspace(ctx context.Context, w *domain.Workspace) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO workspaces (`+workspaceColumns+`) VALUES ($1, $2, $3, $4, $5)`,
		w.ID, w.OwnerID, w.Name, w.CreatedAt, w.UpdatedAt)
	return wrapErr(err, "create workspace", "workspace")
}

// WorkspaceByID returns the workspace or ENOTFOUND.
func (s *Store) WorkspaceByID(ctx context.Context, id string) (*domain.Workspace, error) {
	w, err := scanWorkspace(s.pool.QueryRow(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = $1`, id))
	return w, wrapErr(err, "workspace by id", "workspace")
}

// ListWorkspaces returns the owner's workspaces, oldest first.
func (s *Store) ListWorkspaces(ctx context.Context, ownerID string) ([]*domain.Workspace, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE owner_id = $1 ORDER BY created_at, id`, ownerID)
	if err != nil {
		return nil, wrapErr(err, "list workspaces", "workspace")
	}
	ws, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.Workspace, error) { return scanWorkspace(row) })
	return ws, wrapErr(err, "list workspaces", "workspace")
}

// UpdateWorkspace saves w's name and UpdatedAt; ENOTFOUND if it does not exist.
func (s *Store) UpdateWorkspace(ctx context.Context, w *domain.Workspace) error {
	tag, err := s.pool.Exec(ctx, `UPDATE workspaces SET name = $2, updated_at = $3 WHERE id = $1`, w.ID, w.Name, w.UpdatedAt)
	if err != nil {
		return wrapErr(err, "update workspace", "workspace")
	}
	return notFoundIfNone(tag, "workspace")
}

// DeleteWorkspace deletes the workspace; its projects, files and chunks go with it through
// ON DELETE CASCADE, in the same statement and so atomically. ENOTFOUND if absent.
func (s *Store) DeleteWorkspace(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM workspaces WHERE id = $1`, id)
	if err != nil {
		return wrapErr(err, "delete workspace", "workspace")
	}
	return notFoundIfNone(tag, "workspace")
}

const projectColumns = `id, workspace_id, name, root, created_at, updated_at`

func scanProject(row pgx.Row) (*domain.Project, error) {
	var p domain.Project
	if err := row.Scan(&p.ID, &p.WorkspaceID, &p.Name, &p.Root, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// CreateProject stores p; ECONFLICT if the workspace has a project of that name, ENOTFOUND if
// the workspace does not exist.
func (s *Store) CreateProject(ctx context.Context, p *domain.Project) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		p.ID, p.WorkspaceID, p.Name, p.Root, p.CreatedAt, p.UpdatedAt)
	return wrapErr(err, "create project", "project")
}

// ProjectByID returns the project of that workspace or ENOTFOUND, also when the project
// belongs to another workspace.
func (s *Store) ProjectByID(ctx context.Context, workspaceID, id string) (*domain.Project, error) {
	p, err := scanProject(s.pool.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE workspace_id = $1 AND id = $2`, workspaceID, id))
	return p, wrapErr(err, "project by id", "project")
}

// ListProjects returns the workspace's projects ordered by name, byte-wise.
func (s *Store) ListProjects(ctx context.Context, workspaceID string) ([]*domain.Project, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+projectColumns+` FROM projects WHERE workspace_id = $1 ORDER BY name`, workspaceID)
	if err != nil {
		return nil, wrapErr(err, "list projects", "project")
	}
	ps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.Project, error) { return scanProject(row) })
	return ps, wrapErr(err, "list projects", "project")
}

// UpdateProject saves p's name, root and UpdatedAt; ECONFLICT if the new name is taken,
// ENOTFOUND if the workspace has no such project.
func (s *Store) UpdateProject(ctx context.Context, p *domain.Project) error {
	tag, err := s.pool.Exec(ctx, `UPDATE projects SET name = $3, root = $4, updated_at = $5 WHERE workspace_id = $1 AND id = $2`,
		p.WorkspaceID, p.ID, p.Name, p.Root, p.UpdatedAt)
	if err != nil {
		return wrapErr(err, "update project", "project")
	}
	return notFoundIfNone(tag, "project")
}

// DeleteProject deletes the project but not its files (they belong to the workspace);
// ENOTFOUND if the workspace has no such project.
func (s *Store) DeleteProject(ctx context.Context, workspaceID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM projects WHERE workspace_id = $1 AND id = $2`, workspaceID, id)
	if err != nil {
		return wrapErr(err, "delete project", "project")
	}
	return notFoundIfNone(tag, "project")
}
