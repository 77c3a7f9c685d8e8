package pubsub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/vibecode/vibecode/shared/domain"
)

// MessagePublishedType is the CloudEvent type of a Pub/Sub trigger's events.
const MessagePublishedType = "google.cloud.pubsub.topic.v1.messagePublished"

// errPoison marks a message whose data is not an index job. Retrying it cannot help.
var errPoison = errors.New("pubsub: message is not an index job")

// messagePublishedData is the data of a messagePublished CloudEvent
// (google.events.cloud.pubsub.v1.MessagePublishedData in proto3 JSON).
type messagePublishedData struct {
	Message struct {
		Data            []byte            `json:"data"` // base64 in the JSON
		Attributes      map[string]string `json:"attributes"`
		MessageID       string            `json:"messageId"`
		PublishTime     string            `json:"publishTime"`
		DeliveryAttempt lenientInt        `json:"deliveryAttempt"`
	} `json:"message"`
	Subscription string `json:"subscription"`
	// DeliveryAttempt is set, from 1, when the subscription has a dead-letter policy.
	DeliveryAttempt lenientInt `json:"deliveryAttempt"`
}

// lenientInt decodes a JSON number or numeric string, and anything else as 0, so that an
// optional counter in an unexpected shape can never turn a good message into poison.
type lenientInt int

func (n *lenientInt) UnmarshalJSON(b []byte) error {
	v, err := strconv.Atoi(string(bytes.Trim(b, `"`)))
	if err != nil {
		v = 0
	}
	*n = lenientInt(v)
	return nil
}

// CloudEventHandler returns the function a Pub/Sub-triggered Cloud Function registers with
// functions.CloudEvent. It decodes the job from the event's message and calls h with attempt
// set from the delivery attempt Pub/Sub reports (1 when it reports none), and returns h's
// error so that Pub/Sub redelivers the message with the subscription's backoff. A panic in h
// is returned as an error too.
//
// A message that isn't an index job (poison) is logged and also returned as an error, not
// acknowledged: returning nil would drop it silently, while failing it lets the dead-letter
// policy move it to the dead-letter topic after max_delivery_attempts, where it can be
// inspected and replayed. The price is a few pointless retries.
func CloudEventHandler(h domain.JobHandler) func(context.Context, event.Event) error {
	return func(ctx context.Context, e event.Event) (err error) {
		log := slog.Default().With("component", "pubsub", "event_id", e.ID())
		var msg messagePublishedData
		if err := e.DataAs(&msg); err != nil {
			log.Error("poison event; it will be dead-lettered", "type", e.Type(), "err", err)
			return fmt.Errorf("%w: event data: %w", errPoison, err)
		}
		log = log.With("message_id", msg.Message.MessageID, "subscription", msg.Subscription)
		job, err := decode(msg.Message.Data)
		if err != nil {
			log.Error("poison message; it will be dead-lettered", "err", err, "data", clip(msg.Message.Data, 200))
			return err
		}
		attempt := int(msg.DeliveryAttempt)
		if attempt < 1 {
			attempt = int(msg.Message.DeliveryAttempt)
		}
		if attempt < 1 {
			attempt = 1
		}
		defer func() {
			if r := recover(); r != nil {
				log.Error("index job handler panicked", "panic", r, "stack", string(debug.Stack()))
				err = fmt.Errorf("pubsub: handler panicked: %v", r)
			}
		}()
		if err := h(ctx, job, attempt); err != nil {
			log.Warn("index job failed; Pub/Sub will redeliver it", "path", job.Path, "attempt", attempt, "err", err)
			return err
		}
		return nil
	}
}

// decode parses message data into an index job. Data that isn't JSON, or names no workspace
// or path, is poison: the error wraps errPoison.
func decode(data []byte) (domain.IndexJob, error) {
	var job domain.IndexJob
	if err := json.Unmarshal(data, &job); err != nil {
		return job, fmt.Errorf("%w: %w", errPoison, err)
	}
	if job.WorkspaceID == "" || job.Path == "" {
		return job, fmt.Errorf("%w: no workspace_id or path", errPoison)
	}
	return job, nil
}

// clip shortens b to at most n bytes, on a character boundary, for a log line or an error.
func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}
