package pubsub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	gpubsub "cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/pubsub"
)

const project = "vibecode-test"

// fake is the official in-process Pub/Sub fake with a client connected to it.
type fake struct {
	srv    *pstest.Server
	client *gpubsub.Client
}

func newFake(t *testing.T) *fake {
	t.Helper()
	srv := pstest.NewServer()
	t.Cleanup(func() { srv.Close() })
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	client, err := pubsub.NewClient(t.Context(), project, option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return &fake{srv: srv, client: client}
}

func topicName(id string) string { return "projects/" + project + "/topics/" + id }
func subName(id string) string   { return "projects/" + project + "/subscriptions/" + id }

// topic creates a topic and a subscription to it, with a dead-letter policy if maxAttempts
// is positive, and returns the topic's name.
func (f *fake) topic(t *testing.T, id string, maxAttempts int32) string {
	t.Helper()
	ctx := t.Context()
	if _, err := f.client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topicName(id)}); err != nil {
		t.Fatalf("CreateTopic: %v", err)
	}
	sub := &pubsubpb.Subscription{Name: subName(id), Topic: topicName(id), AckDeadlineSeconds: 10}
	if maxAttempts > 0 {
		if _, err := f.client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topicName(id + "-dead")}); err != nil {
			t.Fatalf("CreateTopic: %v", err)
		}
		sub.DeadLetterPolicy = &pubsubpb.DeadLetterPolicy{DeadLetterTopic: topicName(id + "-dead"), MaxDeliveryAttempts: maxAttempts}
	}
	if _, err := f.client.SubscriptionAdminClient.CreateSubscription(ctx, sub); err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
	return topicName(id)
}

// publisher returns a publisher for topic that is stopped when the test ends.
func (f *fake) publisher(t *testing.T, topic string) *gpubsub.Publisher {
	t.Helper()
	p := f.client.Publisher(topic)
	t.Cleanup(p.Stop)
	return p
}

// receive calls fn with each message of the subscription id until fn returns true or a few
// seconds pass; fn acks or nacks.
func (f *fake) receive(t *testing.T, id string, fn func(ctx context.Context, m *gpubsub.Message) (done bool)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	sub := f.client.Subscriber(subName(id))
	sub.ReceiveSettings.MaxOutstandingMessages = 10
	var once sync.Once
	err := sub.Receive(ctx, func(ctx context.Context, m *gpubsub.Message) {
		if fn(ctx, m) {
			once.Do(cancel)
		}
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Receive: %v", err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("Receive: timed out")
	}
}

func testJobs(n int) []domain.IndexJob {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011, time.UTC)
	jobs := make([]domain.IndexJob, n)
	for i := range jobs {
		jobs[i] = domain.IndexJob{WorkspaceID: "ws-1", Path: fmt.Sprintf("src/file-%02d.go", i), Version: int64(i + 1), EnqueuedAt: at.Add(time.Duration(i) * time.Second)}
	}
	return jobs
}

func TestQueue_Enqueue(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		f := newFake(t)
		topic := f.topic(t, "index-jobs", 0)
		jobs := testJobs(25)
		jobs[3].Path = "docs/ünïcødé 文件\uffff.md"
		jobs[4].Deleted, jobs[4].Version = true, 0

		if err := pubsub.NewQueue(f.publisher(t, topic)).Enqueue(t.Context(), jobs...); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if n := len(f.srv.Messages()); n != len(jobs) {
			t.Errorf("server holds %d messages, want %d", n, len(jobs))
		}

		want := make(map[string]domain.IndexJob)
		for _, j := range jobs {
			want[j.Path] = j
		}
		var mu sync.Mutex
		got := make(map[string]domain.IndexJob)
		f.receive(t, "index-jobs", func(ctx context.Context, m *gpubsub.Message) bool {
			m.Ack()
			var j domain.IndexJob
			if err := json.Unmarshal(m.Data, &j); err != nil {
				t.Errorf("message %s is not a job: %v", m.ID, err)
				return false
			}
			mu.Lock()
			defer mu.Unlock()
			if _, dup := got[j.Path]; dup {
				t.Errorf("received %q twice", j.Path)
			}
			got[j.Path] = j
			return len(got) == len(want)
		})
		for path, w := range want {
			g, ok := got[path]
			if !ok {
				t.Errorf("%q not received", path)
				continue
			}
			if g.WorkspaceID != w.WorkspaceID || g.Version != w.Version || g.Deleted != w.Deleted || !g.EnqueuedAt.Equal(w.EnqueuedAt) {
				t.Errorf("received %+v, sent %+v", g, w)
			}
		}
	})

	t.Run("NoSuchTopic", func(t *testing.T) {
		f := newFake(t)
		q := pubsub.NewQueue(f.publisher(t, topicName("missing")))
		err := q.Enqueue(t.Context(), testJobs(3)...)
		if err == nil || !strings.HasPrefix(err.Error(), "pubsub: 3 of 3 jobs not published:") || !strings.Contains(err.Error(), "NotFound") {
			t.Fatalf("Enqueue = %v, want 3 of 3 jobs not published, NotFound", err)
		}
	})

	t.Run("StoppedPublisher", func(t *testing.T) {
		f := newFake(t)
		p := f.publisher(t, f.topic(t, "index-jobs", 0))
		p.Stop()
		err := pubsub.NewQueue(p).Enqueue(t.Context(), testJobs(2)...)
		if err == nil || !strings.HasPrefix(err.Error(), "pubsub: 2 of 2 jobs not published:") || !errors.Is(err, gpubsub.ErrPublisherStopped) {
			t.Fatalf("Enqueue = %v, want 2 of 2 jobs not published, publisher stopped", err)
		}
	})

	t.Run("Nothing", func(t *testing.T) {
		f := newFake(t)
		if err := pubsub.NewQueue(f.publisher(t, f.topic(t, "index-jobs", 0))).Enqueue(t.Context()); err != nil {
			t.Fatalf("Enqueue(): %v", err)
		}
	})
}
