//go:build !lambda.norpc

package host

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/gcfhost"
	"github.com/vibecode/vibecode/shared/lambdahost"
)

// Serve runs h as the function called name on whatever host the process is on: the Lambda
// runtime (never returns), Cloud Functions (h registered as name, served on 0.0.0.0:PORT, with
// FUNCTION_TARGET choosing it), or otherwise a plain HTTP server on cfg.Addr() until ctx is done.
// Functions' main packages call only this, so the same binary runs everywhere.
func Serve(ctx context.Context, name string, h http.Handler, cfg config.Config, log *slog.Logger) error {
	switch {
	case lambdahost.Detected(os.Getenv):
		log.Info("starting on AWS Lambda", "function", name)
		if lambdahost.Streaming(os.Getenv) {
			lambdahost.StartStreaming(h)
			return nil
		}
		lambdahost.Start(h)
		return nil
	case gcfhost.Detected(os.Getenv):
		log.Info("starting on Cloud Functions", "function", name, "port", cfg.Port)
		gcfhost.Register(name, h)
		// Cloud Run only routes to a container listening on every interface.
		return gcfhost.Start(ctx, "", cfg.Port)
	default:
		return ListenAndServe(ctx, cfg.Addr(), h, log.With("function", name))
	}
}
