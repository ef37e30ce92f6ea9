package webhookrecv

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client/webhook"
)

// newSecret returns a fresh "whsec_" secret.
func newSecret(t *testing.T) string {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// eventBody returns the body of an invoice.processed webhook for invoice.
func eventBody(invoice string) []byte {
	return fmt.Appendf(nil, `{"type":"invoice.processed","timestamp":"2026-01-02T03:04:05Z","data":{"id":%q,"status":"processed"}}`, invoice)
}

// deliver POSTs body to r as webhook-id id, signed with secret unless it
// is empty, and returns the answer's status; 0 when no answer came.
func deliver(t *testing.T, r *Receiver, id, secret string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.URL(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	req.Header.Set(webhook.HeaderID, id)
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, "v1,Zm9yZ2Vk")
	if secret != "" {
		sig, err := webhook.Sign(secret, id, now, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(webhook.HeaderSignature, sig)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func start(t *testing.T, cfg Config) *Receiver {
	t.Helper()
	r, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// TestRecordsWhatVerifies delivers good, repeated, forged and malformed
// webhooks and checks the answers and what was recorded of each.
func TestRecordsWhatVerifies(t *testing.T) {
	r := start(t, Config{})
	secret := newSecret(t)
	if got := deliver(t, r, "evt-0", secret, eventBody("inv-0")); got != http.StatusUnauthorized {
		t.Fatalf("before a secret: %d, want 401", got)
	}
	if err := r.SetSecret(secret); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		id, secret string
		body       []byte
		want       int
	}{
		{"evt-a", secret, eventBody("inv-a"), http.StatusNoContent},
		{"evt-a", secret, eventBody("inv-a"), http.StatusNoContent}, // a retry
		{"evt-b", secret, eventBody("inv-b"), http.StatusNoContent},
		{"evt-c", "", eventBody("inv-c"), http.StatusUnauthorized},                       // forged
		{"evt-d", newSecret(t), eventBody("inv-d"), http.StatusUnauthorized},             // another secret
		{"evt-e", secret, []byte(`{"data":{"id":"inv-e"}}`), http.StatusBadRequest},      // no event type
		{"evt-f", secret, []byte(`{"type":"invoice.processed"}`), http.StatusBadRequest}, // no invoice
	}
	for _, s := range steps {
		if got := deliver(t, r, s.id, s.secret, s.body); got != s.want {
			t.Fatalf("%s: %d, want %d", s.id, got, s.want)
		}
	}
	if got, want := r.Counts(), (Counts{Invoices: 2, Outcomes: 2, Repeats: 1, Refused: 5}); got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	if got := r.Accepted("inv-a"); len(got) != 1 || got["evt-a"] != 2 {
		t.Fatalf("accepted for inv-a: %v", got)
	}
	if n := r.Requests("inv-a", "evt-a"); n != 2 {
		t.Fatalf("requests for evt-a: %d", n)
	}
	a, okA := r.OutcomeArrival("inv-a")
	b, okB := r.OutcomeArrival("inv-b")
	if !okA || !okB || b.Before(a) {
		t.Fatalf("arrivals %v %t, %v %t", a, okA, b, okB)
	}
	if _, ok := r.OutcomeArrival("inv-c"); ok {
		t.Fatal("a forged webhook counts as arrived")
	}
	if err := r.SetSecret("not a secret"); err == nil {
		t.Fatal("a malformed secret was taken")
	}
}

// TestInjectsFaults makes every verified request fail in one way: each is
// counted as a request and a fault, and none as accepted.
func TestInjectsFaults(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want int
	}{
		{"fail", Config{FailRate: 1}, http.StatusInternalServerError},
		{"hold", Config{TimeoutRate: 1, Hold: 50 * time.Millisecond}, http.StatusServiceUnavailable},
		{"reset", Config{ResetRate: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, tt.cfg)
			secret := newSecret(t)
			if err := r.SetSecret(secret); err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			if got := deliver(t, r, "evt-1", secret, eventBody("inv-1")); got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
			if tt.cfg.Hold > 0 && time.Since(began) < tt.cfg.Hold {
				t.Fatalf("answered after %s, before the hold of %s", time.Since(began), tt.cfg.Hold)
			}
			_, arrived := r.OutcomeArrival("inv-1")
			if c := r.Counts(); c != (Counts{Injected: 1}) || r.Requests("inv-1", "evt-1") != 1 || len(r.Accepted("inv-1")) != 0 || arrived {
				t.Fatalf("counts %+v, requests %d, accepted %v, arrived %t", c, r.Requests("inv-1", "evt-1"), r.Accepted("inv-1"), arrived)
			}
		})
	}
}

// TestDownAndUp stops the receiver listening and starts it again on the
// same address.
func TestDownAndUp(t *testing.T) {
	r := start(t, Config{})
	secret := newSecret(t)
	if err := r.SetSecret(secret); err != nil {
		t.Fatal(err)
	}
	if err := r.Down(); err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, r, "evt-1", secret, eventBody("inv-1")); got != 0 {
		t.Fatalf("down, yet answered %d", got)
	}
	if err := r.Up(); err != nil {
		t.Fatal(err)
	}
	if got := deliver(t, r, "evt-1", secret, eventBody("inv-1")); got != http.StatusNoContent {
		t.Fatalf("up again: %d", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, bad := range []Config{{FailRate: -0.1}, {ResetRate: 1.5}, {FailRate: 0.6, TimeoutRate: 0.6}, {Hold: -time.Second}} {
		if _, err := Start(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := (Config{FailRate: 0.3, TimeoutRate: 0.05, ResetRate: 0.05}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestFailFirstAndOrder fails the first request of each webhook-id and
// reports the invoices whose outcome came before their invoice.created was
// accepted.
func TestFailFirstAndOrder(t *testing.T) {
	r := start(t, Config{FailFirst: true})
	secret := newSecret(t)
	if err := r.SetSecret(secret); err != nil {
		t.Fatal(err)
	}
	created := func(invoice string) []byte {
		return bytes.Replace(eventBody(invoice), []byte("invoice.processed"), []byte("invoice.created"), 1)
	}
	steps := []struct {
		id   string
		body []byte
		want int
	}{
		{"in-order-created", created("in-order"), http.StatusInternalServerError},
		{"in-order-created", created("in-order"), http.StatusNoContent},
		{"in-order-processed", eventBody("in-order"), http.StatusInternalServerError},
		{"late-processed", eventBody("late"), http.StatusInternalServerError},
		{"late-created", created("late"), http.StatusInternalServerError},
		{"late-created", created("late"), http.StatusNoContent},
		{"no-created-processed", eventBody("no-created"), http.StatusInternalServerError},
	}
	for _, s := range steps {
		if got := deliver(t, r, s.id, secret, s.body); got != s.want {
			t.Fatalf("%s: %d, want %d", s.id, got, s.want)
		}
	}
	if got := r.OutOfOrder(); len(got) != 1 || got[0] != "late" {
		t.Fatalf("out of order: %v, want [late]", got)
	}
	if got := r.Counts().Injected; got != 5 {
		t.Fatalf("%d faults injected, want the 5 first requests", got)
	}

	// An accepted invoice.created is no outcome's arrival; the outcome's
	// second request, accepted, is.
	if _, ok := r.OutcomeArrival("late"); ok || r.Counts().Outcomes != 0 {
		t.Fatalf("an outcome arrived before any was accepted (%d)", r.Counts().Outcomes)
	}
	sent := time.Now()
	if got := deliver(t, r, "in-order-processed", secret, eventBody("in-order")); got != http.StatusNoContent {
		t.Fatalf("the outcome again: %d", got)
	}
	if at, ok := r.OutcomeArrival("in-order"); !ok || at.Before(sent) || r.Counts().Outcomes != 1 {
		t.Fatalf("outcome arrived %v %t (sent again %v), %d outcomes", at, ok, sent, r.Counts().Outcomes)
	}
}
