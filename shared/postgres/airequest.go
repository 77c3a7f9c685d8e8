package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vibecode/vibecode/shared/domain"
)

const aiRequestColumns = `id, user_id, provider, model, kind, tokens_in, tokens_out, cost_usd, latency_ms, status, created_at`

// RecordAIRequest stores r.
func (s *Store) RecordAIRequest(ctx context.Context, r *domain.AIRequest) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO ai_requests (`+aiRequestColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.UserID, r.Provider, r.Model, r.Kind, r.TokensIn, r.TokensOut, r.CostUSD, r.LatencyMS, r.Status, r.CreatedAt)
	return wrapErr(err, "record ai request", "AI request")
}

// ListAIRequests returns the user's requests created at or after since, newest first; the
// (user_id, created_at) index serves it for budget checks.
func (s *Store) ListAIRequests(ctx context.Context, userID string, since time.Time) ([]*domain.AIRequest, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+aiRequestColumns+` FROM ai_requests WHERE user_id = $1 AND created_at >= $2 ORDER BY created_at DESC, id`,
		userID, since)
	if err != nil {
		return nil, wrapErr(err, "list ai requests", "AI request")
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.AIRequest, error) {
		var r domain.AIRequest
		err := row.Scan(&r.ID, &r.UserID, &r.Provider, &r.Model, &r.Kind, &r.TokensIn, &r.TokensOut, &r.CostUSD, &r.LatencyMS, &r.Status, &r.CreatedAt)
		r.CreatedAt = r.CreatedAt.UTC()
		return &r, err
	})
	return list, wrapErr(err, "list ai requests", "AI request")
}
