package webhook

import (
	"slices"
	"time"

	"github.com/invoiced/invoiced/events"
)

// Key-value buckets that hold webhook state.
const (
	// BucketSubscriptions holds one Subscription per key (its ID).
	BucketSubscriptions = "webhook_subscriptions"
)

// Webhook event types, as subscribers see them.
const (
	EventInvoiceCreated   = "invoice.created"
	EventInvoiceProcessed = "invoice.processed"
	EventInvoiceFailed    = "invoice.failed"
)

// EventTypes lists every webhook event type.
var EventTypes = []string{EventInvoiceCreated, EventInvoiceProcessed, EventInvoiceFailed}

// EventTypeFor returns the webhook event type announcing an invoice event,
// or "" for a type that is not announced.
func EventTypeFor(t events.Type) string {
	switch t {
	case events.InvoiceRequested:
		return EventInvoiceCreated
	case events.InvoiceProcessed:
		return EventInvoiceProcessed
	case events.InvoiceFailed:
		return EventInvoiceFailed
	}
	return ""
}

// Subscription statuses.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// Secret is one signing secret of a subscription; an old one keeps signing
// until ExpiresAt after a rotation.
type Secret struct {
	Value     string     `json:"value"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// Subscription is a webhook endpoint and what it wants, as stored in
// BucketSubscriptions.
type Subscription struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	EventTypes     []string   `json:"event_types"`
	Description    string     `json:"description"`
	Status         string     `json:"status"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
	Secrets        []Secret   `json:"secrets"` // newest first
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	FailingSince   *time.Time `json:"failing_since,omitempty"`
}

// Wants reports whether the subscription is enabled and asks for eventType.
func (s Subscription) Wants(eventType string) bool {
	return s.Status == StatusEnabled && slices.Contains(s.EventTypes, eventType)
}

// ActiveSecrets returns the secrets that sign a delivery at now, newest
// first: the current one and any older one still inside its overlap.
func (s Subscription) ActiveSecrets(now time.Time) []string {
	var out []string
	for _, sec := range s.Secrets {
		if sec.ExpiresAt == nil || now.Before(*sec.ExpiresAt) {
			out = append(out, sec.Value)
		}
	}
	return out
}

// Rotate makes secret the current one. The previous secrets keep signing
// until now+overlap (or their own earlier expiry); expired ones are dropped.
func (s *Subscription) Rotate(secret string, now time.Time, overlap time.Duration) {
	until := now.Add(overlap)
	kept := []Secret{{Value: secret, CreatedAt: now}}
	for _, old := range s.Secrets {
		if old.ExpiresAt == nil || old.ExpiresAt.After(until) {
			old.ExpiresAt = &until
		}
		if now.Before(*old.ExpiresAt) {
			kept = append(kept, old)
		}
	}
	s.Secrets = kept
	s.UpdatedAt = now
}
