// Package ec2 is the AWS domain.VMProvider: each workspace runs on an EC2 spot instance from a
// persistent spot request whose interruption behaviour is stop, so a reclaimed VM stops like
// an idle one and keeps its disks. The workspace's files live on a second EBS volume that is
// never deleted with the instance.
//
// The first start runs RunInstances (spot market options, the workspace volume, tags naming
// the workspace, and a client token so a retried request cannot create a second instance);
// later starts rewrite the instance's user data (a new agent token every start) and call
// StartInstances. The user data is cloud-config whose bootcmd, run at every boot, writes the
// agent's environment to /etc/vibecode/agent.env before the vibecode-agent systemd unit of
// the image starts; its fs_setup and mounts format and mount the workspace volume at
// /workspace on the first boot. Stop calls StopInstances and waits until the instance is
// stopped. A workspace whose instance ID was never recorded is found by its tag.
package ec2

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.VMProvider = (*Provider)(nil)

// Name is the provider's name in VMState.Provider.
const Name = "ec2"

// WorkspaceTag is the tag key that names an instance's (and its volume's) workspace.
const WorkspaceTag = "vibecode:workspace"

// Options configure the provider.
type Options struct {
	// Region is the AWS region; Endpoint, when set, replaces the EC2 endpoint (tests).
	Region, Endpoint string
	// LaunchTemplateID names the launch template (image, profile, network); when empty,
	// AMI, SubnetID and SecurityGroupIDs describe the instance instead.
	LaunchTemplateID string
	AMI              string
	InstanceType     string
	SubnetID         string
	SecurityGroupIDs []string
	// InstanceProfile is the IAM instance profile name, if any.
	InstanceProfile string
	// VolumeGB is the size of the workspace volume (default 20).
	VolumeGB int
	// AgentPort is the port the agent listens on (default 7070).
	AgentPort int
	// PollInterval is how often DescribeInstances is polled while waiting (default 2 s).
	PollInterval time.Duration
}

// Provider runs workspaces on EC2 spot instances. It is safe for concurrent use.
type Provider struct {
	client *ec2.Client
	opts   Options
}

// New returns a provider using the default AWS credential chain.
func New(ctx context.Context, opts Options) (*Provider, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(opts.Region))
	if err != nil {
		return nil, fmt.Errorf("ec2: cannot load aws config: %w", err)
	}
	client := ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	return NewWithClient(client, opts), nil
}

// NewWithClient returns a provider over an existing client.
func NewWithClient(client *ec2.Client, opts Options) *Provider {
	if opts.VolumeGB <= 0 {
		opts.VolumeGB = 20
	}
	if opts.AgentPort <= 0 {
		opts.AgentPort = 7070
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	return &Provider{client: client, opts: opts}
}

// Name returns "ec2".
func (p *Provider) Name() string { return Name }

// Start creates the workspace's spot instance, or resumes its stopped one with new user data.
func (p *Provider) Start(ctx context.Context, spec domain.VMSpec) (domain.VMInstance, error) {
	id := spec.InstanceID
	if id == "" {
		found, err := p.findByTag(ctx, spec.WorkspaceID)
		if err != nil {
			return domain.VMInstance{}, err
		}
		id = found
	}
	if id == "" {
		return p.run(ctx, spec)
	}
	// A preempted instance may still be stopping; user data can change only once it stopped.
	inst, err := p.waitState(ctx, id, "stopped", "running", "pending")
	if err != nil {
		return domain.VMInstance{}, err
	}
	if inst == nil {
		// Terminated or gone (a spot request cancelled by hand): start afresh. The workspace
		// volume was kept (DeleteOnTermination false) but needs attaching by hand.
		return p.run(ctx, spec)
	}
	if state := string(inst.State.Name); state == "stopped" {
		_, err = p.client.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
			InstanceId: aws.String(id),
			UserData:   &types.SecureBlobAttributeValue{Value: []byte(UserData(spec.Agent, p.opts.AgentPort))},
		})
		if err != nil {
			return domain.VMInstance{}, fmt.Errorf("ec2: set user data of %s: %w", id, err)
		}
		if _, err := p.client.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}); err != nil {
			return domain.VMInstance{}, fmt.Errorf("ec2: start %s: %w", id, err)
		}
	}
	return domain.VMInstance{ID: id}, nil
}

