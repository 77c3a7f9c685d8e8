package ec2_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/ec2"
)

// fakeEC2 speaks the EC2 Query API (form-encoded Action=…&Version=2016-11-15, XML answers in
// the shapes EC2 sends) for the calls the provider makes, with instances that move through
// pending → running and stopping → stopped one DescribeInstances at a time.
type fakeEC2 struct {
	t  *testing.T
	mu sync.Mutex
	// calls are the requests in order, each as its form values.
	calls     []url.Values
	instances map[string]*fakeInstance
	tokens    map[string]string // client token → instance
	next      int
	// runError, when set, is the error code RunInstances answers.
	runError string
	// neverRuns makes new instances go from pending to stopped (no spot capacity).
	neverRuns bool
}

type fakeInstance struct {
	id, state, userData, workspace string
}

func newFakeEC2(t *testing.T) (*fakeEC2, *awsec2.Client) {
	f := &fakeEC2{t: t, instances: map[string]*fakeInstance{}, tokens: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := awsec2.New(awsec2.Options{
		Region:           "eu-west-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	return f, client
}

func (f *fakeEC2) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		out = append(out, c.Get("Action"))
	}
	return out
}

func (f *fakeEC2) call(action string) url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c.Get("Action") == action {
			return c
		}
	}
	f.t.Fatalf("no %s call among %d", action, len(f.calls))
	return nil
}

const ns = `xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"`

func (f *fakeEC2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") || r.Form.Get("Version") != "2016-11-15" {
		f.fail(w, "AuthFailure", "unsigned request or wrong API version")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Form)
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	switch action := r.Form.Get("Action"); action {
	case "RunInstances":
		if f.runError != "" {
			f.fail(w, f.runError, "simulated")
			return
		}
		id, ok := f.tokens[r.Form.Get("ClientToken")]
		if !ok {
			f.next++
			id = fmt.Sprintf("i-%017d", f.next)
			ws := ""
			for k, v := range r.Form {
				if strings.HasPrefix(k, "TagSpecification.1.Tag.") && strings.HasSuffix(k, ".Key") && v[0] == ec2.WorkspaceTag {
					ws = r.Form.Get(strings.TrimSuffix(k, ".Key") + ".Value")
				}
			}
			ud, _ := base64.StdEncoding.DecodeString(r.Form.Get("UserData"))
			f.instances[id] = &fakeInstance{id: id, state: "pending", userData: string(ud), workspace: ws}
			f.tokens[r.Form.Get("ClientToken")] = id
		}
		fmt.Fprintf(w, `<RunInstancesResponse %s><requestId>r1</requestId><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>%s</instancesSet></RunInstancesResponse>`,
			ns, instanceXML(f.instances[id]))
	case "DescribeInstances":
		var items []string
		for _, in := range f.match(r.Form) {
			items = append(items, instanceXML(in))
			f.advance(in)
		}
		fmt.Fprintf(w, `<DescribeInstancesResponse %s><requestId>r2</requestId><reservationSet>`, ns)
		if len(items) > 0 {
			fmt.Fprintf(w, `<item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><groupSet/><instancesSet>%s</instancesSet></item>`, strings.Join(items, ""))
		}
		fmt.Fprint(w, `</reservationSet></DescribeInstancesResponse>`)
	case "StartInstances", "StopInstances":
		in := f.instances[r.Form.Get("InstanceId.1")]
		if in == nil {
			f.fail(w, "InvalidInstanceID.NotFound", "The instance ID does not exist")
			return
		}
		prev := in.state
		switch {
		case action == "StartInstances" && in.state == "stopped":
			in.state = "pending"
		case action == "StartInstances":
			f.fail(w, "IncorrectInstanceState", "The instance is not in a state from which it can be started.")
			return
		case in.state != "stopped":
			in.state = "stopping"
		}
		tag := map[string]string{"StartInstances": "StartInstancesResponse", "StopInstances": "StopInstancesResponse"}[action]
		fmt.Fprintf(w, `<%s %s><requestId>r3</requestId><instancesSet><item><instanceId>%s</instanceId><currentState><code>0</code><name>%s</name></currentState><previousState><code>80</code><name>%s</name></previousState></item></instancesSet></%s>`,
			tag, ns, in.id, in.state, prev, tag)
	case "ModifyInstanceAttribute":
		in := f.instances[r.Form.Get("InstanceId")]
		if in == nil || in.state != "stopped" {
			f.fail(w, "IncorrectInstanceState", "The instance must be stopped")
			return
		}
		ud, _ := base64.StdEncoding.DecodeString(r.Form.Get("UserData.Value"))
		in.userData = string(ud)
		fmt.Fprintf(w, `<ModifyInstanceAttributeResponse %s><requestId>r4</requestId><return>true</return></ModifyInstanceAttributeResponse>`, ns)
	default:
		f.fail(w, "InvalidAction", "unknown action "+action)
	}
}

