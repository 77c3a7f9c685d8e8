package domain

import (
	"errors"
	"fmt"
)

// Application error codes. They are the only error vocabulary users see; the HTTP layer maps
// each to a status in exactly one place (httpapi.statusOf).
const (
	EINVALID      = "invalid"             // the request is malformed or breaks a rule
	EUNAUTHORIZED = "unauthorized"        // no or bad credentials
	EFORBIDDEN    = "forbidden"           // authenticated, but the role does not allow it
	ENOTFOUND     = "not_found"           // no such thing, or not yours (we never reveal which)
	ECONFLICT     = "conflict"            // it exists already, or the state does not allow it
	EPRECONDITION = "precondition_failed" // an If-Match did not match the current version
	ETOOLARGE     = "too_large"           // a body or file is over the configured limit
	ERATELIMIT    = "rate_limited"        // too many requests; retry later
	EUNAVAILABLE  = "unavailable"         // a dependency is down or not configured
	EINTERNAL     = "internal"            // a bug or an unexpected failure; details only in the log
)

// Error is VibeCode's one coded application error. Code is machine-readable, Message is safe to
// show a user. Wrap low-level errors with fmt.Errorf("...: %w") instead; those surface as
// EINTERNAL with the detail only in the log.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted, user-facing message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the user-facing message of the first *Error in err's chain, and a
// generic message for any other error so internals never leak to users.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "internal error"
	}
}
