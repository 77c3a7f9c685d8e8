package domain

import (
	"context"
	"time"
)

// Workspace is a user's development environment: a tree of files, grouped into projects,
// with its own VM, terminals and search index. Only its owner can see it.
type Workspace struct {
	ID        string    `json:"id"`
	OwnerID   string    `json:"owner_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Project is a named folder within a workspace (the seed's Workspace → Projects → Files).
// Root is a relative path inside the workspace; "" is the workspace root.
type Project struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"workspace_id"`
	Name        string    `json:"name"`
	Root        string    `json:"root"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// WorkspaceStore persists workspaces. It does not check ownership: callers do.
type WorkspaceStore interface {
	// CreateWorkspace stores w (ID and timestamps set by the caller).
	CreateWorkspace(ctx context.Context, w *Workspace) error
	// WorkspaceByID returns the workspace or ENOTFOUND.
	WorkspaceByID(ctx context.Context, id string) (*Workspace, error)
	// ListWorkspaces returns the owner's workspaces, oldest first.
	ListWorkspaces(ctx context.Context, ownerID string) ([]*Workspace, error)
	// UpdateWorkspace saves w's name and UpdatedAt; ENOTFOUND if it does not exist.
	UpdateWorkspace(ctx context.Context, w *Workspace) error
	// DeleteWorkspace deletes the workspace with its projects, files and chunks, atomically.
	DeleteWorkspace(ctx context.Context, id string) error
}

// ProjectStore persists projects. Names are unique within a workspace (ECONFLICT).
type ProjectStore interface {
	CreateProject(ctx context.Context, p *Project) error
	// ProjectByID returns the project of that workspace or ENOTFOUND.
	ProjectByID(ctx context.Context, workspaceID, id string) (*Project, error)
	// ListProjects returns the workspace's projects ordered by name.
	ListProjects(ctx context.Context, workspaceID string) ([]*Project, error)
	// UpdateProject saves p's name, root and UpdatedAt.
	UpdateProject(ctx context.Context, p *Project) error
	// DeleteProject deletes the project (not its files); ENOTFOUND if absent.
	DeleteProject(ctx context.Context, workspaceID, id string) error
}
