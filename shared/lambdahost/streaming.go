package lambdahost

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdaurl"
)

// StreamingHandler adapts h to a Lambda Function URL with InvokeMode RESPONSE_STREAM, the one
// AWS ingress that delivers a Lambda's response progressively (an HTTP API buffers it): AI
// answers stream token by token through it. The conversion is aws-lambda-go's lambdaurl; this
// only adds http.Flusher, which our SSE writer calls after every event — lambdaurl's writer
// is unbuffered, so every Write already reaches the stream and Flush has nothing to do.
func StreamingHandler(h http.Handler) func(context.Context, *events.LambdaFunctionURLRequest) (*events.LambdaFunctionURLStreamingResponse, error) {
	return lambdaurl.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(flushWriter{w}, r)
	}))
}

// StartStreaming hands h to the Lambda runtime as a streaming Function URL handler.
func StartStreaming(h http.Handler) {
	lambda.Start(StreamingHandler(h))
}

// Streaming reports whether this deployment is the streaming twin of a function (template.yaml
// sets VIBECODE_LAMBDA_STREAMING=1 on the Lambda behind the RESPONSE_STREAM Function URL): one
// Lambda cannot answer both API Gateway's buffered events and streamed invocations.
func Streaming(getenv func(string) string) bool {
	return getenv("VIBECODE_LAMBDA_STREAMING") == "1"
}

type flushWriter struct{ http.ResponseWriter }

// Flush is a no-op: the underlying writer is an unbuffered pipe to the runtime.
func (flushWriter) Flush() {}
