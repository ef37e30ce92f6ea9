package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/replay"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
)

// subscribe stores an enabled subscription to every event type, created
// at created.
func subscribe(t *testing.T, h broker.Handles, created time.Time) webhook.Subscription {
	t.Helper()
	s := webhook.Subscription{ID: uuid.NewString(), URL: "https://example.com/hook", EventTypes: webhook.EventTypes,
		Status: webhook.StatusEnabled, Secrets: []webhook.Secret{{Value: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: created}},
		CreatedAt: created, UpdatedAt: created}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscriptions.Put(context.Background(), s.ID, data); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReplaySendsNothingFromBeforeASubscription stores events from before,
// between and after the creation of two subscriptions, and replays them
// all: each subscription is sent the events that happened once it existed,
// as fan-out sent them, and none from before.
func TestReplaySendsNothingFromBeforeASubscription(t *testing.T) {
	_, js := natstest.Connect(t, natstest.Start(t, natstest.Options{}))
	h := statetest.Streams(t, js, broker.Streams{})
	now := time.Now().UTC()
	older := subscribe(t, h, now.Add(-time.Hour))
	newer := subscribe(t, h, now.Add(-10*time.Minute))

	invoice := func(key string, created time.Time) events.Event {
		inv := events.Invoice{ID: events.InvoiceID(events.DefaultAccount, "POST /invoices", key), CustomerID: "cust", AmountCents: 1,
			Currency: "USD", CreatedAt: created}
		return events.NewRequested(inv, events.Idempotency{Caller: events.DefaultAccount, Endpoint: "POST /invoices", Key: key, RequestHash: "h"})
	}
	beforeBoth := invoice("before-both", now.Add(-2*time.Hour))
	between := invoice("between", now.Add(-30*time.Minute))
	afterBoth := events.NewProcessed(between.Invoice, now.Add(-5*time.Minute))
	atNewer := invoice("at-newer", newer.CreatedAt)
	for _, ev := range []events.Event{beforeBoth, between, afterBoth, atNewer} {
		statetest.Publish(t, js, ev)
	}
	want := map[string]bool{}
	for _, pair := range []struct {
		ev  events.Event
		sub webhook.Subscription
	}{{between, older}, {afterBoth, older}, {atNewer, older}, {afterBoth, newer}, {atNewer, newer}} {
		want[webhook.ManualTaskSubject(pair.sub.ID, webhook.DeliveryID(pair.ev.ID, pair.sub.ID))] = true
	}

	run := func(dryRun bool) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := replay.Run(ctx, js, replay.Options{Since: now.Add(-time.Hour), DryRun: dryRun}, &stdout, &stderr); err != nil {
			t.Fatalf("replay: %v\n%s", err, stderr.String())
		}
		return stdout.String()
	}
	if out := run(true); !strings.Contains(out, fmt.Sprintf("would queue (dry run) %d webhooks", len(want))) {
		t.Fatalf("dry run: %s", out)
	}
	if counts, _ := natstest.SubjectCounts(t, h.Webhooks, "webhooks.*.*.manual"); len(counts) != 0 {
		t.Fatalf("a dry run queued %v", counts)
	}
	if out := run(false); !strings.Contains(out, fmt.Sprintf("4 events since %s, queued %d webhooks", now.Add(-time.Hour).Format(time.RFC3339), len(want))) {
		t.Fatalf("replay: %s", out)
	}
	counts, _ := natstest.SubjectCounts(t, h.Webhooks, "webhooks.*.*.manual")
	got := slices.Sorted(maps.Keys(counts))
	if wantSubjects := slices.Sorted(maps.Keys(want)); !slices.Equal(got, wantSubjects) {
		t.Fatalf("queued %v\nwant %v", got, wantSubjects)
	}
}
