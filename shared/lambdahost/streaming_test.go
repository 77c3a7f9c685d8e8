package lambdahost_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/vibecode/vibecode/shared/lambdahost"
)

// TestStreamingHandler streams Server-Sent Events through the Function URL adapter and checks
// that the first event can be read before the handler has written the second: the response
// really is progressive, with the status and headers in the prelude.
func TestStreamingHandler(t *testing.T) {
	second := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/api/ai/chat" || r.Header.Get("Authorization") != "Bearer t" {
			http.Error(w, "bad request shape", 400)
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		if _, err := io.WriteString(w, "event: delta\ndata: "+string(body)+"\n\n"); err != nil {
			t.Error(err)
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		<-second
		_, _ = io.WriteString(w, "event: done\ndata: {}\n\n")
	})
	req := &events.LambdaFunctionURLRequest{
		RawPath: "/api/ai/chat",
		Headers: map[string]string{"authorization": "Bearer t", "content-type": "application/json"},
		Body:    `{"q":1}`,
		RequestContext: events.LambdaFunctionURLRequestContext{
			DomainName: "abc.lambda-url.eu-west-1.on.aws",
			HTTP:       events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", Path: "/api/ai/chat"},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := lambdahost.StreamingHandler(h)(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Headers["Content-Type"] != "text/event-stream" {
		t.Fatalf("status %d headers %v", resp.StatusCode, resp.Headers)
	}
	r := bufio.NewReader(resp)
	prelude, err := r.ReadBytes(0)
	if err != nil || !bytes.Contains(prelude, []byte(`"statusCode":200`)) {
		t.Fatalf("prelude = %q, %v", prelude, err)
	}
	for range 7 { // the prelude ends with 8 NUL bytes
		if b, err := r.ReadByte(); err != nil || b != 0 {
			t.Fatalf("prelude separator byte = %v, %v", b, err)
		}
	}
	first, err := r.ReadString('\n')
	if err != nil || first != "event: delta\n" {
		t.Fatalf("first line before the second event was written = %q, %v", first, err)
	}
	close(second)
	rest, err := io.ReadAll(r)
	if err != nil || !strings.Contains(string(rest), `data: {"q":1}`) || !strings.HasSuffix(string(rest), "event: done\ndata: {}\n\n") {
		t.Fatalf("rest = %q, %v", rest, err)
	}
}
