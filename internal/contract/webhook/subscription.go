package webhook

import (
	"encoding/json"
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
// until ExpiresAt after a rotation. A stored secret is sealed (Sealed); a
// record written before secrets were sealed holds it in the clear (Value)
// until it is sealed at the next start of an api process or its next write.
type Secret struct {
	// Value is the whsec_ secret in the clear: set only for a secret not
	// sealed yet, never written beside Sealed.
	Value string `json:"value,omitempty"`
	// Sealed is the secret sealed under the secrets key, bound to the
	// subscription's ID (see Subscription.Sealed).
	Sealed    string     `json:"sealed,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// MarshalJSON writes a sealed secret without its clear value, whatever the
// caller holds in memory, so no write can store both.
func (s Secret) MarshalJSON() ([]byte, error) {
	type stored Secret // without this method
	if s.Sealed != "" {
		s.Value = ""
	}
	return json.Marshal(stored(s))
}

// Subscription is a webhook endpoint and what it wants, as stored in
// BucketSubscriptions.
type Subscription struct {
	ID string `json:"id"`
	// Account owns the subscription and the invoices it hears of; empty on
	// subscriptions made before accounts existed (see Owner).
	Account        string     `json:"account,omitempty"`
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

// Owner returns the account that owns the subscription: the one it names,
// or the default account for a subscription made before accounts existed.
func (s Subscription) Owner() string {
	if s.Account == "" {
		return events.DefaultAccount
	}
	return s.Account
}

// Wants reports whether the subscription is enabled and asks for eventType
// about an invoice of account: an account hears of its own invoices alone.
func (s Subscription) Wants(account, eventType string) bool {
	return s.Status == StatusEnabled && s.Owner() == account && slices.Contains(s.EventTypes, eventType)
}

// WantsAt reports whether the subscription wants an event of eventType
// about an invoice of account that happened at at: Wants, and it existed
// by then. No subscription hears of what happened before it was created.
func (s Subscription) WantsAt(account, eventType string, at time.Time) bool {
	return s.Wants(account, eventType) && !s.CreatedAt.After(at)
}

// ActiveSecrets returns the secrets that sign a delivery at now, newest
// first: the current one and any older one still inside its overlap,
// opened with keys. It fails when one of them does not open (its key is
// not among keys, or it does not authenticate); the error names the key,
// never a secret.
func (s Subscription) ActiveSecrets(now time.Time, keys SecretOpener) ([]string, error) {
	var out []string
	for _, sec := range s.Secrets {
		if sec.ExpiresAt != nil && !now.Before(*sec.ExpiresAt) {
			continue
		}
		v, err := s.open(sec, keys)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
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
