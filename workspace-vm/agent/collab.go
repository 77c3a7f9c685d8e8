package agent

import (
	"context"
	"net/http"
)

// CollabHub serves one y-websocket connection for a document. The agent authenticates the
// request (ticket with collab or collab:read, Origin) before calling Serve; the hub accepts the
// WebSocket itself and owns it until Serve returns. workspace-vm/collab implements it.
type CollabHub interface {
	// Serve runs one client of doc (a workspace-relative path) until the connection ends.
	Serve(w http.ResponseWriter, r *http.Request, doc string, user CollabUser)
	// Stats counts loaded documents and connected clients, for /stats.
	Stats() CollabStats
	// Close flushes every document and closes every connection, for an agent stop.
	Close(ctx context.Context) error
}

// CollabUser is who a collab connection belongs to, from the ticket.
type CollabUser struct {
	// ID is the user id (the ticket's sub).
	ID string
	// Name is the display name collaborators see next to the user's cursor.
	Name string
	// ReadOnly users follow a document but their updates are dropped (ticket with
	// collab:read and not collab).
	ReadOnly bool
}

// CollabStats are the hub's counts.
type CollabStats struct {
	Documents int `json:"documents"`
	Clients   int `json:"clients"`
}
