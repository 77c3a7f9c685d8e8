package httpapi

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

// ContentSecurityPolicy is sent with every response. It fits the web IDE (same-origin
// scripts, Monaco's blob workers and inline styles, WebSockets to the agent) and forbids
// framing; JSON responses are not rendered, so one policy serves both.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self' ws: wss:; " +
	"object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

// Middleware wraps next with what every VibeCode response needs: security headers, a
// refusal of unsafe request paths before routing (ServeMux would redirect them instead),
// panic recovery and a log line per request.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h := rec.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", p)
				if !rec.wrote {
					WriteError(rec, r, log, domain.Errorf(domain.EINTERNAL, "internal error"))
				}
			}
			log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"ms", float64(time.Since(start).Microseconds())/1000)
		}()
		if err := checkRequestPath(r.URL.Path); err != nil {
			WriteError(rec, r, log, err)
			return
		}
		next.ServeHTTP(rec, r)
	})
}

// checkRequestPath refuses request paths that could name something outside what the route
// means: NUL and control bytes, invalid UTF-8, "." or ".." segments and empty segments.
func checkRequestPath(p string) error {
	if !utf8.ValidString(p) {
		return domain.Errorf(domain.EINVALID, "request path is not valid UTF-8")
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return domain.Errorf(domain.EINVALID, "request path contains a control character or NUL byte")
		}
	}
	if strings.Contains(p, "//") {
		return domain.Errorf(domain.EINVALID, "request path contains an empty segment (//); file paths must be relative")
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return domain.Errorf(domain.EINVALID, "request path must not contain '.' or '..' segments")
		}
	}
	return nil
}

// statusRecorder remembers the status for the log line and whether anything was written.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines on the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
