package sqs_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/sqs"
)

// isolateAWSConfig points the default AWS configuration at static test credentials and away
// from any real profile, so that NewClient behaves the same on every machine.
func isolateAWSConfig(t *testing.T) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "test",
		"AWS_SECRET_ACCESS_KEY":       "test",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_SQS":        "",
	} {
		t.Setenv(k, v)
	}
}

// countingClient counts the SQS operations a client sends, by their X-Amz-Target.
type countingClient struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingClient) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = make(map[string]int)
	}
	c.calls[strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")]++
	c.mu.Unlock()
	return http.DefaultClient.Do(r)
}

func (c *countingClient) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// server is an SQS test server with a client for it and one queue.
type server struct {
	client   *awssqs.Client // made by sqs.NewClient; counted by calls
	calls    *countingClient
	queueURL string
}

// newServer returns a client for the SQS test server at endpoint and a new queue there named
// after the test.
func newServer(t *testing.T, endpoint string) *server {
	t.Helper()
	ctx := t.Context()
	client, err := sqs.NewClient(ctx, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	calls := &countingClient{}
	client = awssqs.New(client.Options(), func(o *awssqs.Options) { o.HTTPClient = calls })
	name := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())
	out, err := client.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateQueue: %v", err)
	}
	return &server{client: client, calls: calls, queueURL: aws.ToString(out.QueueUrl)}
}

// receiveAll receives (and deletes) messages until it has n or a few seconds pass.
func (s *server) receiveAll(t *testing.T, n int) []types.Message {
	t.Helper()
	ctx := t.Context()
	var msgs []types.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(msgs) < n && time.Now().Before(deadline) {
		out, err := s.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(s.queueURL),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             1,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
			// The test server reads only the older name of the same parameter.
			//lint:ignore SA1019 SQS still accepts it, and local-aws-sqs needs it
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeName(types.MessageSystemAttributeNameApproximateReceiveCount)},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			msgs = append(msgs, m)
			if _, err := s.client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(s.queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
	}
	return msgs
}

func testJobs(n int, path func(i int) string) []domain.IndexJob {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891011, time.UTC)
	jobs := make([]domain.IndexJob, n)
	for i := range jobs {
		jobs[i] = domain.IndexJob{WorkspaceID: "ws-1", Path: path(i), Version: int64(i + 1), EnqueuedAt: at.Add(time.Duration(i) * time.Second)}
	}
	return jobs
}

// checkReceived checks that msgs carry exactly jobs, each once, as first deliveries.
func checkReceived(t *testing.T, msgs []types.Message, jobs []domain.IndexJob) {
	t.Helper()
	want := make(map[string]domain.IndexJob)
	for _, j := range jobs {
		want[j.Path] = j
	}
	seen := make(map[string]bool)
	for _, m := range msgs {
		var got domain.IndexJob
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &got); err != nil {
			t.Errorf("message %s: body is not a job: %v", aws.ToString(m.MessageId), err)
			continue
		}
		w, ok := want[got.Path]
		name := got.Path
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		switch {
		case !ok:
			t.Errorf("received a job nobody sent: %q", name)
		case seen[got.Path]:
			t.Errorf("received %q twice", name)
		case got.WorkspaceID != w.WorkspaceID || got.Version != w.Version || got.Deleted != w.Deleted || !got.EnqueuedAt.Equal(w.EnqueuedAt):
			t.Errorf("%q: received %+v, sent %+v", name, got, w)
		}
		seen[got.Path] = true
		if rc := m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]; rc != "1" {
			t.Errorf("%q: ApproximateReceiveCount = %q, want 1", name, rc)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("received %d distinct jobs, sent %d", len(seen), len(want))
	}
}