// run creates the workspace's instance.
func (p *Provider) run(ctx context.Context, spec domain.VMSpec) (domain.VMInstance, error) {
	tags := []types.Tag{
		{Key: aws.String(WorkspaceTag), Value: aws.String(spec.WorkspaceID)},
		{Key: aws.String("Name"), Value: aws.String("vibecode-" + spec.WorkspaceID)},
	}
	in := &ec2.RunInstancesInput{
		MinCount: aws.Int32(1),
		MaxCount: aws.Int32(1),
		// One token per start: a retry of this very request returns the same instance.
		ClientToken: aws.String(clientToken(spec)),
		InstanceMarketOptions: &types.InstanceMarketOptionsRequest{
			MarketType: types.MarketTypeSpot,
			SpotOptions: &types.SpotMarketOptions{
				SpotInstanceType:             types.SpotInstanceTypePersistent,
				InstanceInterruptionBehavior: types.InstanceInterruptionBehaviorStop,
			},
		},
		BlockDeviceMappings: []types.BlockDeviceMapping{{
			DeviceName: aws.String("/dev/sdf"),
			Ebs: &types.EbsBlockDevice{
				VolumeSize:          aws.Int32(int32(p.opts.VolumeGB)),
				VolumeType:          types.VolumeTypeGp3,
				DeleteOnTermination: aws.Bool(false),
				Encrypted:           aws.Bool(true),
			},
		}},
		UserData: aws.String(base64.StdEncoding.EncodeToString([]byte(UserData(spec.Agent, p.opts.AgentPort)))),
		TagSpecifications: []types.TagSpecification{
			{ResourceType: types.ResourceTypeInstance, Tags: tags},
			{ResourceType: types.ResourceTypeVolume, Tags: tags},
		},
	}
	if p.opts.LaunchTemplateID != "" {
		in.LaunchTemplate = &types.LaunchTemplateSpecification{LaunchTemplateId: aws.String(p.opts.LaunchTemplateID), Version: aws.String("$Latest")}
	} else {
		in.ImageId = aws.String(p.opts.AMI)
	}
	if p.opts.InstanceType != "" {
		in.InstanceType = types.InstanceType(p.opts.InstanceType)
	}
	if p.opts.SubnetID != "" {
		in.SubnetId = aws.String(p.opts.SubnetID)
	}
	if len(p.opts.SecurityGroupIDs) > 0 {
		in.SecurityGroupIds = p.opts.SecurityGroupIDs
	}
	if p.opts.InstanceProfile != "" {
		in.IamInstanceProfile = &types.IamInstanceProfileSpecification{Name: aws.String(p.opts.InstanceProfile)}
	}
	out, err := p.client.RunInstances(ctx, in)
	if err != nil {
		return domain.VMInstance{}, fmt.Errorf("ec2: run instance: %w", err)
	}
	if len(out.Instances) != 1 || out.Instances[0].InstanceId == nil {
		return domain.VMInstance{}, errors.New("ec2: run instance: the answer names no instance")
	}
	return domain.VMInstance{ID: *out.Instances[0].InstanceId}, nil
}

// clientToken is RunInstances' idempotency token for one start (at most 64 ASCII characters).
func clientToken(spec domain.VMSpec) string {
	t := "vc-" + spec.WorkspaceID + "-" + strconv.FormatUint(fnv(spec.Agent.Token), 36)
	if len(t) > 64 {
		t = t[:64]
	}
	return t
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// WaitRunning polls until the instance runs with an address and returns the agent's URL.
// An instance that stops or terminates instead (no spot capacity) is an error with AWS's
// reason.
func (p *Provider) WaitRunning(ctx context.Context, workspaceID string, inst domain.VMInstance) (string, error) {
	for {
		i, err := p.describe(ctx, inst.ID)
		if err != nil {
			return "", err
		}
		if i == nil {
			return "", fmt.Errorf("ec2: instance %s is gone", inst.ID)
		}
		switch i.State.Name {
		case types.InstanceStateNameRunning:
			if ip := firstNonEmpty(aws.ToString(i.PublicIpAddress), aws.ToString(i.PrivateIpAddress)); ip != "" {
				return "http://" + net.JoinHostPort(ip, strconv.Itoa(p.opts.AgentPort)), nil
			}
		case types.InstanceStateNamePending:
		default:
			reason := ""
			if i.StateReason != nil {
				reason = ": " + aws.ToString(i.StateReason.Message)
			}
			return "", fmt.Errorf("ec2: instance %s is %s instead of running%s", inst.ID, i.State.Name, reason)
		}
		if err := sleep(ctx, p.opts.PollInterval); err != nil {
			return "", fmt.Errorf("ec2: waiting for %s to run: %w", inst.ID, err)
		}
	}
}

// Stop stops the workspace's instance and waits until it is stopped. A missing or
// terminated instance is already stopped.
func (p *Provider) Stop(ctx context.Context, workspaceID string, inst domain.VMInstance) error {
	id := inst.ID
	if id == "" {
		var err error
		if id, err = p.findByTag(ctx, workspaceID); err != nil || id == "" {
			return err
		}
	}
	if _, err := p.client.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}); err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("ec2: stop %s: %w", id, err)
	}
	_, err := p.waitState(ctx, id, "stopped")
	return err
}

