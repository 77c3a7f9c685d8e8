//go:build lambda.norpc

package host

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/lambdahost"
)

// Serve runs h as the function called name: in the Lambda runtime (never returns), or otherwise
// as a plain HTTP server on cfg.Addr() until ctx is done. This is the Lambda build
// (-tags lambda.norpc), which leaves the Functions Framework out of the binary.
func Serve(ctx context.Context, name string, h http.Handler, cfg config.Config, log *slog.Logger) error {
	if lambdahost.Detected(os.Getenv) {
		log.Info("starting on AWS Lambda", "function", name)
		if lambdahost.Streaming(os.Getenv) {
			lambdahost.StartStreaming(h)
			return nil
		}
		lambdahost.Start(h)
		return nil
	}
	return ListenAndServe(ctx, cfg.Addr(), h, log.With("function", name))
}