// match returns the instances a DescribeInstances asks for (by ID or by tag filter).
func (f *fakeEC2) match(form url.Values) []*fakeInstance {
	if id := form.Get("InstanceId.1"); id != "" {
		if in := f.instances[id]; in != nil {
			return []*fakeInstance{in}
		}
		return nil
	}
	var out []*fakeInstance
	if form.Get("Filter.1.Name") == "tag:"+ec2.WorkspaceTag {
		for _, in := range f.instances {
			if in.workspace == form.Get("Filter.1.Value.1") && in.state != "terminated" {
				out = append(out, in)
			}
		}
	}
	return out
}

// advance moves a transitional instance on, as time passes between two DescribeInstances.
func (f *fakeEC2) advance(in *fakeInstance) {
	switch in.state {
	case "pending":
		in.state = "running"
		if f.neverRuns {
			in.state = "stopped"
		}
	case "stopping":
		in.state = "stopped"
	}
}

func instanceXML(in *fakeInstance) string {
	ip := ""
	if in.state == "running" {
		ip = "<privateIpAddress>10.0.1.23</privateIpAddress><ipAddress>203.0.113.7</ipAddress>"
	}
	reason := ""
	if in.state == "stopped" {
		reason = "<stateReason><code>Server.InsufficientInstanceCapacity</code><message>Server.InsufficientInstanceCapacity: no spot capacity</message></stateReason>"
	}
	return fmt.Sprintf(`<item><instanceId>%s</instanceId><imageId>ami-1</imageId><instanceState><code>16</code><name>%s</name></instanceState>%s%s<instanceLifecycle>spot</instanceLifecycle><tagSet><item><key>%s</key><value>%s</value></item></tagSet></item>`,
		in.id, in.state, ip, reason, ec2.WorkspaceTag, in.workspace)
}

