package config

import (
	"fmt"
	"time"
)

// Lifecycle configures workspace VMs: which provider runs them, when idle ones hibernate,
// and how agents reach the control plane.
type Lifecycle struct {
	// Provider is local (default: agent processes on this machine), ec2 or gce (VM_PROVIDER).
	Provider string
	// IdleTimeout stops a workspace with no terminal or editor activity (IDLE_TIMEOUT, default
	// 30m); NoClientsTimeout once every client has gone (IDLE_TIMEOUT_NO_CLIENTS, default 3m).
	IdleTimeout      time.Duration
	NoClientsTimeout time.Duration
	// KeepaliveMax caps one keepalive (KEEPALIVE_MAX, default 4h).
	KeepaliveMax time.Duration
	// StopWarning: heartbeat replies warn this long before an idle stop (STOP_WARNING, 5m).
	StopWarning time.Duration
	// HeartbeatInterval is how often agents report (AGENT_HEARTBEAT_INTERVAL, 30s);
	// AgentLostAfter stops a workspace whose agent went silent (AGENT_LOST_AFTER, 3m).
	HeartbeatInterval time.Duration
	AgentLostAfter    time.Duration
	// StartTimeout bounds a start (START_TIMEOUT, 5m); StopTimeout one stop (STOP_TIMEOUT, 2m).
	StartTimeout time.Duration
	StopTimeout  time.Duration
	// SweepInterval is how often the local stack runs the sweeper (SWEEP_INTERVAL, 1m); in
	// the cloud the schedule in template.yaml (or Cloud Scheduler) decides.
	SweepInterval time.Duration
	// ControlPlaneURL is the API's base URL as agents reach it (CONTROL_PLANE_URL, default
	// http://HOST:PORT, right for the local stack).
	ControlPlaneURL string
	// AgentAllowedOrigins are the browser origins (the IDE's) agents accept WebSockets from
	// (AGENT_ALLOWED_ORIGINS, comma-separated; default the origin of ControlPlaneURL).
	AgentAllowedOrigins []string
	// TicketPrivateKey signs agent tickets (TICKET_PRIVATE_KEY, base64 Ed25519 seed). When
	// unset, the embedded default generates a key pair once and keeps it in the data dir;
	// with DATABASE_URL it is required.
	TicketPrivateKey string
	// AgentBin is the local agent binary (VIBECODE_AGENT_BIN); unset builds ./workspace-vm.
	AgentBin string
	// AgentPort is the port agents listen on in cloud VMs (AGENT_PORT, default 7070).
	AgentPort int

	// EC2 spot instances (VM_PROVIDER=ec2): EC2_REGION (or AWS_REGION), EC2_ENDPOINT (tests),
	// EC2_LAUNCH_TEMPLATE_ID, EC2_AMI_ID, EC2_INSTANCE_TYPE (t4g.medium), EC2_SUBNET_ID,
	// EC2_SECURITY_GROUP_IDS (comma-separated), EC2_INSTANCE_PROFILE, EC2_VOLUME_GB (20).
	EC2Region, EC2Endpoint, EC2LaunchTemplateID, EC2AMI, EC2InstanceType string
	EC2SubnetID, EC2InstanceProfile                                      string
	EC2SecurityGroupIDs                                                  []string
	EC2VolumeGB                                                          int

	// Compute Engine Spot VMs (VM_PROVIDER=gce): GCE_PROJECT (or GOOGLE_CLOUD_PROJECT),
	// GCE_ZONE, GCE_ENDPOINT (tests), GCE_MACHINE_TYPE (e2-standard-2), GCE_IMAGE, GCE_NETWORK,
	// GCE_SUBNETWORK, GCE_SERVICE_ACCOUNT, GCE_DISK_GB (20).
	GCEProject, GCEZone, GCEEndpoint, GCEMachineType, GCEImage string
	GCENetwork, GCESubnetwork, GCEServiceAccount               string
	GCEDiskGB                                                  int
}

