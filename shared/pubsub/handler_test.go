package pubsub_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gpubsub "cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/pubsub"
)

// quietLogs sends the default logger, which the handler uses, to the test's output.
func quietLogs(t *testing.T) {
	t.Helper()
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(t.Output(), nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
}

// loadEvent reads the messagePublished fixture, lets edit change its data, and decodes it
// the way the Functions Framework does: into a CloudEvents event.
func loadEvent(t *testing.T, edit func(data map[string]any)) event.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "message-published.json"))
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		edit(raw["data"].(map[string]any))
		if b, err = json.Marshal(raw); err != nil {
			t.Fatal(err)
		}
	}
	var e event.Event
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func message(data map[string]any) map[string]any { return data["message"].(map[string]any) }

// recorder is a JobHandler that records its calls and returns err.
type recorder struct {
	mu       sync.Mutex
	jobs     []domain.IndexJob
	attempts []int
	err      error
}

func (r *recorder) handle(ctx context.Context, job domain.IndexJob, attempt int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, job)
	r.attempts = append(r.attempts, attempt)
	return r.err
}

func TestCloudEventHandler(t *testing.T) {
	quietLogs(t)

	t.Run("Delivers", func(t *testing.T) {
		e := loadEvent(t, nil)
		if e.Type() != pubsub.MessagePublishedType {
			t.Fatalf("fixture type %q", e.Type())
		}
		r := &recorder{}
		if err := pubsub.CloudEventHandler(r.handle)(t.Context(), e); err != nil {
			t.Fatalf("handler = %v", err)
		}
		want := domain.IndexJob{WorkspaceID: "ws-1", Path: "src/main.go", Version: 7, EnqueuedAt: time.Date(2026, 3, 4, 5, 6, 7, 891, time.UTC)}
		if len(r.jobs) != 1 || r.jobs[0] != want || r.attempts[0] != 3 {
			t.Errorf("handler got %+v attempts %v, want %+v on attempt 3", r.jobs, r.attempts, want)
		}
	})

	for name, tc := range map[string]struct {
		edit func(data map[string]any)
		want int
	}{
		"NoDeadLetterPolicy":  {func(d map[string]any) { delete(d, "deliveryAttempt") }, 1},
		"ZeroAttempt":         {func(d map[string]any) { d["deliveryAttempt"] = 0 }, 1},
		"AttemptAsString":     {func(d map[string]any) { d["deliveryAttempt"] = "4" }, 4},
		"AttemptOnMessage":    {func(d map[string]any) { delete(d, "deliveryAttempt"); message(d)["deliveryAttempt"] = 2 }, 2},
		"GarbledAttemptIsOne": {func(d map[string]any) { d["deliveryAttempt"] = []int{5} }, 1},
	} {
		t.Run(name, func(t *testing.T) {
			r := &recorder{}
			if err := pubsub.CloudEventHandler(r.handle)(t.Context(), loadEvent(t, tc.edit)); err != nil {
				t.Fatalf("handler = %v", err)
			}
			if len(r.attempts) != 1 || r.attempts[0] != tc.want {
				t.Errorf("attempts = %v, want [%d]", r.attempts, tc.want)
			}
		})
	}

	t.Run("ReturnsHandlerError", func(t *testing.T) {
		sentinel := errors.New("embedder unavailable")
		r := &recorder{err: sentinel}
		err := pubsub.CloudEventHandler(r.handle)(t.Context(), loadEvent(t, nil))
		if !errors.Is(err, sentinel) {
			t.Fatalf("handler = %v, want the job's error so that Pub/Sub redelivers", err)
		}
	})

	t.Run("Panic", func(t *testing.T) {
		h := pubsub.CloudEventHandler(func(context.Context, domain.IndexJob, int) error { panic("nil map") })
		if err := h(t.Context(), loadEvent(t, nil)); err == nil || !strings.Contains(err.Error(), "panicked: nil map") {
			t.Fatalf("handler = %v, want the panic as an error", err)
		}
	})

	setData := func(data string) func(map[string]any) {
		return func(d map[string]any) { message(d)["data"] = data }
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for name, edit := range map[string]func(d map[string]any){
		"NotJSON":      setData(b64("not json")),
		"NoPath":       setData(b64(`{"workspace_id":"w"}`)),
		"NotBase64":    setData("%%%"),
		"NoData":       func(d map[string]any) { delete(message(d), "data") },
		"NoMessage":    func(d map[string]any) { delete(d, "message") },
		"MessageIsNum": func(d map[string]any) { d["message"] = 42 },
	} {
		t.Run("Poison/"+name, func(t *testing.T) {
			r := &recorder{}
			err := pubsub.CloudEventHandler(r.handle)(t.Context(), loadEvent(t, edit))
			if err == nil || !strings.Contains(err.Error(), "pubsub: message is not an index job") {
				t.Errorf("handler = %v, want a poison error so that the dead-letter policy takes it", err)
			}
			if len(r.jobs) != 0 {
				t.Errorf("poison reached the job handler: %+v", r.jobs)
			}
		})
	}

	t.Run("NoEventData", func(t *testing.T) {
		e := event.New()
		e.SetID("1")
		e.SetSource("//pubsub.googleapis.com/projects/p/topics/t")
		e.SetType(pubsub.MessagePublishedType)
		if err := pubsub.CloudEventHandler(new(recorder).handle)(t.Context(), e); err == nil {
			t.Error("handler accepted an event without data")
		}
	})
}

// TestCloudEventHandler_pstest runs the handler the way Eventarc does, against the Pub/Sub
// fake: every delivery of the subscription becomes a messagePublished event, an error nacks
// it, and a subscription with a dead-letter policy counts the attempts and finally moves the
// message to the dead-letter topic.
func TestCloudEventHandler_pstest(t *testing.T) {
	quietLogs(t)
	f := newFake(t)
	const maxAttempts = 3
	topic := f.topic(t, "index-jobs", maxAttempts)
	deadSub := &pubsubpb.Subscription{Name: subName("dead-letters"), Topic: topicName("index-jobs-dead")}
	if _, err := f.client.SubscriptionAdminClient.CreateSubscription(t.Context(), deadSub); err != nil {
		t.Fatal(err)
	}

	jobs := testJobs(3)
	if err := pubsub.NewQueue(f.publisher(t, topic)).Enqueue(t.Context(), jobs...); err != nil {
		t.Fatal(err)
	}
	f.srv.Publish(topic, []byte("poison"), nil)

	var mu sync.Mutex
	attempts := make(map[string][]int) // path -> attempts the job handler saw
	handler := pubsub.CloudEventHandler(func(ctx context.Context, job domain.IndexJob, attempt int) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[job.Path] = append(attempts[job.Path], attempt)
		if attempt < 2 {
			return fmt.Errorf("transient failure on attempt %d", attempt)
		}
		return nil
	})
	acked, deliveries := 0, 0
	f.receive(t, "index-jobs", func(ctx context.Context, m *gpubsub.Message) bool {
		err := handler(ctx, eventarc(t, m, subName("index-jobs")))
		mu.Lock()
		defer mu.Unlock()
		deliveries++
		if err != nil {
			m.Nack()
		} else {
			m.Ack()
			acked++
		}
		// 3 jobs × 2 deliveries + the poison message's 3.
		return acked == len(jobs) && deliveries == 2*len(jobs)+maxAttempts
	})
	for _, j := range jobs {
		if got := fmt.Sprint(attempts[j.Path]); got != "[1 2]" {
			t.Errorf("%s: attempts = %s, want [1 2]", j.Path, got)
		}
	}

	// The poison message was failed maxAttempts times, so the fake dead-letters it on the next pull.
	var dead []string
	f.receive(t, "dead-letters", func(ctx context.Context, m *gpubsub.Message) bool {
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		dead = append(dead, string(m.Data))
		return true
	})
	if fmt.Sprint(dead) != "[poison]" {
		t.Errorf("dead letters = %q, want the poison message", dead)
	}
}

// eventarc wraps a received message in the CloudEvent that Eventarc would deliver for it.
func eventarc(t *testing.T, m *gpubsub.Message, subscription string) event.Event {
	t.Helper()
	data := map[string]any{
		"message": map[string]any{
			"data":        m.Data, // []byte marshals as base64, as in the real event
			"attributes":  m.Attributes,
			"messageId":   m.ID,
			"publishTime": m.PublishTime.Format(time.RFC3339Nano),
		},
		"subscription": subscription,
	}
	if m.DeliveryAttempt != nil {
		data["deliveryAttempt"] = *m.DeliveryAttempt
	}
	e := event.New()
	e.SetID(m.ID)
	e.SetSource("//pubsub.googleapis.com/" + strings.Replace(subscription, "/subscriptions/", "/topics/", 1))
	e.SetType(pubsub.MessagePublishedType)
	if err := e.SetData(event.ApplicationJSON, data); err != nil {
		t.Fatal(err)
	}
	return e
}
