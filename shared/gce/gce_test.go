package gce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/gce"
)

// fakeCompute speaks the Compute Engine v1 REST JSON for instances and zone operations:
// mutating calls answer a RUNNING operation that is DONE at its first poll; instances move
// PROVISIONING → STAGING → RUNNING and STOPPING → TERMINATED one GET at a time.
type fakeCompute struct {
	t  *testing.T
	mu sync.Mutex
	// calls are "METHOD path" in order; bodies the decoded JSON bodies by call index.
	calls     []string
	bodies    map[int]map[string]any
	instances map[string]*fakeVM
	ops       map[string]*fakeOp
	next      int
	// insertError, when set, is the error the insert operation ends with.
	insertError string
}

type fakeVM struct {
	name, status, env, fingerprint string
}

type fakeOp struct {
	name, err string
}

const prefix = "/compute/v1/projects/proj/zones/europe-west1-b/"

func newFake(t *testing.T) (*fakeCompute, string) {
	f := &fakeCompute{t: t, bodies: map[int]map[string]any{}, instances: map[string]*fakeVM{}, ops: map[string]*fakeOp{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/compute/v1/"
}

func (f *fakeCompute) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := r.Method + " " + strings.TrimPrefix(r.URL.Path, prefix)
	f.calls = append(f.calls, call)
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		if len(b) > 0 {
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				f.fail(w, http.StatusBadRequest, "bad JSON")
				return
			}
			f.bodies[len(f.calls)-1] = m
		}
	}
	if !strings.HasPrefix(r.URL.Path, prefix) {
		f.fail(w, http.StatusNotFound, "unknown project or zone")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, prefix), "/")
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	switch {
	case r.Method == "POST" && len(parts) == 1 && parts[0] == "instances":
		name, _ := f.bodies[len(f.calls)-1]["name"].(string)
		md, _ := f.bodies[len(f.calls)-1]["metadata"].(map[string]any)
		items, _ := md["items"].([]any)
		vm := &fakeVM{name: name, status: "PROVISIONING", fingerprint: "fp1"}
		for _, it := range items {
			if m := it.(map[string]any); m["key"] == gce.EnvMetadataKey {
				vm.env, _ = m["value"].(string)
			}
		}
		if f.insertError == "" {
			f.instances[name] = vm
		}
		f.op(w, f.insertError)
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "instances":
		vm := f.instances[parts[1]]
		if vm == nil {
			f.fail(w, http.StatusNotFound, fmt.Sprintf("The resource 'projects/proj/zones/europe-west1-b/instances/%s' was not found", parts[1]))
			return
		}
		_ = json.NewEncoder(w).Encode(vmJSON(vm))
		switch vm.status { // time passes between two GETs
		case "PROVISIONING":
			vm.status = "STAGING"
		case "STAGING":
			vm.status = "RUNNING"
		case "STOPPING":
			vm.status = "TERMINATED"
		}
	case r.Method == "POST" && len(parts) == 3 && parts[0] == "instances":
		vm := f.instances[parts[1]]
		if vm == nil {
			f.fail(w, http.StatusNotFound, "instance not found")
			return
		}
		switch parts[2] {
		case "start":
			vm.status = "STAGING"
		case "stop":
			if vm.status != "TERMINATED" {
				vm.status = "STOPPING"
			}
		case "setMetadata":
			body := f.bodies[len(f.calls)-1]
			if body["fingerprint"] != vm.fingerprint {
				f.fail(w, http.StatusPreconditionFailed, "fingerprint mismatch")
				return
			}
			items, _ := body["items"].([]any)
			for _, it := range items {
				if m := it.(map[string]any); m["key"] == gce.EnvMetadataKey {
					vm.env, _ = m["value"].(string)
				}
			}
			vm.fingerprint += "x"
		default:
			f.fail(w, http.StatusNotFound, "unknown method")
			return
		}
		f.op(w, "")
	case r.Method == "GET" && len(parts) == 2 && parts[0] == "operations":
		op := f.ops[parts[1]]
		if op == nil {
			f.fail(w, http.StatusNotFound, "no such operation")
			return
		}
		out := map[string]any{"kind": "compute#operation", "name": op.name, "status": "DONE"}
		if op.err != "" {
			out["error"] = map[string]any{"errors": []any{map[string]any{"code": "ZONE_RESOURCE_POOL_EXHAUSTED", "message": op.err}}}
		}
		_ = json.NewEncoder(w).Encode(out)
	default:
		f.fail(w, http.StatusNotFound, "unknown route "+call)
	}
}

