package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/vibecode/vibecode/shared/domain"
)

// decodeJSON reads exactly one JSON object from the body into v, refusing a wrong content
// type, bodies over maxBytes, unknown fields, wrong types and trailing data, each with a
// message that says what to fix.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return domain.Errorf(domain.EINVALID, "Content-Type must be application/json")
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, maxBytes)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err, maxBytes)
		}
		return domain.Errorf(domain.EINVALID, "request body must hold a single JSON object")
	}
	return nil
}

func jsonError(err error, maxBytes int64) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooLarge):
		return domain.Errorf(domain.ETOOLARGE, "request body is larger than %d bytes", maxBytes)
	case errors.Is(err, io.EOF):
		return domain.Errorf(domain.EINVALID, "request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Errorf(domain.EINVALID, "request body is truncated JSON")
	case errors.As(err, &syntax):
		return domain.Errorf(domain.EINVALID, "request body is malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return domain.Errorf(domain.EINVALID, "field %q must be %s", typ.Field, typ.Type)
		}
		return domain.Errorf(domain.EINVALID, "request body must be a JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return domain.Errorf(domain.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return domain.Errorf(domain.EINVALID, "request body is not valid JSON: %s", fmt.Sprint(err))
	}
}
