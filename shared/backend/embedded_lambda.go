//go:build lambda.norpc

package backend

import (
	"context"
	"errors"

	"github.com/vibecode/vibecode/shared/domain"
)

// openEmbedded refuses: Lambda builds carry no embedded database, DATABASE_URL must be set.
func openEmbedded(context.Context, string) (domain.Store, error) {
	return nil, errors.New("backend: DATABASE_URL is required in Lambda builds (no embedded database)")
}
