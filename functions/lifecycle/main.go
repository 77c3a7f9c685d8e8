// Command lifecycle is the lifecycle function: it starts, stops and reports on workspace VMs,
// takes the agents' heartbeats, and runs the hibernation sweeper on a schedule.
//
// The sweeper's trigger depends on the host. On AWS Lambda the function receives both the
// HTTP API's requests and the EventBridge schedule's events (template.yaml: a Schedule event,
// rate(1 minute)); dispatch tells them apart by the event's "source": "aws.events". On Cloud
// Functions, Cloud Scheduler calls POST /api/lifecycle/sweep every minute with the API key of
// a service account (X-API-Key header). Run as a plain server, it serves HTTP only: schedule
// the same POST, or use the local stack, which runs the sweeper in process.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/host"
	"github.com/vibecode/vibecode/shared/httpapi"
	"github.com/vibecode/vibecode/shared/lambdahost"
	"github.com/vibecode/vibecode/shared/lifecycle"
	"github.com/vibecode/vibecode/shared/lifecycle/providers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "lifecycle:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	b, err := backend.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	prov, closeProv, err := providers.FromConfig(ctx, cfg, b.Store, log)
	if err != nil {
		return err
	}
	defer closeProv()
	api, err := httpapi.NewLifecycleFromConfig(b, prov, cfg, log, httpapi.Options{})
	if err != nil {
		return err
	}
	if lambdahost.Detected(getenv) {
		log.Info("starting on AWS Lambda", "function", "Lifecycle")
		lambda.Start(dispatch(api, api.Service(), log))
		return nil
	}
	return host.Serve(ctx, "Lifecycle", api, cfg, log)
}

// sweeper is what dispatch needs of the lifecycle service.
type sweeper interface {
	Sweep(ctx context.Context) (lifecycle.SweepReport, error)
}

// dispatch is the Lambda handler: an EventBridge scheduled event runs the sweeper, anything
// else is an API Gateway HTTP API (payload 2.0) request for the handler.
func dispatch(h http.Handler, svc sweeper, log *slog.Logger) func(context.Context, json.RawMessage) (any, error) {
	httpHandler := lambdahost.Handler(h)
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var probe struct {
			Source     string `json:"source"`
			DetailType string `json:"detail-type"`
		}
		_ = json.Unmarshal(raw, &probe)
		if probe.Source == "aws.events" {
			rep, err := svc.Sweep(ctx)
			if err != nil {
				return nil, fmt.Errorf("lifecycle: sweep: %w", err)
			}
			log.InfoContext(ctx, "sweep", "due", rep.Due, "stopped", rep.Stopped, "failed", rep.Failed, "db_ms", rep.DBMS)
			return rep, nil
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("lifecycle: not an HTTP API event: %w", err)
		}
		return httpHandler(ctx, ev)
	}
}
