package providers_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/lifecycle/providers"
)

func TestFromConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for env, want := range map[string]string{
		"": "local",
		"VM_PROVIDER=ec2,EC2_REGION=eu-west-1,EC2_AMI_ID=ami-1,EC2_ENDPOINT=http://127.0.0.1:1":                   "ec2",
		"VM_PROVIDER=gce,GCE_PROJECT=p,GCE_ZONE=europe-west1-b,GCE_IMAGE=img,GCE_ENDPOINT=http://127.0.0.1:1/v1/": "gce",
	} {
		vars := map[string]string{"VIBECODE_DATA_DIR": t.TempDir()}
		for _, kv := range splitPairs(env) {
			vars[kv[0]] = kv[1]
		}
		cfg, err := config.FromEnv(func(k string) string { return vars[k] })
		if err != nil {
			t.Fatal(err)
		}
		p, closeFn, err := providers.FromConfig(context.Background(), cfg, nil, log)
		if err != nil {
			t.Fatalf("%s: %v", want, err)
		}
		if p.Name() != want {
			t.Fatalf("provider = %s, want %s", p.Name(), want)
		}
		if err := closeFn(); err != nil {
			t.Fatal(err)
		}
	}
	// Configuration errors are named.
	if _, err := config.FromEnv(func(k string) string { return map[string]string{"VM_PROVIDER": "azure"}[k] }); err == nil {
		t.Fatal("VM_PROVIDER=azure was accepted")
	}
	if _, err := config.FromEnv(func(k string) string { return map[string]string{"VM_PROVIDER": "ec2"}[k] }); err == nil {
		t.Fatal("VM_PROVIDER=ec2 without a region was accepted")
	}
}

func splitPairs(s string) [][2]string {
	var out [][2]string
	for _, part := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(part, "="); ok {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}
