package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
)

// backfillMigration is migration 3, in Go because the full-text fields of a chunk are computed
// by domain.Terms: it fills symbol_names and tsv (added empty by 00002) for the chunks that
// existed before. Chunks written since get them from ReplaceChunks.
var backfillMigration = goose.NewGoMigration(3, &goose.GoFunc{RunTx: backfillSearchFields}, &goose.GoFunc{RunTx: noMigration})

// backfillBatch is how many chunks one round trip of the backfill updates.
const backfillBatch = 500

// backfillSearchFields computes the full-text fields of every chunk, in batches by ID.
func backfillSearchFields(ctx context.Context, tx *sql.Tx) error {
	after := ""
	for {
		rows, err := tx.QueryContext(ctx, `SELECT id, symbol, path, content FROM rag_chunks WHERE id > $1 ORDER BY id LIMIT $2`,
			after, backfillBatch)
		if err != nil {
			return fmt.Errorf("postgres: backfill search fields: %w", err)
		}
		var ids, names, tsvs []string
		for rows.Next() {
			var id, symbol, path, content string
			if err := rows.Scan(&id, &symbol, &path, &content); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: backfill search fields: %w", err)
			}
			n, tsv := chunkSearchFields(symbol, path, content)
			ids, names, tsvs = append(ids, id), append(names, n), append(tsvs, tsv.String())
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: backfill search fields: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE rag_chunks c SET symbol_names = u.names, tsv = u.tsv::tsvector
			FROM unnest($1::text[], $2::text[], $3::text[]) AS u (id, names, tsv)
			WHERE c.id = u.id`, ids, names, tsvs)
		if err != nil {
			return fmt.Errorf("postgres: backfill search fields: %w", err)
		}
		after = ids[len(ids)-1]
	}
}

// noMigration is the down step of a migration that only fills derived data.
func noMigration(context.Context, *sql.Tx) error { return nil }
