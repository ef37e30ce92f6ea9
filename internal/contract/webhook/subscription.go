package webhook

import (
	"encoding/json"
	"slices"
	"strings"
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
	Sealed string `json:"sealed,omitempty"`
	// PublicKey is the whpk_ public key of a whsk_ signing key, kept in the
	// clear: receivers verify with it.
	PublicKey string     `json:"public_key,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// NewStoredSecret returns secret, a whsec_ secret or a whsk_ signing key,
// as a subscription stores it from now, with its public key for a signing
// key. It fails with ErrBadKey for a malformed signing key.
func NewStoredSecret(secret string, now time.Time) (Secret, error) {
	sec := Secret{Value: secret, CreatedAt: now}
	if strings.HasPrefix(secret, SigningKeyPrefix) {
		var err error
		if sec.PublicKey, err = PublicKeyOf(secret); err != nil {
			return Secret{}, err
		}
	}
	return sec, nil
}

// How a subscription's webhooks are signed: with a shared whsec_ secret
// (v1, HMAC-SHA256, the default) or with a whsk_ ed25519 key whose public
// key receivers verify with (v1a).
const (
	SigningHMAC    = "hmac"
	SigningEd25519 = "ed25519"
)

// NewSigningSecret returns a new secret for a subscription signed as
// signing says: a whsk_ key for SigningEd25519, else a whsec_ secret. It
// fails only when the system's randomness does.
func NewSigningSecret(signing string) (string, error) {
	if signing == SigningEd25519 {
		return NewSigningKey()
	}
	return NewSecret()
}

// How a subscription's deliveries are ordered: as they come (the
// default), or per invoice, where an invoice's invoice.created is delivered
// or dead before its outcome is attempted.
const (
	OrderingNone       = "none"
	OrderingPerInvoice = "per_invoice"
)

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
	Account        string   `json:"account,omitempty"`
	URL            string   `json:"url"`
	EventTypes     []string `json:"event_types"`
	Description    string   `json:"description"`
	Status         string   `json:"status"`
	DisabledReason string   `json:"disabled_reason,omitempty"`
	// Signing is SigningEd25519 for a subscription signed with ed25519
	// keys; empty (or SigningHMAC) for one signed with whsec_ secrets.
	Signing string `json:"signing,omitempty"`
	// Ordering is OrderingPerInvoice for a subscription that gets each
	// invoice's events in the order they happened; empty (or OrderingNone)
	// for one that takes them as they come.
	Ordering     string     `json:"ordering,omitempty"`
	Secrets      []Secret   `json:"secrets"` // newest first
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
}

// OrderedPerInvoice reports whether the subscription gets each invoice's
// events in the order they happened.
func (s Subscription) OrderedPerInvoice() bool { return s.Ordering == OrderingPerInvoice }

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

// Rotate makes secret, as NewStoredSecret stores it, the current one. The
// previous secrets keep signing until now+overlap (or their own earlier
// expiry); expired ones are dropped.
func (s *Subscription) Rotate(secret Secret, now time.Time, overlap time.Duration) {
	until := now.Add(overlap)
	kept := []Secret{secret}
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

// PublicKeys returns the public keys of the signing keys that sign at now,
// newest first, each with the time it stops signing, if any; none for a
// subscription signed with whsec_ secrets.
func (s Subscription) PublicKeys(now time.Time) []Secret {
	var out []Secret
	for _, sec := range s.Secrets {
		if sec.PublicKey != "" && (sec.ExpiresAt == nil || now.Before(*sec.ExpiresAt)) {
			out = append(out, Secret{PublicKey: sec.PublicKey, CreatedAt: sec.CreatedAt, ExpiresAt: sec.ExpiresAt})
		}
	}
	return out
}
