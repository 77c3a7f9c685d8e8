package agent

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/vibecode/vibecode/shared/domain"
)

// statusOf is the agent's one map from error codes to HTTP statuses (the same codes and
// statuses as the API's httpapi.statusOf; the agent does not import the API's packages).
func statusOf(code string) int {
	switch code {
	case domain.EINVALID:
		return http.StatusBadRequest
	case domain.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case domain.EFORBIDDEN:
		return http.StatusForbidden
	case domain.ENOTFOUND:
		return http.StatusNotFound
	case domain.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case domain.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError answers with err's status and the {"error":{"code","message"}} body; internals
// go only to the log.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code, msg := domain.ErrorCode(err), domain.ErrorMessage(err)
	status := statusOf(code)
	if status >= 500 {
		log.ErrorContext(r.Context(), "agent: request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="vibecode-agent"`)
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the status is sent; a failed write means the client went away
}
