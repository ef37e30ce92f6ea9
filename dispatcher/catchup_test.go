package dispatcher

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// TestASubscriptionTheWatchBringsLateGetsItsEvents stores a subscription
// made before an invoice's events only after they were fanned out, as when
// the watch lags behind a subscription made a moment before: the new
// subscription still gets each event once, and the other one no second
// time.
func TestASubscriptionTheWatchBringsLateGetsItsEvents(t *testing.T) {
	f := newFixture(t)
	early := newReceiver(t, nil)
	f.subscribe(t, early.URL)
	f.start(t, Config{})
	made := time.Now().UTC()
	evs := f.invoiceEvents(t)
	natstest.Eventually(t, 10*time.Second, "the events fanned out to the subscription there", func() bool {
		return len(early.requests()) == len(evs)
	})

	late := newReceiver(t, nil)
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	f.putSubscription(t, webhook.Subscription{ID: uuid.NewString(), URL: late.URL, EventTypes: webhook.EventTypes,
		Status: webhook.StatusEnabled, Secrets: []webhook.Secret{{Value: secret, CreatedAt: made}}, CreatedAt: made, UpdatedAt: made})
	natstest.Eventually(t, 10*time.Second, "the late subscription gets the events", func() bool {
		return len(late.requests()) >= len(evs)
	})
	got := map[string]int{}
	for _, r := range late.requests() {
		got[r.header.Get(webhook.HeaderID)]++
	}
	for _, ev := range evs {
		if got[ev.ID] != 1 {
			t.Fatalf("event %s reached the late subscription %d times: %v", ev.ID, got[ev.ID], got)
		}
	}
	if n := len(early.requests()); n != len(evs) {
		t.Fatalf("the early subscription got %d webhooks, want %d", n, len(evs))
	}
}
