// Package sqs carries index jobs over Amazon SQS: Queue is the producer the API uses
// (domain.Queue over SendMessageBatch), and Handler adapts a domain.JobHandler to the Lambda
// function that an SQS event source mapping invokes.
//
// Each message body is one JSON-encoded domain.IndexJob. Delivery is at least once. Retries,
// their spacing and dead-lettering belong to the queue, not to this package, so the SAM
// template must configure them:
//
//	IndexQueue:
//	  Type: AWS::SQS::Queue
//	  Properties:
//	    VisibilityTimeout: 180              # ≥ 6 × the function timeout; also the retry delay
//	    RedrivePolicy:
//	      deadLetterTargetArn: !GetAtt IndexDeadLetterQueue.Arn
//	      maxReceiveCount: 5                # = MaxAttempts: the 5th failure dead-letters
//	IngestFunction:
//	  Events:
//	    Jobs:
//	      Type: SQS
//	      Properties:
//	        Queue: !GetAtt IndexQueue.Arn
//	        BatchSize: 10
//	        FunctionResponseTypes: [ReportBatchItemFailures]
//
// FunctionResponseTypes: [ReportBatchItemFailures] is not optional: without it Lambda ignores
// the failures Handler reports and deletes the whole batch as delivered.
package sqs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.Queue = (*Queue)(nil)

// Limits of one SendMessageBatch call. SQS rejects a whole batch that breaks them, so Enqueue
// splits jobs to stay within both.
const (
	MaxBatchEntries = 10
	MaxBatchBytes   = 256 << 10 // the sum of the bodies; we send no message attributes
)

// sendRetries is how many times Enqueue resends the entries a batch reported as failed
// through no fault of the sender (the SDK already retries whole calls that fail).
const sendRetries = 3

// maxErrors is how many causes an Enqueue error lists, so that a large failed enqueue
// doesn't log a line per job.
const maxErrors = 5

// NewClient returns an SQS client built from the default AWS configuration (environment,
// shared files, instance role). A non-empty endpoint replaces the SQS endpoint, for a local
// SQS-compatible server in tests and on the local stack.
func NewClient(ctx context.Context, endpoint string) (*awssqs.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqs: cannot load aws config: %w", err)
	}
	return awssqs.NewFromConfig(cfg, func(o *awssqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// Queue sends index jobs to one SQS queue. It is safe for concurrent use.
type Queue struct {
	client   *awssqs.Client
	queueURL string
}

// NewQueue returns a Queue that sends to the queue at queueURL through client.
func NewQueue(client *awssqs.Client, queueURL string) *Queue {
	return &Queue{client: client, queueURL: queueURL}
}

// Enqueue sends the jobs in as few SendMessageBatch calls as the batch limits allow, resending
// entries that SQS reports as failed through no fault of ours. It tries every job even after
// a batch fails, and returns an error saying how many jobs were not sent and why; callers may
// then resend all of them, since duplicates are harmless.
func (q *Queue) Enqueue(ctx context.Context, jobs ...domain.IndexJob) error {
	bodies := make([]string, len(jobs))
	var errs []error
	failed := 0
	for i, job := range jobs {
		b, err := encode(job)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %q: %w", clip(job.Path, 100), err))
			failed++
			continue
		}
		if len(b) > MaxBatchBytes {
			errs = append(errs, fmt.Errorf("job %q: body of %d bytes exceeds the SQS limit of %d", clip(job.Path, 100), len(b), MaxBatchBytes))
			failed++
			continue
		}
		bodies[i] = b
	}

	var batch []int // indexes into jobs
	size := 0
	flush := func() {
		if len(batch) > 0 {
			n, err := q.send(ctx, batch, bodies)
			failed += n
			if err != nil {
				errs = append(errs, err)
			}
		}
		batch, size = batch[:0], 0
	}
	for i, body := range bodies {
		if body == "" {
			continue // not sendable; counted above
		}
		if len(batch) == MaxBatchEntries || size+len(body) > MaxBatchBytes {
			flush()
		}
		batch = append(batch, i)
		size += len(body)
	}
	flush()

	if failed > 0 {
		if len(errs) > maxErrors {
			errs = append(errs[:maxErrors:maxErrors], fmt.Errorf("and %d more errors", len(errs)-maxErrors))
		}
		return fmt.Errorf("sqs: %d of %d jobs not sent: %w", failed, len(jobs), errors.Join(errs...))
	}
	return nil
}

// send sends one batch of entries, named by their index into bodies, and resends those that
// fail retryably. It returns how many were not sent in the end, and why.
func (q *Queue) send(ctx context.Context, batch []int, bodies []string) (failed int, err error) {
	pending := make([]types.SendMessageBatchRequestEntry, len(batch))
	for k, i := range batch {
		// The Id only has to be unique within the batch; the job's index maps results back.
		pending[k] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(bodies[i])}
	}
	var errs []error
	for try := 0; len(pending) > 0; try++ {
		if try > 0 {
			select {
			case <-time.After(time.Duration(try) * 100 * time.Millisecond):
			case <-ctx.Done():
				return failed + len(pending), errors.Join(append(errs, ctx.Err())...)
			}
		}
		out, err := q.client.SendMessageBatch(ctx, &awssqs.SendMessageBatchInput{QueueUrl: aws.String(q.queueURL), Entries: pending})
		if err != nil {
			// The SDK has already retried what was worth retrying.
			return failed + len(pending), errors.Join(append(errs, fmt.Errorf("send batch: %w", err))...)
		}
		results := make(map[string]bool, len(pending)) // Id -> reported
		for _, r := range out.Successful {
			results[aws.ToString(r.Id)] = true
		}
		retry := pending[:0:0]
		for _, f := range out.Failed {
			results[aws.ToString(f.Id)] = true
			e, ok := entryByID(pending, aws.ToString(f.Id))
			if !ok {
				continue
			}
			if f.SenderFault || try == sendRetries {
				failed++
				errs = append(errs, fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message)))
				continue
			}
			retry = append(retry, e)
		}
		for _, e := range pending {
			if !results[*e.Id] {
				// Neither sent nor failed: SQS doesn't do that, but if it did the job may be lost.
				failed++
				errs = append(errs, fmt.Errorf("no result for entry %s", *e.Id))
			}
		}
		pending = retry
	}
	return failed, errors.Join(errs...)
}

// entryByID finds the entry with the given Id.
func entryByID(entries []types.SendMessageBatchRequestEntry, id string) (types.SendMessageBatchRequestEntry, bool) {
	for _, e := range entries {
		if *e.Id == id {
			return e, true
		}
	}
	return types.SendMessageBatchRequestEntry{}, false
}

// encode returns the message body for job: its JSON, with the two characters that JSON allows
// unescaped but SQS refuses in a body (U+FFFE and U+FFFF, which a file path may contain)
// escaped, so that no path can make a job unsendable.
func encode(job domain.IndexJob) (string, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return "", err
	}
	b = bytes.ReplaceAll(b, []byte("\uFFFE"), []byte(`\ufffe`))
	b = bytes.ReplaceAll(b, []byte("\uFFFF"), []byte(`\uffff`))
	return string(b), nil
}
