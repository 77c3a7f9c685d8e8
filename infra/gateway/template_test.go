package gateway_test

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/vibecode/vibecode/infra/gateway"
)

// lookup walks a YAML mapping by keys, returning nil when any key is missing.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// value is a node's scalar value, or "" for a missing node.
func value(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return n.Value
}

// TestTemplate checks the real template.yaml: every function runs bootstrap on provided.al2023
// for arm64 (set per function or in Globals), and its routes parse.
func TestTemplate(t *testing.T) {
	b, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	globals := lookup(root, "Globals", "Function")
	resources := lookup(root, "Resources")

	setting := func(fn *yaml.Node, key string) *yaml.Node {
		if v := lookup(fn, "Properties", key); v != nil {
			return v
		}
		return lookup(globals, key)
	}
	functions := 0
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		if value(lookup(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		functions++
		if v := setting(res, "Runtime"); v == nil || v.Value != "provided.al2023" {
			t.Errorf("%s: Runtime is not provided.al2023", id)
		}
		if v := setting(res, "Handler"); v == nil || v.Value != "bootstrap" {
			t.Errorf("%s: Handler is not bootstrap", id)
		}
		if v := setting(res, "Architectures"); v == nil || len(v.Content) != 1 || v.Content[0].Value != "arm64" {
			t.Errorf("%s: Architectures is not [arm64]", id)
		}
		events := lookup(res, "Properties", "Events")
		for j := 0; events != nil && j+1 < len(events.Content); j += 2 {
			ev := events.Content[j+1]
			if value(lookup(ev, "Type")) != "HttpApi" {
				continue
			}
			api := lookup(ev, "Properties", "ApiId")
			if api == nil || api.Tag != "!Ref" || value(lookup(resources, api.Value, "Type")) != "AWS::Serverless::HttpApi" {
				t.Errorf("%s.%s: ApiId is not !Ref to an AWS::Serverless::HttpApi", id, events.Content[j].Value)
			}
		}
	}
	if functions == 0 {
		t.Fatal("no AWS::Serverless::Function in template.yaml")
	}

	// Which routes each function serves is checked against the functions' own routers in
	// infra (TestTemplate_RoutesMatchFunctions); here they only have to parse.
	if _, err := gateway.ParseTemplate(b); err != nil {
		t.Fatalf("ParseTemplate: %v", err)
	}
}
