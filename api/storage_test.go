package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// limitBytes sets the byte limit of stream name to what it holds now, so
// that it refuses every new message, or lifts the limit when lift is true.
func limitBytes(t testing.TB, js jetstream.JetStream, name string, lift bool) {
	t.Helper()
	ctx := context.Background()
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := info.Config
	cfg.MaxBytes = -1
	if !lift {
		if info.State.Bytes == 0 {
			t.Fatalf("stream %s is empty: no limit would refuse anything", name)
		}
		cfg.MaxBytes = int64(info.State.Bytes)
	}
	if cfg.Discard != jetstream.DiscardNew {
		t.Fatalf("stream %s discards old messages at its limit: nothing would be refused", name)
	}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("limit %s: %v", name, err)
	}
}

// wantStorageProblem checks a 507 answer: problem+json of its type, with
// Retry-After.
func wantStorageProblem(t testing.TB, r response) {
	t.Helper()
	p := wantProblem(t, r, http.StatusInsufficientStorage, "")
	if p.Type != "urn:invoiced:problem:insufficient-storage" || p.Detail == "" {
		t.Fatalf("problem %s", r.body)
	}
	if r.header.Get("Retry-After") != "30" {
		t.Fatalf("Retry-After %q, want 30", r.header.Get("Retry-After"))
	}
}

// TestAFullInvoicesStreamAnswers507UntilThereIsRoom fills INVOICES to its
// byte limit: new invoices, alone or many at once through the group-commit
// writer, are answered 507 and nothing of them is stored; once the limit
// is lifted the same requests create them, once.
func TestAFullInvoicesStreamAnswers507UntilThereIsRoom(t *testing.T) {
	for _, grouped := range []bool{false, true} {
		t.Run(fmt.Sprintf("grouped %v", grouped), func(t *testing.T) {
			e := newEnv(t, envOptions{grouped: grouped})
			if r := e.post(t, "before", body2500); r.status != http.StatusCreated {
				t.Fatalf("%d %s", r.status, r.body)
			}
			limitBytes(t, e.js, events.StreamInvoices, false)
			held := e.storedMsgs(t)
			const n = 8
			keys := make([]string, n)
			answers := make([]response, n)
			var wg sync.WaitGroup
			for i := range n {
				keys[i] = fmt.Sprint("full-", i)
				wg.Go(func() { answers[i] = e.post(t, keys[i], body2500) })
			}
			wg.Wait()
			for _, r := range answers {
				wantStorageProblem(t, r)
			}
			if got := e.storedMsgs(t); got != held {
				t.Fatalf("the stream holds %d events after refusing every one, %d before", got, held)
			}
			id := events.InvoiceID(api.DefaultCaller, "POST /invoices", keys[0])
			wantProblem(t, e.do(t, http.MethodGet, "/invoices/"+id, nil), http.StatusNotFound, "")
			if p := e.list(t, nil); len(p.Data) != 1 {
				t.Fatalf("%d invoices listed after the refusals, want 1", len(p.Data))
			}

			limitBytes(t, e.js, events.StreamInvoices, true)
			for _, key := range keys {
				r := e.post(t, key, body2500)
				if r.status != http.StatusCreated || r.header.Get("Idempotent-Replayed") != "" {
					t.Fatalf("after the limit was lifted: %d %v %s", r.status, r.header, r.body)
				}
			}
			if r := e.post(t, keys[0], body2500); r.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("a repeat is not replayed: %d %v", r.status, r.header)
			}
			if got := e.storedMsgs(t); got != held+n {
				t.Fatalf("the stream holds %d events, want %d", got, held+n)
			}
		})
	}
}

// TestAFullSubscriptionsBucketAnswers507 fills the subscriptions bucket to
// its byte limit: a new subscription, and a change that makes a record
// larger, are answered 507 and leave the bucket as it was; once the limit
// is lifted the same requests succeed.
func TestAFullSubscriptionsBucketAnswers507(t *testing.T) {
	e := newEnv(t, envOptions{})
	first := e.subscribe(t, `{"url":"https://example.com/a"}`)
	limitBytes(t, e.js, webhook.SubscriptionsStream, false)
	create := func() response {
		return e.do(t, http.MethodPost, "/webhooks/subscriptions", []byte(`{"url":"https://example.com/b"}`), "Content-Type", "application/json")
	}
	patch := func() response {
		return e.do(t, http.MethodPatch, "/webhooks/subscriptions/"+first.ID, []byte(`{"description":"a description longer than none"}`),
			"Content-Type", "application/json")
	}
	wantStorageProblem(t, create())
	wantStorageProblem(t, patch())
	var list struct{ Data []subscription }
	e.do(t, http.MethodGet, "/webhooks/subscriptions", nil).json(t, &list)
	if len(list.Data) != 1 || list.Data[0].ID != first.ID || list.Data[0].Description != "" {
		t.Fatalf("after the refusals: %+v", list.Data)
	}
	limitBytes(t, e.js, webhook.SubscriptionsStream, true)
	if r := create(); r.status != http.StatusCreated {
		t.Fatalf("create after the limit was lifted: %d %s", r.status, r.body)
	}
	if r := patch(); r.status != http.StatusOK {
		t.Fatalf("patch after the limit was lifted: %d %s", r.status, r.body)
	}
}
