//go:build lambda.norpc

package providers

import (
	"context"
	"errors"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
)

// openGCE refuses: Lambda builds leave the Compute Engine client out.
func openGCE(context.Context, config.Lifecycle) (domain.VMProvider, error) {
	return nil, errors.New("providers: VM_PROVIDER=gce is not built into Lambda binaries; deploy the lifecycle function on Cloud Functions for GCP")
}