// op answers a new operation that is not done yet; errMsg is its error once done.
func (f *fakeCompute) op(w http.ResponseWriter, errMsg string) {
	f.next++
	name := fmt.Sprintf("operation-%d", f.next)
	f.ops[name] = &fakeOp{name: name, err: errMsg}
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "compute#operation", "name": name, "status": "RUNNING",
		"zone": "https://www.googleapis.com/compute/v1/projects/proj/zones/europe-west1-b"})
}

func vmJSON(vm *fakeVM) map[string]any {
	nic := map[string]any{"networkIP": "10.132.0.9"}
	if vm.status == "RUNNING" {
		nic["accessConfigs"] = []any{map[string]any{"type": "ONE_TO_ONE_NAT", "natIP": "198.51.100.4"}}
	}
	return map[string]any{"kind": "compute#instance", "name": vm.name, "status": vm.status,
		"networkInterfaces": []any{nic},
		"metadata":          map[string]any{"fingerprint": vm.fingerprint, "items": []any{map[string]any{"key": gce.EnvMetadataKey, "value": vm.env}}}}
}

func (f *fakeCompute) fail(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"errors": []any{map[string]any{"message": msg, "domain": "global", "reason": "notFound"}}}})
}

func (f *fakeCompute) callList() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, "\n")
}

func (f *fakeCompute) body(call string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, c := range f.calls {
		if c == call {
			return f.bodies[i]
		}
	}
	f.t.Fatalf("no call %q", call)
	return nil
}

