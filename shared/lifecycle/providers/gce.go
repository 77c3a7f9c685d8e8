//go:build !lambda.norpc

package providers

import (
	"context"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/gce"
)

// openGCE opens the Compute Engine provider.
func openGCE(ctx context.Context, l config.Lifecycle) (domain.VMProvider, error) {
	return gce.New(ctx, gce.Options{
		Project: l.GCEProject, Zone: l.GCEZone, Endpoint: l.GCEEndpoint, MachineType: l.GCEMachineType,
		Image: l.GCEImage, Network: l.GCENetwork, Subnetwork: l.GCESubnetwork, ServiceAccount: l.GCEServiceAccount,
		DiskGB: int64(l.GCEDiskGB), AgentPort: l.AgentPort,
	})
}