func TestQueue_Enqueue(t *testing.T) {
	isolateAWSConfig(t)
	endpoint := startSQSServer(t)

	t.Run("RoundTrip", func(t *testing.T) {
		s := newServer(t, endpoint)
		jobs := testJobs(25, func(i int) string { return fmt.Sprintf("src/pkg%d/file-%02d.go", i%3, i) })
		jobs[3].Path = "docs/ünïcødé 文件.md"
		jobs[4].Path = "odd/\uffff\ufffe-name.txt" // JSON allows these unescaped; SQS refuses them raw
		jobs[5].Deleted, jobs[5].Version = true, 0

		if err := sqs.NewQueue(s.client, s.queueURL).Enqueue(t.Context(), jobs...); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if n := s.calls.count("SendMessageBatch"); n != 3 {
			t.Errorf("SendMessageBatch calls = %d, want 3 (10+10+5)", n)
		}
		checkReceived(t, s.receiveAll(t, len(jobs)), jobs)
	})

	t.Run("SplitsBatchesBySize", func(t *testing.T) {
		s := newServer(t, endpoint)
		// Bodies of ~60 KiB: four fit in a 256 KiB batch, five would be refused whole.
		jobs := testJobs(12, func(i int) string { return fmt.Sprintf("%02d/%s", i, strings.Repeat("x", 60<<10)) })
		if err := sqs.NewQueue(s.client, s.queueURL).Enqueue(t.Context(), jobs...); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if n := s.calls.count("SendMessageBatch"); n != 3 {
			t.Errorf("SendMessageBatch calls = %d, want 3 (4+4+4)", n)
		}
		checkReceived(t, s.receiveAll(t, len(jobs)), jobs)
	})

	t.Run("OversizedJob", func(t *testing.T) {
		s := newServer(t, endpoint)
		jobs := testJobs(2, func(i int) string { return fmt.Sprint(i) })
		jobs[1].Path = strings.Repeat("y", 300<<10)
		err := sqs.NewQueue(s.client, s.queueURL).Enqueue(t.Context(), jobs...)
		if err == nil || !strings.HasPrefix(err.Error(), "sqs: 1 of 2 jobs not sent:") {
			t.Fatalf("Enqueue = %.300v, want 1 of 2 jobs not sent", err)
		}
		if len(err.Error()) > 500 {
			t.Errorf("error of %d bytes quotes the whole path", len(err.Error()))
		}
		checkReceived(t, s.receiveAll(t, 1), jobs[:1])
	})

	t.Run("NoSuchQueue", func(t *testing.T) {
		s := newServer(t, endpoint)
		jobs := testJobs(3, func(i int) string { return fmt.Sprint(i) })
		err := sqs.NewQueue(s.client, s.queueURL+"-missing").Enqueue(t.Context(), jobs...)
		if err == nil || !strings.HasPrefix(err.Error(), "sqs: 3 of 3 jobs not sent:") || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("Enqueue = %v, want 3 of 3 jobs not sent because the queue does not exist", err)
		}
	})

	t.Run("Nothing", func(t *testing.T) {
		s := newServer(t, endpoint)
		if err := sqs.NewQueue(s.client, s.queueURL).Enqueue(t.Context()); err != nil {
			t.Fatalf("Enqueue(): %v", err)
		}
		if n := s.calls.count("SendMessageBatch"); n != 0 {
			t.Errorf("SendMessageBatch calls = %d, want 0", n)
		}
	})
}