func newProvider(t *testing.T, endpoint string) *gce.Provider {
	t.Helper()
	p, err := gce.New(context.Background(), gce.Options{Project: "proj", Zone: "europe-west1-b", Endpoint: endpoint,
		Image: "projects/vibecode/global/images/agent-1", Network: "global/networks/ws", DiskGB: 50,
		ServiceAccount: "agent@proj.iam.gserviceaccount.com", PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func spec(ws, token string) domain.VMSpec {
	return domain.VMSpec{WorkspaceID: ws, Agent: domain.AgentConfig{WorkspaceID: ws, ControlPlaneURL: "https://api.example",
		Token: token, TicketPublicKey: "cHVi", HeartbeatInterval: 30 * time.Second}}
}

func TestProvider_StartStopResume(t *testing.T) {
	f, endpoint := newFake(t)
	p := newProvider(t, endpoint)
	ctx := context.Background()
	ws := "0123456789abcdef0123456789abcdef"
	name := gce.InstanceName(ws)

	inst, err := p.Start(ctx, spec(ws, "token-1"))
	if err != nil {
		t.Fatal(err)
	}
	if inst.ID != name {
		t.Fatalf("instance = %q, want %q", inst.ID, name)
	}
	body := f.body("POST instances")
	sched, _ := body["scheduling"].(map[string]any)
	if sched["provisioningModel"] != "SPOT" || sched["instanceTerminationAction"] != "STOP" || sched["automaticRestart"] != false {
		t.Fatalf("scheduling = %v", sched)
	}
	disks, _ := body["disks"].([]any)
	if len(disks) != 2 {
		t.Fatalf("disks = %v", disks)
	}
	data := disks[1].(map[string]any)
	params := data["initializeParams"].(map[string]any)
	if data["autoDelete"] != false || params["diskSizeGb"] != "50" || params["diskName"] != name+"-workspace" {
		t.Fatalf("workspace disk = %v", data)
	}
	if boot := disks[0].(map[string]any); boot["boot"] != true || boot["initializeParams"].(map[string]any)["sourceImage"] != "projects/vibecode/global/images/agent-1" {
		t.Fatalf("boot disk = %v", boot)
	}
	if body["machineType"] != "zones/europe-west1-b/machineTypes/e2-standard-2" || body["labels"].(map[string]any)[gce.WorkspaceLabel] != ws {
		t.Fatalf("instance = %v", body)
	}
	env := f.instances[name].env
	for _, line := range []string{"AGENT_TOKEN=token-1\n", "WORKSPACE_ID=" + ws + "\n", "AGENT_ADDR=0.0.0.0:7070\n", "TICKET_PUBLIC_KEY=cHVi\n", "AGENT_SPOT=gcp\n"} {
		if !strings.Contains(env, line) {
			t.Fatalf("agent env lacks %q:\n%s", line, env)
		}
	}

	url, err := p.WaitRunning(ctx, ws, inst)
	if err != nil {
		t.Fatal(err)
	}
	if url != "http://198.51.100.4:7070" {
		t.Fatalf("agent URL = %q", url)
	}
	if err := p.Stop(ctx, ws, inst); err != nil {
		t.Fatal(err)
	}
	// Resume after the stop finished: new metadata (fingerprinted), then start.
	if _, err := p.Start(ctx, spec(ws, "token-2")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.instances[name].env, "AGENT_TOKEN=token-2\n") {
		t.Fatal("the resumed VM keeps the old agent token")
	}
	if _, err := p.WaitRunning(ctx, ws, inst); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"GET instances/" + name, // not found: insert
		"POST instances", "GET operations/operation-1",
		"GET instances/" + name, "GET instances/" + name, "GET instances/" + name, // provisioning, staging, running
		"POST instances/" + name + "/stop", "GET operations/operation-2",
		"GET instances/" + name, "GET instances/" + name, // stopping, then terminated
		"POST instances/" + name + "/setMetadata", "GET operations/operation-3",
		"POST instances/" + name + "/start", "GET operations/operation-4",
		"GET instances/" + name, "GET instances/" + name,
	}, "\n")
	if got := f.callList(); got != want {
		t.Fatalf("calls:\n%s\nwant:\n%s", got, want)
	}
}

func TestProvider_Errors(t *testing.T) {
	f, endpoint := newFake(t)
	p := newProvider(t, endpoint)
	ctx := context.Background()

	// Stopping a workspace that has no VM is not an error.
	if err := p.Stop(ctx, "nothing", domain.VMInstance{}); err != nil {
		t.Fatal(err)
	}
	// An operation that ends in an error fails the start with Google's message.
	f.insertError = "The zone does not have enough resources available to fulfill the request."
	_, err := p.Start(ctx, spec("ws1", "t"))
	if err == nil || !strings.Contains(err.Error(), "ZONE_RESOURCE_POOL_EXHAUSTED") {
		t.Fatalf("Start with an exhausted zone: %v", err)
	}
	// A VM that is stopped instead of running fails WaitRunning.
	f.insertError = ""
	inst, err := p.Start(ctx, spec("ws1", "t"))
	if err != nil {
		t.Fatal(err)
	}
	f.instances[inst.ID].status = "TERMINATED"
	if _, err := p.WaitRunning(ctx, "ws1", inst); err == nil || !strings.Contains(err.Error(), "TERMINATED") {
		t.Fatalf("WaitRunning of a terminated VM: %v", err)
	}
	// An endpoint that never answers: the context ends the call.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	sp := newProvider(t, slow.URL+"/compute/v1/")
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := sp.Start(tctx, spec("ws2", "t")); err == nil {
		t.Fatal("Start against a silent endpoint succeeded")
	}
}
