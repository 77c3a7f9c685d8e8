package main

import (
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"

	"github.com/vibecode/vibecode/infra/gateway"
	"github.com/vibecode/vibecode/shared/httpapi"
)

// templateRoutes returns the routes template.yaml declares.
func templateRoutes(t testing.TB) []gateway.Route {
	t.Helper()
	b, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routes, err := gateway.ParseTemplate(b)
	if err != nil {
		t.Fatal(err)
	}
	return routes
}

// servedRoutes returns, for each function the local stack mounts (by its template logical
// ID), the route patterns its own router serves.
func servedRoutes() map[string][]string {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return map[string][]string{
		"ApiFunction":       httpapi.New(nil, nil, nil, log, httpapi.Options{}).Routes(),
		"SearchFunction":    httpapi.NewSearch(nil, nil, nil, nil, log, httpapi.Options{}).Routes(),
		"AiFunction":        httpapi.NewAI(nil, nil, nil, nil, nil, log, httpapi.Options{}, httpapi.AIOptions{}).Routes(),
		"LifecycleFunction": httpapi.NewLifecycle(nil, nil, nil, nil, log, httpapi.Options{}).Routes(),
	}
}

// TestTemplate_RoutesMatchFunctions keeps template.yaml and the functions' own routers in
// step: every route a function serves is routed to it by the template, and nothing else.
func TestTemplate_RoutesMatchFunctions(t *testing.T) {
	served := servedRoutes()
	declared := map[string][]string{}
	for _, r := range templateRoutes(t) {
		declared[r.Function] = append(declared[r.Function], r.Pattern)
	}
	for fn, want := range served {
		got := declared[fn]
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: template routes\n%v\nfunction routes\n%v", fn, got, want)
		}
	}
	for fn := range declared {
		if _, ok := served[fn]; !ok {
			t.Errorf("template routes to %s, which the local stack does not mount", fn)
		}
	}
}
