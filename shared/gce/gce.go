// Package gce is the Google Cloud domain.VMProvider: each workspace runs on a Compute Engine
// Spot VM whose termination action is STOP, so a preempted VM stops like an idle one and keeps
// its disks. The workspace's files live on a second persistent disk that is not deleted with
// the instance.
//
// Instances are named after their workspace (vc-<workspace id>), so a workspace's VM is always
// found even when a start died before recording it. The agent's environment is the instance
// metadata value vibecode-agent-env (KEY=value lines), which the image's vibecode-agent unit
// reads from the metadata server at every boot; a resume rewrites it (a new agent token every
// start) with setMetadata before starting the instance. Every mutating call returns a zone
// operation, which is polled until DONE and whose errors are reported.
package gce

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/compute/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.VMProvider = (*Provider)(nil)

// Name is the provider's name in VMState.Provider.
const Name = "gce"

// EnvMetadataKey is the instance metadata key that holds the agent's environment.
const EnvMetadataKey = "vibecode-agent-env"

// WorkspaceLabel is the label that names an instance's workspace.
const WorkspaceLabel = "vibecode-workspace"

// Options configure the provider.
type Options struct {
	Project, Zone string
	// Endpoint replaces the Compute Engine endpoint (tests); requests then go unauthenticated.
	Endpoint string
	// MachineType (default e2-standard-2) and Image (a full or project-relative image URL).
	MachineType, Image string
	// Network and Subnetwork of the VM's interface (default: the default network).
	Network, Subnetwork string
	// ServiceAccount is the VM's service account email, if any.
	ServiceAccount string
	// DiskGB is the size of the workspace disk (default 20).
	DiskGB int64
	// AgentPort is the port the agent listens on (default 7070).
	AgentPort int
	// PollInterval is how often operations and instances are polled (default 2 s).
	PollInterval time.Duration
	// HTTPClient, when set, carries the requests (tests).
	HTTPClient *http.Client
}

// Provider runs workspaces on Compute Engine Spot VMs. It is safe for concurrent use.
type Provider struct {
	svc  *compute.Service
	opts Options
}

