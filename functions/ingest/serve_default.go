//go:build !lambda.norpc

package main

import (
	"context"
	"errors"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/gcfhost"
	"github.com/vibecode/vibecode/shared/lambdahost"
	"github.com/vibecode/vibecode/shared/pubsub"
	"github.com/vibecode/vibecode/shared/sqs"
)

// serve runs the consumer where it finds itself: a Lambda fed by SQS, or a Cloud Function
// triggered by Pub/Sub messages. Anywhere else there is nothing to consume from: the local
// stack runs this consumer in process.
func serve(ctx context.Context, getenv func(string) string, cfg config.Config, h domain.JobHandler) error {
	switch {
	case lambdahost.Detected(getenv):
		lambda.Start(sqs.Handler(h))
		return nil
	case gcfhost.Detected(getenv):
		functions.CloudEvent("ingest", pubsub.CloudEventHandler(h))
		return gcfhost.Start(ctx, "", cfg.Port)
	}
	return errors.New("ingest consumes SQS (on Lambda) or Pub/Sub (on Cloud Functions); locally, `make run` runs it in process")
}
