//go:build lambda.norpc

package backend

import (
	"context"
	"errors"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
)

// openPubSub refuses: Lambda builds send index jobs to SQS.
func openPubSub(context.Context, config.Config) (domain.Queue, func() error, error) {
	return nil, nil, errors.New("backend: PUBSUB_TOPIC is not supported in Lambda builds; set SQS_QUEUE_URL")
}
