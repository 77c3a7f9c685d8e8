// Package providers opens the domain.VMProvider the configuration selects (VM_PROVIDER:
// local, ec2 or gce). Only the lifecycle function and the local stack import it, so the cloud
// SDKs stay out of every other function's binary; Lambda builds (tag lambda.norpc) also leave
// out the Compute Engine client, which alone would add tens of megabytes.
package providers

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/ec2"
	"github.com/vibecode/vibecode/shared/localvm"
)

// FromConfig returns the provider cfg selects and a function that releases it (the local
// provider stops the agents it started). files is where the local provider reads a
// workspace's files on its first start.
func FromConfig(ctx context.Context, cfg config.Config, files domain.FileStore, log *slog.Logger) (domain.VMProvider, func() error, error) {
	l := cfg.Lifecycle
	switch l.Provider {
	case "", localvm.Name:
		p := localvm.New(localvm.Options{DataDir: cfg.DataDir, AgentBin: l.AgentBin, Files: files, Log: log})
		return p, p.Close, nil
	case ec2.Name:
		p, err := ec2.New(ctx, ec2.Options{
			Region: l.EC2Region, Endpoint: l.EC2Endpoint, LaunchTemplateID: l.EC2LaunchTemplateID, AMI: l.EC2AMI,
			InstanceType: l.EC2InstanceType, SubnetID: l.EC2SubnetID, SecurityGroupIDs: l.EC2SecurityGroupIDs,
			InstanceProfile: l.EC2InstanceProfile, VolumeGB: l.EC2VolumeGB, AgentPort: l.AgentPort,
		})
		if err != nil {
			return nil, nil, err
		}
		return p, func() error { return nil }, nil
	case "gce":
		p, err := openGCE(ctx, l)
		if err != nil {
			return nil, nil, err
		}
		return p, func() error { return nil }, nil
	default:
		return nil, nil, fmt.Errorf("providers: unknown VM provider %q", l.Provider)
	}
}
