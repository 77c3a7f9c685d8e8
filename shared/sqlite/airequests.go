package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

const aiRequestColumns = `id, user_id, provider, model, kind, tokens_in, tokens_out, cost_usd, latency_ms, status, created_at`

func scanAIRequest(row interface{ Scan(...any) error }) (*domain.AIRequest, error) {
	r := &domain.AIRequest{}
	err := row.Scan(&r.ID, &r.UserID, &r.Provider, &r.Model, &r.Kind, &r.TokensIn, &r.TokensOut, &r.CostUSD,
		&r.LatencyMS, &r.Status, timeCol{&r.CreatedAt})
	return r, err
}

// RecordAIRequest stores r; ENOTFOUND if its user does not exist.
func (s *Store) RecordAIRequest(ctx context.Context, r *domain.AIRequest) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO ai_requests (`+aiRequestColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.UserID, r.Provider, r.Model, r.Kind, r.TokensIn, r.TokensOut, r.CostUSD, r.LatencyMS, r.Status, ts(r.CreatedAt))
	return dbErr("record ai request", "AI request", err)
}

// ListAIRequests returns the user's requests created at or after since, newest first.
func (s *Store) ListAIRequests(ctx context.Context, userID string, since time.Time) ([]*domain.AIRequest, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+aiRequestColumns+` FROM ai_requests
		WHERE user_id = ? AND created_at >= ? ORDER BY created_at DESC, id DESC`, userID, ts(since))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list ai requests: %w", err)
	}
	return collect(rows, "list ai requests", scanAIRequest)
}