// waitState polls until the instance is in one of states and returns it (nil once it is
// terminated or gone). Transitional states (pending, stopping, shutting-down) are waited out.
func (p *Provider) waitState(ctx context.Context, id string, states ...string) (*types.Instance, error) {
	for {
		i, err := p.describe(ctx, id)
		if err != nil || i == nil {
			return nil, err
		}
		name := string(i.State.Name)
		if name == string(types.InstanceStateNameTerminated) {
			return nil, nil
		}
		for _, s := range states {
			if name == s {
				return i, nil
			}
		}
		if err := sleep(ctx, p.opts.PollInterval); err != nil {
			return nil, fmt.Errorf("ec2: waiting for %s to be %s (it is %s): %w", id, strings.Join(states, " or "), name, err)
		}
	}
}

// describe returns the instance, or nil if EC2 does not know it.
func (p *Provider) describe(ctx context.Context, id string) (*types.Instance, error) {
	out, err := p.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ec2: describe %s: %w", id, err)
	}
	for _, r := range out.Reservations {
		for i := range r.Instances {
			if aws.ToString(r.Instances[i].InstanceId) == id {
				return &r.Instances[i], nil
			}
		}
	}
	return nil, nil
}

// findByTag returns the workspace's instance that is not terminated, or "".
func (p *Provider) findByTag(ctx context.Context, workspaceID string) (string, error) {
	out, err := p.client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []types.Filter{
		{Name: aws.String("tag:" + WorkspaceTag), Values: []string{workspaceID}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped"}},
	}})
	if err != nil {
		return "", fmt.Errorf("ec2: find the instance of workspace %s: %w", workspaceID, err)
	}
	var ids []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			ids = append(ids, aws.ToString(i.InstanceId))
		}
	}
	if len(ids) == 0 {
		return "", nil
	}
	sort.Strings(ids)
	return ids[0], nil
}

// isNotFound reports whether err is EC2's answer for an unknown instance.
func isNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && strings.HasPrefix(ae.ErrorCode(), "InvalidInstanceID.")
}

// imdsEnvScript rewrites /etc/vibecode/agent.env at every boot from the instance's current
// user data (IMDSv2), so the new agent token a resume writes with ModifyInstanceAttribute
// takes effect even though cloud-init caches the user data of the first boot.
const imdsEnvScript = `T=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60") && ` +
	`curl -sf -H "X-aws-ec2-metadata-token: $T" http://169.254.169.254/latest/user-data | ` +
	`sed -n "s/^# agent-env: //p" > /etc/vibecode/agent.env.new && mv /etc/vibecode/agent.env.new /etc/vibecode/agent.env`

// UserData returns the instance's cloud-config: the agent's environment as "# agent-env:"
// lines, which a bootcmd copies to /etc/vibecode/agent.env at every boot (the image's
// vibecode-agent unit reads it), and the workspace volume, formatted and mounted at /workspace
// on the first boot.
func UserData(agent domain.AgentConfig, port int) string {
	env := append(agent.Env(),
		domain.EnvAgentAddr+"="+net.JoinHostPort("0.0.0.0", strconv.Itoa(port)),
		domain.EnvAgentWorkspaceDir+"=/workspace/files",
		domain.EnvAgentStateDir+"=/workspace/.agent",
		domain.EnvAgentSpot+"=aws",
	)
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	for _, kv := range env {
		b.WriteString("# agent-env: " + strings.NewReplacer("\n", "", "\r", "").Replace(kv) + "\n")
	}
	b.WriteString("fs_setup:\n  - {label: workspace, filesystem: ext4, device: /dev/sdf, overwrite: false}\n")
	b.WriteString("mounts:\n  - [/dev/sdf, /workspace, ext4, \"defaults,nofail\", \"0\", \"2\"]\n")
	b.WriteString("bootcmd:\n  - [mkdir, -p, -m, \"0700\", /etc/vibecode]\n")
	b.WriteString("  - [sh, -c, '" + strings.ReplaceAll(imdsEnvScript, "'", "''") + "']\n")
	b.WriteString("runcmd:\n  - [systemctl, restart, vibecode-agent.service]\n")
	return b.String()
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
