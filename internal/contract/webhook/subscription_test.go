package webhook

import (
	"slices"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

func TestRotateKeepsOldSecretForTheOverlap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Subscription{Status: StatusEnabled, Secrets: []Secret{{Value: "whsec_a", CreatedAt: t0}}}
	s.Rotate(Secret{Value: "whsec_b", CreatedAt: t0.Add(time.Hour)}, t0.Add(time.Hour), 24*time.Hour)
	tests := []struct {
		at   time.Time
		want []string
	}{
		{t0.Add(2 * time.Hour), []string{"whsec_b", "whsec_a"}},
		{t0.Add(25*time.Hour - time.Second), []string{"whsec_b", "whsec_a"}},
		{t0.Add(25 * time.Hour), []string{"whsec_b"}},
	}
	for _, tt := range tests {
		if got, err := s.ActiveSecrets(tt.at, nil); err != nil || !slices.Equal(got, tt.want) {
			t.Fatalf("at %s: %v %v, want %v", tt.at, got, err, tt.want)
		}
	}
	// A second rotation long after drops the expired secret and shortens
	// nothing it should not.
	s.Rotate(Secret{Value: "whsec_c", CreatedAt: t0.Add(48 * time.Hour)}, t0.Add(48*time.Hour), time.Hour)
	if len(s.Secrets) != 2 || s.Secrets[0].Value != "whsec_c" || s.Secrets[1].Value != "whsec_b" {
		t.Fatalf("secrets after second rotation: %+v", s.Secrets)
	}
}

func TestWantsAndEventTypes(t *testing.T) {
	s := Subscription{Status: StatusEnabled, EventTypes: []string{EventInvoiceProcessed}}
	if !s.Wants(events.DefaultAccount, EventInvoiceProcessed) || s.Wants(events.DefaultAccount, EventInvoiceCreated) {
		t.Fatal("filter by event type")
	}
	if s.Wants("acme", EventInvoiceProcessed) {
		t.Fatal("a subscription made before accounts hears of another account's invoices")
	}
	s.Account = "acme"
	if !s.Wants("acme", EventInvoiceProcessed) || s.Wants(events.DefaultAccount, EventInvoiceProcessed) {
		t.Fatal("filter by account")
	}
	s.Status = StatusDisabled
	if s.Wants("acme", EventInvoiceProcessed) {
		t.Fatal("a disabled subscription wants nothing")
	}
	for typ, want := range map[events.Type]string{
		events.InvoiceRequested: EventInvoiceCreated,
		events.InvoiceProcessed: EventInvoiceProcessed,
		events.InvoiceFailed:    EventInvoiceFailed,
		"Other":                 "",
	} {
		if got := EventTypeFor(typ); got != want {
			t.Fatalf("EventTypeFor(%s) = %q, want %q", typ, got, want)
		}
	}
}
