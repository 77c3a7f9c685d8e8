//go:build !lambda.norpc

package backend

import (
	"context"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/sqlite"
)

// openEmbedded opens the embedded SQLite store. Lambda builds (tag lambda.norpc) leave it out
// to keep the binary small: a deployed function always has DATABASE_URL.
func openEmbedded(ctx context.Context, dir string) (domain.Store, error) {
	return sqlite.Open(ctx, dir)
}
