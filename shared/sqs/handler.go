package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/vibecode/vibecode/shared/domain"
)

// errPoison marks a message whose body is not an index job. Retrying it cannot help; Handler
// reports it as failed anyway so that the redrive policy moves it to the dead-letter queue,
// where it can be looked at, instead of deleting it silently.
var errPoison = errors.New("sqs: message body is not an index job")

// Handler returns the function an SQS-triggered Lambda passes to lambda.Start. It calls h
// once per record, in order, with attempt set from the record's ApproximateReceiveCount, and
// lists every record that failed (h returned an error or panicked, the body was poison, or
// the invocation ran out of time first) in BatchItemFailures, so that SQS redelivers those
// after the visibility timeout and deletes the rest. It never returns a function error for a
// failed record: that would make SQS redeliver the whole batch, successes included.
//
// For a FIFO queue (an event source ARN ending in ".fifo") the first failure also fails the
// records after it without running them, as SQS requires to keep the order.
//
// This only works if the event source mapping sets FunctionResponseTypes:
// [ReportBatchItemFailures]; see the package documentation.
func Handler(h domain.JobHandler) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		log := slog.Default().With("component", "sqs")
		var resp events.SQSEventResponse
		fail := func(rec events.SQSMessage) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
		stop := false // fail the remaining records without running them
		for _, rec := range ev.Records {
			if stop {
				fail(rec)
				continue
			}
			if err := ctx.Err(); err != nil {
				log.Warn("out of time; returning the remaining records to the queue",
					"message_id", rec.MessageId, "err", err)
				stop = true
				fail(rec)
				continue
			}
			if err := handleRecord(ctx, h, rec); err != nil {
				attrs := []any{"message_id", rec.MessageId, "receive_count", rec.Attributes["ApproximateReceiveCount"], "err", err}
				if errors.Is(err, errPoison) {
					log.Error("poison message; it will be dead-lettered", append(attrs, "body", clip(rec.Body, 200))...)
				} else {
					log.Warn("index job failed; SQS will redeliver it", attrs...)
				}
				fail(rec)
				stop = strings.HasSuffix(rec.EventSourceARN, ".fifo")
			}
		}
		return resp, nil
	}
}

// handleRecord decodes one record and runs h on it, turning a panic into an error so that one
// job cannot fail the batch it came with.
func handleRecord(ctx context.Context, h domain.JobHandler, rec events.SQSMessage) (err error) {
	job, err := decode(rec.Body)
	if err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			slog.Default().Error("index job handler panicked", "component", "sqs",
				"message_id", rec.MessageId, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("sqs: handler panicked: %v", r)
		}
	}()
	return h(ctx, job, attempt(rec))
}

// decode parses a message body into an index job. A body that isn't JSON, or names no
// workspace or path, is poison: the error wraps errPoison.
func decode(body string) (domain.IndexJob, error) {
	var job domain.IndexJob
	if err := json.Unmarshal([]byte(body), &job); err != nil {
		return job, fmt.Errorf("%w: %w", errPoison, err)
	}
	if job.WorkspaceID == "" || job.Path == "" {
		return job, fmt.Errorf("%w: no workspace_id or path", errPoison)
	}
	return job, nil
}

// attempt is the delivery number of rec, counted from 1 as domain.JobHandler wants; SQS
// counts receives the same way. A missing or garbled count is taken as a first delivery.
func attempt(rec events.SQSMessage) int {
	n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// clip shortens s to at most n bytes, on a character boundary, for a log line or an error.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