// New returns a provider using Application Default Credentials, or no credentials at all
// when opts.Endpoint points at a test server.
func New(ctx context.Context, opts Options) (*Provider, error) {
	var copts []option.ClientOption
	if opts.Endpoint != "" {
		copts = append(copts, option.WithEndpoint(opts.Endpoint), option.WithoutAuthentication())
	}
	if opts.HTTPClient != nil {
		copts = append(copts, option.WithHTTPClient(opts.HTTPClient))
	}
	svc, err := compute.NewService(ctx, copts...)
	if err != nil {
		return nil, fmt.Errorf("gce: cannot create the compute client: %w", err)
	}
	if opts.MachineType == "" {
		opts.MachineType = "e2-standard-2"
	}
	if opts.DiskGB <= 0 {
		opts.DiskGB = 20
	}
	if opts.AgentPort <= 0 {
		opts.AgentPort = 7070
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	return &Provider{svc: svc, opts: opts}, nil
}

// Name returns "gce".
func (p *Provider) Name() string { return Name }

// InstanceName is the name of a workspace's instance.
func InstanceName(workspaceID string) string { return "vc-" + strings.ToLower(workspaceID) }

// Start creates the workspace's Spot VM, or resumes its stopped one with a new environment.
func (p *Provider) Start(ctx context.Context, spec domain.VMSpec) (domain.VMInstance, error) {
	name := InstanceName(spec.WorkspaceID)
	env := agentEnv(spec.Agent, p.opts.AgentPort)
	_, err := p.svc.Instances.Get(p.opts.Project, p.opts.Zone, name).Context(ctx).Do()
	if isNotFound(err) {
		return p.insert(ctx, spec, name, env)
	}
	if err != nil {
		return domain.VMInstance{}, fmt.Errorf("gce: get %s: %w", name, err)
	}
	// A preempted VM may still be stopping; it can be started once TERMINATED.
	inst, err := p.waitStatus(ctx, name, "TERMINATED", "RUNNING", "PROVISIONING", "STAGING")
	if err != nil {
		return domain.VMInstance{}, err
	}
	if inst.Status != "TERMINATED" {
		return domain.VMInstance{ID: name}, nil
	}
	md := inst.Metadata
	if md == nil {
		md = &compute.Metadata{}
	}
	setItem(md, EnvMetadataKey, env)
	op, err := p.svc.Instances.SetMetadata(p.opts.Project, p.opts.Zone, name, md).Context(ctx).Do()
	if err := p.wait(ctx, "set metadata of "+name, op, err); err != nil {
		return domain.VMInstance{}, err
	}
	op, err = p.svc.Instances.Start(p.opts.Project, p.opts.Zone, name).Context(ctx).Do()
	if err := p.wait(ctx, "start "+name, op, err); err != nil {
		return domain.VMInstance{}, err
	}
	return domain.VMInstance{ID: name}, nil
}

func (p *Provider) insert(ctx context.Context, spec domain.VMSpec, name, env string) (domain.VMInstance, error) {
	zone := "zones/" + p.opts.Zone
	nic := &compute.NetworkInterface{
		Network:       p.opts.Network,
		Subnetwork:    p.opts.Subnetwork,
		AccessConfigs: []*compute.AccessConfig{{Name: "External NAT", Type: "ONE_TO_ONE_NAT"}},
	}
	inst := &compute.Instance{
		Name:        name,
		MachineType: zone + "/machineTypes/" + p.opts.MachineType,
		Labels:      map[string]string{WorkspaceLabel: strings.ToLower(spec.WorkspaceID)},
		Scheduling: &compute.Scheduling{
			ProvisioningModel:         "SPOT",
			InstanceTerminationAction: "STOP",
			AutomaticRestart:          googleapi.Bool(false),
			OnHostMaintenance:         "TERMINATE",
		},
		Disks: []*compute.AttachedDisk{
			{Boot: true, AutoDelete: true, InitializeParams: &compute.AttachedDiskInitializeParams{SourceImage: p.opts.Image}},
			{
				// Sent explicitly: the workspace disk must outlive the instance.
				Boot: false, AutoDelete: false, DeviceName: "workspace", ForceSendFields: []string{"AutoDelete"},
				InitializeParams: &compute.AttachedDiskInitializeParams{
					DiskName: name + "-workspace", DiskSizeGb: p.opts.DiskGB, DiskType: zone + "/diskTypes/pd-balanced",
				},
			},
		},
		NetworkInterfaces: []*compute.NetworkInterface{nic},
		Metadata:          &compute.Metadata{Items: []*compute.MetadataItems{{Key: EnvMetadataKey, Value: googleapi.String(env)}}},
	}
	if p.opts.ServiceAccount != "" {
		inst.ServiceAccounts = []*compute.ServiceAccount{{Email: p.opts.ServiceAccount, Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}}}
	}
	// The request ID makes a retried insert of this start a no-op on the server.
	op, err := p.svc.Instances.Insert(p.opts.Project, p.opts.Zone, inst).RequestId(requestID(spec)).Context(ctx).Do()
	if err := p.wait(ctx, "insert "+name, op, err); err != nil {
		return domain.VMInstance{}, err
	}
	return domain.VMInstance{ID: name}, nil
}

// WaitRunning polls until the VM runs with an address and returns the agent's URL.
func (p *Provider) WaitRunning(ctx context.Context, workspaceID string, inst domain.VMInstance) (string, error) {
	name := inst.ID
	if name == "" {
		name = InstanceName(workspaceID)
	}
	for {
		i, err := p.svc.Instances.Get(p.opts.Project, p.opts.Zone, name).Context(ctx).Do()
		if err != nil {
			return "", fmt.Errorf("gce: get %s: %w", name, err)
		}
		switch i.Status {
		case "RUNNING":
			if ip := address(i); ip != "" {
				return "http://" + net.JoinHostPort(ip, strconv.Itoa(p.opts.AgentPort)), nil
			}
		case "PROVISIONING", "STAGING":
		default:
			return "", fmt.Errorf("gce: %s is %s instead of running: %s", name, i.Status, i.StatusMessage)
		}
		if err := sleep(ctx, p.opts.PollInterval); err != nil {
			return "", fmt.Errorf("gce: waiting for %s to run: %w", name, err)
		}
	}
}

