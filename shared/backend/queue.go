package backend

import (
	"context"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/sqs"
)

// Producer returns the queue that index jobs are sent to in the cloud: SQS when
// SQS_QUEUE_URL is set, Pub/Sub when PUBSUB_TOPIC is set (not in Lambda builds), else nil —
// the caller then runs the in-process queue, as the local stack does. The returned func
// flushes and releases the queue's client.
func Producer(ctx context.Context, cfg config.Config) (domain.Queue, func() error, error) {
	switch {
	case cfg.SQSQueueURL != "":
		client, err := sqs.NewClient(ctx, "")
		if err != nil {
			return nil, nil, err
		}
		return sqs.NewQueue(client, cfg.SQSQueueURL), func() error { return nil }, nil
	case cfg.PubSubTopic != "":
		return openPubSub(ctx, cfg)
	}
	return nil, func() error { return nil }, nil
}
