// Package lambdahost runs one of VibeCode's http.Handlers on AWS Lambda behind an API Gateway
// HTTP API (payload format 2.0).
//
// The conversion between events and net/http is done by awslabs/aws-lambda-go-api-proxy's
// httpadapter; this package only adds the three things it gets wrong for us:
//
//   - API Gateway HTTP APIs deliver rawPath percent-decoded, and httpadapter pastes it into a URL
//     as if it were encoded, so a file named "a#b", "what?.txt" or "100%.txt" would lose part of
//     its name or fail to parse. Handler re-escapes the characters that can never appear literally
//     in an encoded path before the adapter sees it; already-encoded paths pass through unchanged.
//   - httpadapter fails the invocation (HTTP 500 at the gateway) when a handler returns without
//     writing anything, where net/http would send an empty 200. Handler sends the 200.
//   - httpadapter base64-encodes a response body only when it is not valid UTF-8. Handler also
//     base64-encodes every non-textual Content-Type, so a binary file download never depends on
//     whether its bytes happen to be valid UTF-8.
//
// The response is buffered whole (an HTTP API cannot stream), so http.Flusher is not available.
package lambdahost

import (
	"context"
	"encoding/base64"
	"mime"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Handler adapts h to the function signature lambda.Start expects for API Gateway HTTP API
// (payload 2.0) events. It is exported separately from Start so tests can feed real event JSON
// through exactly the code that runs in Lambda, without a Lambda runtime.
func Handler(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	proxy := httpadapter.NewV2(implicitOK{h}).ProxyWithContext
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if ev.RawPath == "" {
			ev.RawPath = ev.RequestContext.HTTP.Path
		}
		ev.RawPath = escapePath(ev.RawPath)
		resp, err := proxy(ctx, ev)
		if err != nil {
			return resp, err
		}
		if !resp.IsBase64Encoded && resp.Body != "" && !isText(header(resp.Headers, "Content-Type")) {
			resp.Body = base64.StdEncoding.EncodeToString([]byte(resp.Body))
			resp.IsBase64Encoded = true
		}
		return resp, nil
	}
}

// Start hands h to the Lambda runtime and never returns; the runtime ends the process. It is
// only meaningful when Detected is true: outside Lambda, aws-lambda-go exits with log.Fatalf.
func Start(h http.Handler) {
	lambda.Start(Handler(h))
}

// Detected reports whether the process runs inside the Lambda runtime, which always sets
// AWS_LAMBDA_RUNTIME_API (the endpoint aws-lambda-go polls for events). getenv is a parameter so
// the choice can be tested without touching the process environment.
func Detected(getenv func(string) string) bool {
	return getenv("AWS_LAMBDA_RUNTIME_API") != ""
}

// implicitOK sends 200 when the wrapped handler wrote neither a status nor a body, as net/http
// does; httpadapter would otherwise report "Status code not set on response" and fail.
type implicitOK struct{ h http.Handler }

func (i implicitOK) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	i.h.ServeHTTP(sw, r)
	if !sw.wrote {
		w.WriteHeader(http.StatusOK)
	}
}

type statusWriter struct {
	http.ResponseWriter
	wrote bool
}

func (s *statusWriter) WriteHeader(code int) {
	s.wrote = true
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the adapter's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// escapePath percent-encodes the bytes that cannot occur in an encoded path (space, controls,
// non-ASCII, '?', '#', and a '%' not followed by two hex digits), so that a decoded rawPath
// parses back to itself and an encoded one is left alone. A decoded path that contains a
// literal "%XX" sequence stays ambiguous; it is read as an escape.
func escapePath(p string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]):
			b.WriteByte(c)
		case c <= ' ' || c >= 0x7f || c == '?' || c == '#' || c == '%':
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// header finds a header in the adapter's map, whose keys are canonical but need not be.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// isText reports whether a body of this Content-Type is text a client reads as UTF-8, and so
// may travel as a plain JSON string.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "application/x-ndjson":
		return true
	}
	return false
}
