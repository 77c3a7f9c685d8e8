// Package pubsub carries index jobs over Google Cloud Pub/Sub: Queue is the producer the API
// uses (domain.Queue over a Publisher), and CloudEventHandler adapts a domain.JobHandler to the
// Cloud Function that a Pub/Sub trigger invokes.
//
// Each message's data is one JSON-encoded domain.IndexJob. Delivery is at least once.
// Retries, their backoff and dead-lettering belong to the trigger's subscription, so the
// deployment must configure them:
//
//   - event_trigger { retry_policy = "RETRY_POLICY_RETRY" }: without it a failed event is
//     dropped, never retried;
//   - on the trigger's subscription, a dead_letter_policy { dead_letter_topic,
//     max_delivery_attempts = 5 } (= MaxAttempts) and a retry_policy with exponential backoff
//     (minimum_backoff 10s, maximum_backoff 600s). The dead-letter policy is also what makes
//     Pub/Sub count deliveries: without it every delivery looks like attempt 1, and a job that
//     always fails is retried until the message expires.
package pubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	gpubsub "cloud.google.com/go/pubsub/v2"
	"google.golang.org/api/option"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.Queue = (*Queue)(nil)

// maxErrors is how many causes an Enqueue error lists, so that a large failed enqueue
// doesn't log a line per job.
const maxErrors = 5

// NewClient returns a Pub/Sub client for projectID. It exists so that the wiring code gets
// errors in this package's style; opts pass through (option.WithGRPCConn for the pstest
// fake, credentials, endpoints).
func NewClient(ctx context.Context, projectID string, opts ...option.ClientOption) (*gpubsub.Client, error) {
	c, err := gpubsub.NewClient(ctx, projectID, opts...)
	if err != nil {
		return nil, fmt.Errorf("pubsub: cannot create client for project %q: %w", projectID, err)
	}
	return c, nil
}

// Queue publishes index jobs to one Pub/Sub topic. It is safe for concurrent use. The
// publisher belongs to the caller, who must Stop it at shutdown to flush its buffers.
type Queue struct {
	publisher *gpubsub.Publisher
}

// NewQueue returns a Queue that publishes through publisher (from Client.Publisher).
func NewQueue(publisher *gpubsub.Publisher) *Queue {
	return &Queue{publisher: publisher}
}

// Enqueue publishes every job and waits until Pub/Sub has acknowledged each one, so that a
// nil error means all of them are stored. Otherwise the error says how many were not
// published (or whose fate ctx cut short) and why; callers may then resend all of them,
// since duplicates are harmless.
func (q *Queue) Enqueue(ctx context.Context, jobs ...domain.IndexJob) error {
	results := make([]*gpubsub.PublishResult, len(jobs))
	var errs []error
	failed := 0
	for i, job := range jobs {
		data, err := json.Marshal(job)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %q: %w", clip([]byte(job.Path), 100), err))
			failed++
			continue
		}
		results[i] = q.publisher.Publish(ctx, &gpubsub.Message{Data: data})
	}
	for i, r := range results {
		if r == nil {
			continue // not encoded
		}
		if _, err := r.Get(ctx); err != nil {
			errs = append(errs, fmt.Errorf("job %q: %w", clip([]byte(jobs[i].Path), 100), err))
			failed++
		}
	}
	if failed > 0 {
		if len(errs) > maxErrors {
			errs = append(errs[:maxErrors:maxErrors], fmt.Errorf("and %d more errors", len(errs)-maxErrors))
		}
		return fmt.Errorf("pubsub: %d of %d jobs not published: %w", failed, len(jobs), errors.Join(errs...))
	}
	return nil
}
