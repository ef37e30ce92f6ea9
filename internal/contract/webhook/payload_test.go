package webhook

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

func TestOnlyATestEventSaysSo(t *testing.T) {
	inv := events.Invoice{ID: "inv", Account: "acme", CustomerID: "c", AmountCents: 1, Currency: "USD", CreatedAt: time.Unix(0, 0).UTC()}
	ev := events.NewRequested(inv, events.Idempotency{Caller: "acme", Endpoint: "POST /invoices", Key: "k", RequestHash: "h"})
	actual, err := NewTask(ev, EventInvoiceCreated, "sub")
	if err != nil {
		t.Fatal(err)
	}
	test, err := NewTestTask(ev, EventInvoiceCreated, "sub")
	if err != nil {
		t.Fatal(err)
	}
	var realBody, testBody map[string]json.RawMessage
	if err := json.Unmarshal(actual.Body, &realBody); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(test.Body, &testBody); err != nil {
		t.Fatal(err)
	}
	if _, ok := realBody["test"]; ok {
		t.Fatalf("a real event's body carries test: %s", actual.Body)
	}
	if string(testBody["test"]) != "true" {
		t.Fatalf("a test event's body: %s", test.Body)
	}
	delete(testBody, "test")
	for k, v := range realBody {
		if !bytes.Equal(testBody[k], v) {
			t.Fatalf("%s differs: %s / %s", k, v, testBody[k])
		}
	}
	if len(testBody) != len(realBody) || test.DeliveryID != actual.DeliveryID || test.EventID != actual.EventID {
		t.Fatalf("the test task differs beyond its flag: %+v / %+v", test, actual)
	}
}

func TestNoSubscriptionHearsOfWhatCameBeforeIt(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := Subscription{Status: StatusEnabled, EventTypes: EventTypes, CreatedAt: created}
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{created.Add(-time.Nanosecond), false},
		{created.Add(-24 * time.Hour), false},
		{created, true},
		{created.Add(time.Second), true},
	} {
		if got := s.WantsAt(events.DefaultAccount, EventInvoiceFailed, tt.at); got != tt.want {
			t.Errorf("WantsAt(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
	if s.WantsAt("other", EventInvoiceFailed, created.Add(time.Second)) {
		t.Error("a subscription hears of another account's invoice")
	}
	s.Status = StatusDisabled
	if s.WantsAt(events.DefaultAccount, EventInvoiceFailed, created.Add(time.Second)) {
		t.Error("a disabled subscription wants an event")
	}
}
