package httpapi

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
)

// limited applies the AI rate limits before h: per user for authenticated callers (pro limits
// for admins and service accounts), per address for anonymous ones. It authenticates a
// request that carries credentials (unless a middleware before it did) and puts the principal
// in the context, so h can require one without authenticating again. Every answer carries
// X-RateLimit-Limit and X-RateLimit-Remaining; a refusal is 429 with Retry-After. When the
// limiter itself fails (Redis down), requests are let through and the failure is logged:
// limits protect the providers, they are not worth an outage.
func (a *AIAPI) limited(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		p := principal(ctx)
		if p == nil {
			if c := credential(r); c != "" {
				var err error
				if p, err = a.auth.Authenticate(ctx, c); err != nil {
					if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
						w.Header().Set("WWW-Authenticate", `Bearer realm="vibecode"`)
					}
					return err
				}
				ctx = context.WithValue(ctx, principalKey{}, p)
			}
		}
		key, limit, who := a.rateKey(p, r)
		res, err := a.limiter.Allow(ctx, key, limit, a.ai.RateLimits.Window)
		if err != nil {
			a.log.WarnContext(ctx, "rate limiter failed; letting the request through", "key", key, "err", err)
			return h(w, r.WithContext(ctx))
		}
		hd := w.Header()
		hd.Set("X-RateLimit-Limit", strconv.Itoa(res.Limit))
		hd.Set("X-RateLimit-Remaining", strconv.Itoa(res.Remaining))
		if !res.Allowed {
			secs := int((res.RetryAfter + time.Second - 1) / time.Second)
			hd.Set("Retry-After", strconv.Itoa(secs))
			return domain.Errorf(domain.ERATELIMIT, "too many AI requests: %s may make %d per %s; retry in %d s",
				who, limit, a.ai.RateLimits.Window, secs)
		}
		return h(w, r.WithContext(ctx))
	}
}

// rateKey returns the limiter key, limit and a description of the caller class.
func (a *AIAPI) rateKey(p *auth.Principal, r *http.Request) (key string, limit int, who string) {
	l := a.ai.RateLimits
	if p == nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		return "ai:ip:" + host, l.Anonymous, "an anonymous caller"
	}
	if p.User.Role == domain.RoleAdmin || p.User.Role == domain.RoleService {
		return "ai:user:" + p.User.ID, l.Pro, "a pro account"
	}
	return "ai:user:" + p.User.ID, l.User, "a user"
}

// requireUser refuses a request without an authenticated principal.
func (a *AIAPI) requireUser(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if principal(r.Context()) == nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vibecode"`)
			return domain.Errorf(domain.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <token> or X-API-Key")
		}
		return h(w, r)
	}
}
