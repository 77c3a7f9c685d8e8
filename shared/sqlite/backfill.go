package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
)

// backfillMigration is migration 3, in Go because the full-text fields of a chunk are computed
// by domain.Terms: it fills the term columns (added empty by 00002) of the chunks that existed
// before; the update trigger indexes them. Chunks written since get them from ReplaceChunks.
var backfillMigration = goose.NewGoMigration(3, &goose.GoFunc{RunTx: backfillSearchFields}, &goose.GoFunc{RunTx: noMigration})

// backfillBatch is how many chunks one pass of the backfill reads.
const backfillBatch = 500

// backfillSearchFields computes the full-text fields of every chunk, in batches by seq.
func backfillSearchFields(ctx context.Context, tx *sql.Tx) error {
	type row struct {
		seq                   int64
		symbol, path, content string
	}
	update, err := tx.PrepareContext(ctx, `UPDATE rag_chunks SET symbol_names = ?, symbol_terms = ?, path_terms = ?, content_terms = ?
		WHERE seq = ?`)
	if err != nil {
		return fmt.Errorf("sqlite: backfill search fields: %w", err)
	}
	defer update.Close()
	var after int64
	for {
		rows, err := tx.QueryContext(ctx, `SELECT seq, symbol, path, content FROM rag_chunks WHERE seq > ? ORDER BY seq LIMIT ?`,
			after, backfillBatch)
		if err != nil {
			return fmt.Errorf("sqlite: backfill search fields: %w", err)
		}
		batch, err := collect(rows, "backfill search fields", func(r interface{ Scan(...any) error }) (row, error) {
			var x row
			err := r.Scan(&x.seq, &x.symbol, &x.path, &x.content)
			return x, err
		})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, x := range batch {
			f := chunkSearchFields(x.symbol, x.path, x.content)
			if _, err := update.ExecContext(ctx, f.names, f.symbol, f.path, f.content, x.seq); err != nil {
				return fmt.Errorf("sqlite: backfill search fields: %w", err)
			}
		}
		after = batch[len(batch)-1].seq
	}
}

// noMigration is the down step of a migration that only fills derived data.
func noMigration(context.Context, *sql.Tx) error { return nil }
