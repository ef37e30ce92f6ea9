package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

type subscription struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	EventTypes     []string  `json:"event_types"`
	Description    string    `json:"description"`
	Status         string    `json:"status"`
	DisabledReason string    `json:"disabled_reason"`
	Secret         string    `json:"secret"`
	CreatedAt      time.Time `json:"created_at"`
}

func (e *env) subscribe(t testing.TB, body string) subscription {
	t.Helper()
	r := e.do(t, http.MethodPost, "/webhooks/subscriptions", []byte(body), "Content-Type", "application/json")
	if r.status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	var s subscription
	r.json(t, &s)
	if r.header.Get("Location") != "/webhooks/subscriptions/"+s.ID {
		t.Fatalf("Location %q", r.header.Get("Location"))
	}
	return s
}

// stored reads the subscription record straight from the bucket.
func (e *env) stored(t testing.TB, id string) webhook.Subscription {
	t.Helper()
	entry, err := e.subs.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var s webhook.Subscription
	if err := json.Unmarshal(entry.Value(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// activeSecrets returns the stored subscription's secrets that sign at at,
// opened with the resource's keyring.
func (e *env) activeSecrets(t testing.TB, id string, at time.Time) []string {
	t.Helper()
	got, err := e.stored(t, id).ActiveSecrets(at, e.secrets)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestSubscribeShowsTheSecretOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.subscribe(t, `{"url":"http://127.0.0.1:9000/webhook"}`)
	if !strings.HasPrefix(s.Secret, webhook.SecretPrefix) || s.Status != "enabled" {
		t.Fatalf("%+v", s)
	}
	if !slices.Equal(s.EventTypes, webhook.EventTypes) {
		t.Fatalf("default event types %v", s.EventTypes)
	}
	if got := e.activeSecrets(t, s.ID, time.Now()); !slices.Equal(got, []string{s.Secret}) {
		t.Fatalf("stored secrets %v", got)
	}
	get := e.do(t, http.MethodGet, "/webhooks/subscriptions/"+s.ID, nil)
	list := e.do(t, http.MethodGet, "/webhooks/subscriptions", nil)
	for _, r := range []response{get, list} {
		if r.status != http.StatusOK || strings.Contains(string(r.body), s.Secret) || strings.Contains(string(r.body), webhook.SecretPrefix) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
}

func TestListSubscriptionsNewestFirst(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.subscribe(t, `{"url":"https://a.example/hook"}`)
	b := e.subscribe(t, `{"url":"https://b.example/hook","event_types":["invoice.failed"],"description":"alerts"}`)
	var list struct{ Data []subscription }
	e.do(t, http.MethodGet, "/webhooks/subscriptions", nil).json(t, &list)
	if len(list.Data) != 2 || list.Data[0].ID != b.ID || list.Data[1].ID != a.ID {
		t.Fatalf("%+v", list.Data)
	}
	if !slices.Equal(list.Data[0].EventTypes, []string{"invoice.failed"}) || list.Data[0].Description != "alerts" {
		t.Fatalf("%+v", list.Data[0])
	}
}

func TestSubscriptionValidation(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct{ name, body, field string }{
		{"no url", `{}`, "url"},
		{"relative url", `{"url":"/hook"}`, "url"},
		{"ftp url", `{"url":"ftp://example.com/x"}`, "url"},
		{"no host", `{"url":"http://"}`, "url"},
		{"long url", `{"url":"https://example.com/` + strings.Repeat("a", 2048) + `"}`, "url"},
		{"unknown type", `{"url":"https://example.com","event_types":["invoice.paid"]}`, "event_types"},
		{"no types", `{"url":"https://example.com","event_types":[]}`, "event_types"},
		{"twice", `{"url":"https://example.com","event_types":["invoice.failed","invoice.failed"]}`, "event_types"},
		{"status on create", `{"url":"https://example.com","status":"disabled"}`, "status"},
		{"unknown field", `{"url":"https://example.com","signing_secret":"whsec_x"}`, "signing_secret"},
		{"malformed secret", `{"url":"https://example.com","secret":"whsec_x"}`, "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodPost, "/webhooks/subscriptions", []byte(tt.body), "Content-Type", "application/json")
			wantProblem(t, r, http.StatusBadRequest, tt.field)
		})
	}
	keys, err := e.subs.ListKeys(context.Background())
	if err == nil {
		for range keys.Keys() {
			t.Fatal("a refused subscription was stored")
		}
	}
}

func TestPatchDeleteAndRotate(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.subscribe(t, `{"url":"https://example.com/a"}`)
	path := "/webhooks/subscriptions/" + s.ID
	patch := func(body string) response {
		return e.do(t, http.MethodPatch, path, []byte(body), "Content-Type", "application/json")
	}

	var got subscription
	r := patch(`{"url":"https://example.com/b","event_types":["invoice.processed"],"status":"disabled"}`)
	r.json(t, &got)
	if r.status != http.StatusOK || got.URL != "https://example.com/b" || got.Status != "disabled" ||
		got.DisabledReason == "" || !slices.Equal(got.EventTypes, []string{"invoice.processed"}) || got.Secret != "" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	got = subscription{}
	patch(`{"status":"enabled"}`).json(t, &got)
	if got.Status != "enabled" || got.DisabledReason != "" || got.URL != "https://example.com/b" {
		t.Fatalf("re-enabled: %+v", got)
	}
	wantProblem(t, patch(`{"status":"paused"}`), http.StatusBadRequest, "status")
	wantProblem(t, patch(`{"url":"http://0.0.0.0:9000/"}`), http.StatusBadRequest, "url") // never allowed
	if got := e.stored(t, s.ID).URL; got != "https://example.com/b" {
		t.Fatalf("a refused PATCH changed the URL to %q", got)
	}

	r = e.do(t, http.MethodPost, path+"/rotate-secret", nil)
	var rotated subscription
	r.json(t, &rotated)
	if r.status != http.StatusOK || rotated.Secret == "" || rotated.Secret == s.Secret {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	if got := e.activeSecrets(t, s.ID, time.Now()); !slices.Equal(got, []string{rotated.Secret, s.Secret}) {
		t.Fatalf("during the overlap: %v", got)
	}
	if got := e.activeSecrets(t, s.ID, time.Now().Add(time.Hour+time.Minute)); !slices.Equal(got, []string{rotated.Secret}) {
		t.Fatalf("after the overlap: %v", got)
	}

	if r := e.do(t, http.MethodDelete, path, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantProblem(t, e.do(t, http.MethodGet, path, nil), http.StatusNotFound, "")
	wantProblem(t, e.do(t, http.MethodDelete, path, nil), http.StatusNotFound, "")
	wantProblem(t, patch(`{"status":"enabled"}`), http.StatusNotFound, "")
	wantProblem(t, e.do(t, http.MethodPost, "/webhooks/subscriptions/nope/rotate-secret", nil), http.StatusNotFound, "")
}

func TestDisablingEndsWaitingDeliveries(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tests := []struct {
		name, method, body, reason string
	}{
		{"disable", http.MethodPatch, `{"status":"disabled"}`, "the subscription was disabled"},
		{"delete", http.MethodDelete, ``, "the subscription was deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := e.subscribe(t, `{"url":"https://example.com/hook"}`)
			// A delivery waiting for its retry, as the dispatcher leaves one.
			next := time.Now().Add(time.Hour)
			d := webhook.Delivery{ID: uuid.NewString(), SubscriptionID: s.ID, Status: webhook.DeliveryFailing,
				NextAttemptAt: &next, Attempts: []webhook.Attempt{{Number: 1, HTTPStatus: 500}}}
			data, _ := json.Marshal(d)
			if _, err := e.ending.Deliveries.(jetstream.KeyValue).Put(ctx, d.ID, data); err != nil {
				t.Fatal(err)
			}
			msg := nats.NewMsg(webhook.ScheduleSubject(s.ID, d.ID))
			msg.Header.Set(jetstream.ScheduleHeader, "@at "+next.UTC().Format(time.RFC3339))
			msg.Header.Set(jetstream.ScheduleTargetHeader, webhook.RetryTaskSubject(s.ID, d.ID))
			if _, err := e.js.PublishMsg(ctx, msg); err != nil {
				t.Fatal(err)
			}
			var headers []string
			if tt.body != "" {
				headers = []string{"Content-Type", "application/json"}
			}
			if r := e.do(t, tt.method, "/webhooks/subscriptions/"+s.ID, []byte(tt.body), headers...); r.status >= 300 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if _, err := e.ending.Deliveries.Get(ctx, d.ID); !errors.Is(err, jetstream.ErrKeyNotFound) {
				t.Fatalf("the ended delivery is still live: %v", err)
			}
			got, ok, err := e.ending.Settler.Settled(ctx, s.ID, d.ID)
			if err != nil || !ok || got.Status != webhook.DeliveryDead || got.Reason != tt.reason || got.NextAttemptAt != nil {
				t.Fatalf("waiting delivery after %s: %+v, %v, %v", tt.name, got, ok, err)
			}
			if counts, _ := natstest.SubjectCounts(t, e.ending.Tasks, webhook.ScheduleSubject(s.ID, "*")); len(counts) != 0 {
				t.Fatalf("retries left: %v", counts)
			}
		})
	}
}