// fakeSQS answers SendMessageBatch in the AWS JSON 1.0 protocol, failing the entries that
// fail says to fail; the real server never fails single entries on purpose.
type fakeSQS struct {
	mu      sync.Mutex
	batches [][]string // the Ids of each call
	bodies  map[string]string
	// fail returns, for the nth call (from 0) and an entry Id, whether to fail it and
	// whether that is the sender's fault.
	fail func(call int, id string) (fail, senderFault bool)
}

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != "AmazonSQS.SendMessageBatch" {
		http.Error(w, "unexpected operation "+r.Header.Get("X-Amz-Target"), http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in struct {
		QueueUrl string
		Entries  []struct{ Id, MessageBody string }
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	type ok struct{ Id, MessageId, MD5OfMessageBody string }
	type failed struct {
		Id, Code, Message string
		SenderFault       bool
	}
	var out struct {
		Successful []ok
		Failed     []failed
	}
	f.mu.Lock()
	call := len(f.batches)
	var ids []string
	for _, e := range in.Entries {
		ids = append(ids, e.Id)
		if !validSQSText(e.MessageBody) {
			out.Failed = append(out.Failed, failed{Id: e.Id, Code: "InvalidMessageContents", Message: "invalid characters", SenderFault: true})
			continue
		}
		if fail, sender := f.fail(call, e.Id); fail {
			code := "InternalError"
			if sender {
				code = "InvalidMessageContents"
			}
			out.Failed = append(out.Failed, failed{Id: e.Id, Code: code, Message: "entry " + e.Id + " failed", SenderFault: sender})
			continue
		}
		if f.bodies == nil {
			f.bodies = make(map[string]string)
		}
		f.bodies[e.Id] = e.MessageBody
		sum := md5.Sum([]byte(e.MessageBody)) // the SDK checks it
		out.Successful = append(out.Successful, ok{Id: e.Id, MessageId: fmt.Sprintf("m-%d-%s", call, e.Id), MD5OfMessageBody: hex.EncodeToString(sum[:])})
	}
	f.batches = append(f.batches, ids)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	json.NewEncoder(w).Encode(out)
}

// validSQSText reports whether SQS accepts s as a message body: its documentation allows
// only #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
func validSQSText(s string) bool {
	for _, r := range s {
		ok := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !ok {
			return false
		}
	}
	return true
}

func TestQueue_Enqueue_failedEntries(t *testing.T) {
	isolateAWSConfig(t)
	start := func(t *testing.T, fail func(call int, id string) (bool, bool)) (*fakeSQS, *sqs.Queue) {
		t.Helper()
		f := &fakeSQS{fail: fail}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		client, err := sqs.NewClient(t.Context(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		return f, sqs.NewQueue(client, srv.URL+"/123456789012/index-jobs")
	}
	jobs := testJobs(3, func(i int) string { return fmt.Sprint(i) })

	t.Run("RetriesTransientFailures", func(t *testing.T) {
		f, q := start(t, func(call int, id string) (bool, bool) { return call < 2 && id == "1", false })
		if err := q.Enqueue(t.Context(), jobs...); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		if got := fmt.Sprint(f.batches); got != "[[0 1 2] [1] [1]]" {
			t.Errorf("batches = %s, want [[0 1 2] [1] [1]]", got)
		}
		if len(f.bodies) != 3 {
			t.Errorf("sent %d jobs, want 3", len(f.bodies))
		}
	})

	t.Run("EscapesCharactersSQSRefuses", func(t *testing.T) {
		f, q := start(t, func(call int, id string) (bool, bool) { return false, false })
		odd := []domain.IndexJob{{WorkspaceID: "w", Path: "a\uffff\ufffe\u0001\u2028.txt", Version: 1}}
		if err := q.Enqueue(t.Context(), odd...); err != nil {
			t.Fatalf("Enqueue: %v", err)
		}
		var got domain.IndexJob
		if err := json.Unmarshal([]byte(f.bodies["0"]), &got); err != nil || got.Path != odd[0].Path {
			t.Errorf("sent body %q (%v), want the job with path %q", f.bodies["0"], err, odd[0].Path)
		}
	})

	t.Run("GivesUpOnSenderFaults", func(t *testing.T) {
		f, q := start(t, func(call int, id string) (bool, bool) { return id == "2", true })
		err := q.Enqueue(t.Context(), jobs...)
		if err == nil || !strings.HasPrefix(err.Error(), "sqs: 1 of 3 jobs not sent:") || !strings.Contains(err.Error(), "InvalidMessageContents") {
			t.Fatalf("Enqueue = %v, want 1 of 3 jobs not sent, naming the code", err)
		}
		if got := fmt.Sprint(f.batches); got != "[[0 1 2]]" {
			t.Errorf("batches = %s, want one: a sender fault is not retried", got)
		}
	})

	t.Run("GivesUpEventually", func(t *testing.T) {
		f, q := start(t, func(call int, id string) (bool, bool) { return id != "0", false })
		err := q.Enqueue(t.Context(), jobs...)
		if err == nil || !strings.HasPrefix(err.Error(), "sqs: 2 of 3 jobs not sent:") {
			t.Fatalf("Enqueue = %v, want 2 of 3 jobs not sent", err)
		}
		if got := fmt.Sprint(f.batches); got != "[[0 1 2] [1 2] [1 2] [1 2]]" {
			t.Errorf("batches = %s, want the first and three retries", got)
		}
	})

	t.Run("StopsWhenContextEnds", func(t *testing.T) {
		_, q := start(t, func(call int, id string) (bool, bool) { return true, false })
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err := q.Enqueue(ctx, jobs...)
		if err == nil || !strings.HasPrefix(err.Error(), "sqs: 3 of 3 jobs not sent:") || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("Enqueue = %v, want 3 of 3 jobs not sent, deadline exceeded", err)
		}
	})
}
