package app

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// recorder keeps every webhook it is sent, by webhook-id, and answers each
// with the status answer holds.
type recorder struct {
	*httptest.Server
	answer atomic.Int32
	mu     sync.Mutex
	got    map[string]delivered
}

// delivered is one webhook as it arrived.
type delivered struct {
	header http.Header
	body   []byte
}

func newRecorder(t testing.TB) *recorder {
	t.Helper()
	rc := &recorder{got: map[string]delivered{}}
	rc.answer.Store(http.StatusNoContent)
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got[r.Header.Get(webhook.HeaderID)] = delivered{r.Header.Clone(), body}
		rc.mu.Unlock()
		w.WriteHeader(int(rc.answer.Load()))
	}))
	t.Cleanup(rc.Close)
	return rc
}

// await waits for a webhook whose webhook-id want accepts, and returns it.
func (rc *recorder) await(t testing.TB, what string, want func(id string) bool) delivered {
	t.Helper()
	var found delivered
	natstest.Eventually(t, 20*time.Second, what, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for id, d := range rc.got {
			if want(id) {
				found = d
				return true
			}
		}
		return false
	})
	return found
}

// topLevel returns the members of a webhook body.
func topLevel(t testing.TB, body []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("webhook body %s: %v", body, err)
	}
	return m
}

// TestASuppliedSecretSignsWhatIsDelivered subscribes with a secret of the
// client's, then has a test event and a real one delivered: each verifies,
// with a Standard Webhooks library, under that secret; only the test one
// says "test": true; the secret is stored sealed and never shown again.
func TestASuppliedSecretSignsWhatIsDelivered(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--nats-listen", "127.0.0.1:0", "--webhook-retry-schedule", "50ms,50ms"))
	base := "http://" + svc.Addr()
	rc := newRecorder(t)
	const given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sub := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+rc.URL+`","event_types":["invoice.created"],"secret":"`+given+`"}`,
		"Content-Type", "application/json")
	if sub.Status != http.StatusCreated || calltest.Field(t, sub.Body, "secret") != given {
		t.Fatalf("subscribe with a secret: %d %s", sub.Status, sub.Body)
	}
	subID := calltest.Field(t, sub.Body, "id")
	for _, path := range []string{"/webhooks/subscriptions/" + subID, "/webhooks/subscriptions"} {
		if a := calltest.Call(t, http.MethodGet, base+path, ""); a.Status != http.StatusOK || strings.Contains(string(a.Body), given[len(webhook.SecretPrefix):]) {
			t.Fatalf("GET %s: %d %s", path, a.Status, a.Body)
		}
	}
	if entry, err := bucketOf(t, svc).Get(t.Context(), subID); err != nil || strings.Contains(string(entry.Value()), given[len(webhook.SecretPrefix):]) {
		t.Fatalf("the given secret is not stored sealed: %v", err)
	}

	test := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions/"+subID+"/test", `{}`, "Content-Type", "application/json")
	if test.Status != http.StatusAccepted {
		t.Fatalf("test event: %d %s", test.Status, test.Body)
	}
	testID := calltest.Field(t, test.Body, "event_id")
	inv := calltest.PostInvoice(t, base, "delivered-1", calltest.InvoiceBody)
	if inv.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", inv.Status, inv.Body)
	}
	testHook := rc.await(t, "the test event", func(id string) bool { return id == testID })
	realHook := rc.await(t, "the invoice's event", func(id string) bool { return id != testID })

	verifier, err := standardwebhooks.NewWebhook(given)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []delivered{testHook, realHook} {
		if err := verifier.Verify(d.body, d.header); err != nil {
			t.Fatalf("a webhook does not verify under the secret given: %v\n%s", err, d.body)
		}
	}
	if got := topLevel(t, testHook.body)["test"]; string(got) != "true" {
		t.Fatalf("the test event's body: %s", testHook.body)
	}
	real := topLevel(t, realHook.body)
	if _, ok := real["test"]; ok {
		t.Fatalf("a real event's body carries test: %s", realHook.body)
	}
	if id := calltest.Field(t, real["data"], "id"); id != calltest.Field(t, inv.Body, "id") {
		t.Fatalf("the real webhook is about %q, not the invoice made", id)
	}
}

// TestHealthShowsTheFailureStreak has a receiver fail, then recover, and
// reads the subscription's health: the streak as the dispatcher records it,
// and its recent deliveries as the delivery log has them.
func TestHealthShowsTheFailureStreak(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--webhook-retry-schedule", "200ms,200ms,200ms"))
	base := "http://" + svc.Addr()
	rc := newRecorder(t)
	rc.answer.Store(http.StatusInternalServerError)
	subID, _ := calltest.Subscribe(t, base, rc.URL)
	type health struct {
		Failing      bool       `json:"failing"`
		FailingSince *time.Time `json:"failing_since"`
		Recent       struct {
			Deliveries, Delivered int
			SuccessRate           *float64 `json:"success_rate"`
		}
	}
	read := func() health {
		var got struct{ Health health }
		if err := json.Unmarshal(calltest.Call(t, http.MethodGet, base+"/webhooks/subscriptions/"+subID, "").Body, &got); err != nil {
			t.Fatal(err)
		}
		return got.Health
	}
	if h := read(); h.Failing || h.FailingSince != nil || h.Recent.Deliveries != 0 || h.Recent.SuccessRate != nil {
		t.Fatalf("a new subscription's health: %+v", h)
	}
	before := time.Now()
	if a := calltest.PostInvoice(t, base, "health-1", calltest.InvoiceBody); a.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", a.Status, a.Body)
	}
	natstest.Eventually(t, 20*time.Second, "the streak shown", func() bool { return read().Failing })
	if h := read(); h.FailingSince == nil || h.FailingSince.Before(before.Add(-time.Second)) || h.FailingSince.After(time.Now()) {
		t.Fatalf("failing since %v, the attempt was made after %v", h.FailingSince, before)
	}
	natstest.Eventually(t, 20*time.Second, "the failing delivery counted", func() bool {
		h := read()
		return h.Recent.Deliveries >= 1 && h.Recent.Delivered == 0 && h.Recent.SuccessRate != nil && *h.Recent.SuccessRate == 0
	})
	rc.answer.Store(http.StatusNoContent)
	natstest.Eventually(t, 20*time.Second, "the streak ended by the retry that succeeded", func() bool {
		h := read()
		return !h.Failing && h.FailingSince == nil
	})
	natstest.Eventually(t, 20*time.Second, "the invoice's two deliveries counted as delivered", func() bool {
		h := read()
		return h.Recent.Deliveries == 2 && h.Recent.Delivered == 2 && h.Recent.SuccessRate != nil && *h.Recent.SuccessRate == 1
	})
}
