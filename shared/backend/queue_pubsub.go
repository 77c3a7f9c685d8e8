//go:build !lambda.norpc

package backend

import (
	"context"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/pubsub"
)

// openPubSub returns a Pub/Sub producer. Lambda builds leave Pub/Sub (and its gRPC stack) out.
func openPubSub(ctx context.Context, cfg config.Config) (domain.Queue, func() error, error) {
	client, err := pubsub.NewClient(ctx, cfg.PubSubProject)
	if err != nil {
		return nil, nil, err
	}
	pub := client.Publisher(cfg.PubSubTopic)
	return pubsub.NewQueue(pub), func() error { pub.Stop(); return client.Close() }, nil
}