func (f *fakeEC2) fail(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>req-1</RequestID></Response>`, code, msg)
}

func spec(ws, token string) domain.VMSpec {
	return domain.VMSpec{WorkspaceID: ws, Agent: domain.AgentConfig{WorkspaceID: ws, ControlPlaneURL: "https://api.example",
		Token: token, TicketPublicKey: "cHVi", HeartbeatInterval: 30 * time.Second}}
}

func newProvider(client *awsec2.Client) *ec2.Provider {
	return ec2.NewWithClient(client, ec2.Options{LaunchTemplateID: "lt-0abc", InstanceType: "t4g.medium",
		SubnetID: "subnet-1", SecurityGroupIDs: []string{"sg-1", "sg-2"}, InstanceProfile: "vibecode-agent",
		VolumeGB: 30, PollInterval: time.Millisecond})
}

func TestProvider_StartStopResume(t *testing.T) {
	f, client := newFakeEC2(t)
	p := newProvider(client)
	ctx := context.Background()

	inst, err := p.Start(ctx, spec("ws1", "token-1"))
	if err != nil {
		t.Fatal(err)
	}
	run := f.call("RunInstances")
	want := map[string]string{
		"InstanceMarketOptions.MarketType":                               "spot",
		"InstanceMarketOptions.SpotOptions.SpotInstanceType":             "persistent",
		"InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior": "stop",
		"LaunchTemplate.LaunchTemplateId":                                "lt-0abc",
		"LaunchTemplate.Version":                                         "$Latest",
		"InstanceType":                                                   "t4g.medium",
		"SubnetId":                                                       "subnet-1",
		"SecurityGroupId.1":                                              "sg-1",
		"SecurityGroupId.2":                                              "sg-2",
		"IamInstanceProfile.Name":                                        "vibecode-agent",
		"BlockDeviceMapping.1.DeviceName":                                "/dev/sdf",
		"BlockDeviceMapping.1.Ebs.VolumeSize":                            "30",
		"BlockDeviceMapping.1.Ebs.DeleteOnTermination":                   "false",
		"BlockDeviceMapping.1.Ebs.Encrypted":                             "true",
		"MinCount":                                                       "1",
		"MaxCount":                                                       "1",
		"TagSpecification.1.ResourceType":                                "instance",
		"TagSpecification.2.ResourceType":                                "volume",
	}
	for k, v := range want {
		if got := run.Get(k); got != v {
			t.Errorf("RunInstances %s = %q, want %q", k, got, v)
		}
	}
	if run.Get("ClientToken") == "" {
		t.Error("RunInstances has no ClientToken")
	}
	ud, _ := base64.StdEncoding.DecodeString(run.Get("UserData"))
	for _, line := range []string{"#cloud-config\n", "# agent-env: AGENT_TOKEN=token-1\n", "# agent-env: WORKSPACE_ID=ws1\n",
		"# agent-env: AGENT_CONTROL_PLANE_URL=https://api.example\n", "# agent-env: AGENT_ADDR=0.0.0.0:7070\n", "# agent-env: AGENT_SPOT=aws\n", "/workspace"} {
		if !strings.Contains(string(ud), line) {
			t.Errorf("user data lacks %q:\n%s", line, ud)
		}
	}

	url, err := p.WaitRunning(ctx, "ws1", inst)
	if err != nil {
		t.Fatal(err)
	}
	if url != "http://203.0.113.7:7070" {
		t.Fatalf("agent URL = %q", url)
	}

	if err := p.Stop(ctx, "ws1", inst); err != nil {
		t.Fatal(err)
	}
	if st := f.instances[inst.ID].state; st != "stopped" {
		t.Fatalf("state after Stop = %s", st)
	}

	// Resume: new user data (a new token), then StartInstances; no second RunInstances.
	s2 := spec("ws1", "token-2")
	s2.InstanceID = inst.ID
	again, err := p.Start(ctx, s2)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != inst.ID {
		t.Fatalf("resumed %s, want %s", again.ID, inst.ID)
	}
	if !strings.Contains(f.instances[inst.ID].userData, "AGENT_TOKEN=token-2") {
		t.Fatal("the resumed instance's user data keeps the old token")
	}
	if _, err := p.WaitRunning(ctx, "ws1", again); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(f.actions(), ",")
	wantCalls := "RunInstances,DescribeInstances,DescribeInstances,StopInstances,DescribeInstances,DescribeInstances," +
		"DescribeInstances,ModifyInstanceAttribute,StartInstances,DescribeInstances,DescribeInstances"
	// The first call is the tag lookup (no recorded instance yet).
	if got != "DescribeInstances,"+wantCalls {
		t.Fatalf("calls = %s", got)
	}
}

func TestProvider_FindsUnrecordedInstanceByTag(t *testing.T) {
	f, client := newFakeEC2(t)
	p := newProvider(client)
	ctx := context.Background()
	inst, err := p.Start(ctx, spec("ws2", "t1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitRunning(ctx, "ws2", inst); err != nil {
		t.Fatal(err)
	}
	// The start died before recording the instance: Stop by workspace finds it.
	if err := p.Stop(ctx, "ws2", domain.VMInstance{}); err != nil {
		t.Fatal(err)
	}
	if f.instances[inst.ID].state != "stopped" {
		t.Fatal("the unrecorded instance still runs")
	}
	// And a start without an ID resumes it instead of creating another.
	again, err := p.Start(ctx, spec("ws2", "t2"))
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != inst.ID || len(f.instances) != 1 {
		t.Fatalf("start without an ID: %s, %d instances", again.ID, len(f.instances))
	}
	// Stopping a workspace that has no instance is not an error.
	if err := p.Stop(ctx, "nothing", domain.VMInstance{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(ctx, "ws2", domain.VMInstance{ID: "i-missing"}); err != nil {
		t.Fatalf("Stop of an unknown instance: %v", err)
	}
}

func TestProvider_Errors(t *testing.T) {
	f, client := newFakeEC2(t)
	p := newProvider(client)
	ctx := context.Background()

	f.runError = "InsufficientInstanceCapacity"
	_, err := p.Start(ctx, spec("ws3", "t"))
	if err == nil || !strings.Contains(err.Error(), "InsufficientInstanceCapacity") {
		t.Fatalf("Start with no capacity: %v", err)
	}

	f.runError, f.neverRuns = "", true
	inst, err := p.Start(ctx, spec("ws3", "t"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.WaitRunning(ctx, "ws3", inst)
	if err == nil || !strings.Contains(err.Error(), "no spot capacity") {
		t.Fatalf("WaitRunning of an instance that stopped: %v", err)
	}

	// A provider that never answers times out with the context.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	sp := newProvider(awsec2.New(awsec2.Options{Region: "eu-west-1", BaseEndpoint: aws.String(slow.URL),
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""), RetryMaxAttempts: 1}))
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := sp.Start(tctx, spec("ws4", "t")); err == nil {
		t.Fatal("Start against a silent endpoint succeeded")
	}
}
