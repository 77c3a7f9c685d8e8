//go:build lambda.norpc

package main

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lambdahost"
	"github.com/vibecode/vibecode/shared/sqs"
)

// serve runs the consumer as a Lambda fed by an SQS event source.
func serve(_ context.Context, getenv func(string) string, _ config.Config, h domain.JobHandler) error {
	if !lambdahost.Detected(getenv) {
		return errors.New("this build runs only on AWS Lambda with an SQS event source")
	}
	lambda.Start(sqs.Handler(h))
	return nil
}
