// Package host runs one http.Handler wherever the process finds itself: on AWS Lambda, on
// Google Cloud Functions, or as a plain HTTP server on a laptop.
//
// The choice between the cloud hosts is split across two files by build tag so that Lambda
// binaries, built with -tags lambda.norpc, never link the Functions Framework (and the
// CloudEvents SDK it brings): serve_lambda.go knows only Lambda and the local server,
// serve_default.go knows all three.
//
// Detection reads the variables the platforms themselves set (AWS_LAMBDA_RUNTIME_API,
// K_SERVICE, FUNCTION_TARGET) from the process environment; they describe the host, not our
// configuration, so they are not part of config.Config.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server timeouts. There is no WriteTimeout: it would cut off streamed (SSE) responses.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownTimeout   = 10 * time.Second
)

// ListenAndServe serves h on addr until ctx is done, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish for up to 10 s, then closes what is left. It logs the
// URL it listens on (with the real port when addr asks for port 0) and returns nil after a clean
// shutdown. It is exported for the local stack, which mounts every function on one gateway.
func ListenAndServe(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("host: listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "url", "http://"+ln.Addr().String())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("host: serve on %s: %w", addr, err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "grace", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("host: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("host: serve on %s: %w", addr, err)
	}
	return nil
}