// Stop stops the workspace's VM (its disks persist) and waits for the operation. A missing
// VM is already stopped.
func (p *Provider) Stop(ctx context.Context, workspaceID string, inst domain.VMInstance) error {
	name := inst.ID
	if name == "" {
		name = InstanceName(workspaceID)
	}
	op, err := p.svc.Instances.Stop(p.opts.Project, p.opts.Zone, name).Context(ctx).Do()
	if isNotFound(err) {
		return nil
	}
	return p.wait(ctx, "stop "+name, op, err)
}

// wait polls a zone operation until it is DONE and returns its error, if any.
func (p *Provider) wait(ctx context.Context, what string, op *compute.Operation, err error) error {
	for {
		if err != nil {
			return fmt.Errorf("gce: %s: %w", what, err)
		}
		if op.Status == "DONE" {
			if op.Error != nil && len(op.Error.Errors) > 0 {
				var msgs []string
				for _, e := range op.Error.Errors {
					msgs = append(msgs, e.Code+": "+e.Message)
				}
				return fmt.Errorf("gce: %s: %s", what, strings.Join(msgs, "; "))
			}
			return nil
		}
		if err := sleep(ctx, p.opts.PollInterval); err != nil {
			return fmt.Errorf("gce: %s: waiting for operation %s: %w", what, op.Name, err)
		}
		op, err = p.svc.ZoneOperations.Get(p.opts.Project, p.opts.Zone, op.Name).Context(ctx).Do()
	}
}

// waitStatus polls until the VM has one of statuses and returns it.
func (p *Provider) waitStatus(ctx context.Context, name string, statuses ...string) (*compute.Instance, error) {
	for {
		i, err := p.svc.Instances.Get(p.opts.Project, p.opts.Zone, name).Context(ctx).Do()
		if err != nil {
			return nil, fmt.Errorf("gce: get %s: %w", name, err)
		}
		for _, s := range statuses {
			if i.Status == s {
				return i, nil
			}
		}
		if err := sleep(ctx, p.opts.PollInterval); err != nil {
			return nil, fmt.Errorf("gce: waiting for %s (it is %s): %w", name, i.Status, err)
		}
	}
}

// agentEnv is the agent's environment as the metadata value holds it.
func agentEnv(agent domain.AgentConfig, port int) string {
	env := append(agent.Env(),
		domain.EnvAgentAddr+"="+net.JoinHostPort("0.0.0.0", strconv.Itoa(port)),
		domain.EnvAgentWorkspaceDir+"=/workspace/files",
		domain.EnvAgentStateDir+"=/workspace/.agent",
		domain.EnvAgentSpot+"=gcp",
	)
	return strings.Join(env, "\n") + "\n"
}

func setItem(md *compute.Metadata, key, value string) {
	for _, it := range md.Items {
		if it.Key == key {
			it.Value = googleapi.String(value)
			return
		}
	}
	md.Items = append(md.Items, &compute.MetadataItems{Key: key, Value: googleapi.String(value)})
}

// address is the VM's external address, else its internal one.
func address(i *compute.Instance) string {
	for _, nic := range i.NetworkInterfaces {
		for _, ac := range nic.AccessConfigs {
			if ac.NatIP != "" {
				return ac.NatIP
			}
		}
	}
	for _, nic := range i.NetworkInterfaces {
		if nic.NetworkIP != "" {
			return nic.NetworkIP
		}
	}
	return ""
}

// requestID is a UUID-shaped idempotency key for one start's insert.
func requestID(spec domain.VMSpec) string {
	h1, h2 := fnv(spec.WorkspaceID+"\x00"+spec.Agent.Token), fnv(spec.Agent.Token+"\x00"+spec.WorkspaceID)
	s := fmt.Sprintf("%016x%016x", h1, h2)
	return s[0:8] + "-" + s[8:12] + "-4" + s[13:16] + "-8" + s[17:20] + "-" + s[20:32]
}

func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func isNotFound(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusNotFound
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