// lifecycle reads the Lifecycle block; c is the configuration read so far (for defaults).
func (p *parser) lifecycle(c Config) Lifecycle {
	l := Lifecycle{
		Provider:            p.str("VM_PROVIDER", "local"),
		IdleTimeout:         p.duration("IDLE_TIMEOUT", 30*time.Minute),
		NoClientsTimeout:    p.duration("IDLE_TIMEOUT_NO_CLIENTS", 3*time.Minute),
		KeepaliveMax:        p.duration("KEEPALIVE_MAX", 4*time.Hour),
		StopWarning:         p.duration("STOP_WARNING", 5*time.Minute),
		HeartbeatInterval:   p.duration("AGENT_HEARTBEAT_INTERVAL", 30*time.Second),
		AgentLostAfter:      p.duration("AGENT_LOST_AFTER", 3*time.Minute),
		StartTimeout:        p.duration("START_TIMEOUT", 5*time.Minute),
		StopTimeout:         p.duration("STOP_TIMEOUT", 2*time.Minute),
		SweepInterval:       p.duration("SWEEP_INTERVAL", time.Minute),
		ControlPlaneURL:     p.str("CONTROL_PLANE_URL", "http://"+c.Addr()),
		TicketPrivateKey:    p.str("TICKET_PRIVATE_KEY", ""),
		AgentAllowedOrigins: p.list("AGENT_ALLOWED_ORIGINS"),
		AgentBin:            p.str("VIBECODE_AGENT_BIN", ""),
		AgentPort:           p.int("AGENT_PORT", 7070),

		EC2Region:           p.str("EC2_REGION", p.str("AWS_REGION", "")),
		EC2Endpoint:         p.str("EC2_ENDPOINT", ""),
		EC2LaunchTemplateID: p.str("EC2_LAUNCH_TEMPLATE_ID", ""),
		EC2AMI:              p.str("EC2_AMI_ID", ""),
		EC2InstanceType:     p.str("EC2_INSTANCE_TYPE", "t4g.medium"),
		EC2SubnetID:         p.str("EC2_SUBNET_ID", ""),
		EC2InstanceProfile:  p.str("EC2_INSTANCE_PROFILE", ""),
		EC2SecurityGroupIDs: p.list("EC2_SECURITY_GROUP_IDS"),
		EC2VolumeGB:         p.int("EC2_VOLUME_GB", 20),

		GCEProject:        p.str("GCE_PROJECT", p.str("GOOGLE_CLOUD_PROJECT", "")),
		GCEZone:           p.str("GCE_ZONE", ""),
		GCEEndpoint:       p.str("GCE_ENDPOINT", ""),
		GCEMachineType:    p.str("GCE_MACHINE_TYPE", "e2-standard-2"),
		GCEImage:          p.str("GCE_IMAGE", ""),
		GCENetwork:        p.str("GCE_NETWORK", ""),
		GCESubnetwork:     p.str("GCE_SUBNETWORK", ""),
		GCEServiceAccount: p.str("GCE_SERVICE_ACCOUNT", ""),
		GCEDiskGB:         p.int("GCE_DISK_GB", 20),
	}
	switch l.Provider {
	case "local":
	case "ec2":
		if l.EC2Region == "" {
			p.fail("VM_PROVIDER", "is ec2 but neither EC2_REGION nor AWS_REGION is set")
		}
		if l.EC2LaunchTemplateID == "" && l.EC2AMI == "" {
			p.fail("VM_PROVIDER", "is ec2 but neither EC2_LAUNCH_TEMPLATE_ID nor EC2_AMI_ID is set")
		}
	case "gce":
		if l.GCEProject == "" || l.GCEZone == "" || l.GCEImage == "" {
			p.fail("VM_PROVIDER", "is gce but GCE_PROJECT (or GOOGLE_CLOUD_PROJECT), GCE_ZONE and GCE_IMAGE are not all set")
		}
	default:
		p.fail("VM_PROVIDER", fmt.Sprintf("must be local, ec2 or gce, not %q", l.Provider))
	}
	if l.NoClientsTimeout > l.IdleTimeout {
		p.fail("IDLE_TIMEOUT_NO_CLIENTS", "must not be longer than IDLE_TIMEOUT")
	}
	if l.AgentLostAfter <= l.HeartbeatInterval {
		p.fail("AGENT_LOST_AFTER", "must be longer than AGENT_HEARTBEAT_INTERVAL")
	}
	if l.AgentPort < 1 || l.AgentPort > 65535 || l.EC2VolumeGB < 1 || l.GCEDiskGB < 1 {
		p.fail("AGENT_PORT", "EC2_VOLUME_GB and GCE_DISK_GB must be positive (a port at most 65535)")
	}
	return l
}
