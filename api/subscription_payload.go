package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/netguard"
)

// Subscription limits.
const (
	MaxURLLen                     = 2048
	MaxSubscriptionDescriptionLen = 500
)

// subscriptionBody is the payload of POST and PATCH /webhooks/subscriptions;
// a nil field is left as it is (or defaulted, on create).
type subscriptionBody struct {
	URL         *string   `json:"url"`
	EventTypes  *[]string `json:"event_types"`
	Description *string   `json:"description"`
	Status      *string   `json:"status"`
	Account     *string   `json:"account"`
	// Secret is the signing secret of a new subscription, when the
	// client brings its own; never taken by PATCH.
	Secret *string `json:"secret"`
	// Signing is how a new subscription's webhooks are signed:
	// webhook.SigningHMAC (the default) or webhook.SigningEd25519; never
	// taken by PATCH.
	Signing *string `json:"signing"`
	// Ordering is how the subscription's deliveries are ordered:
	// webhook.OrderingNone (the default) or webhook.OrderingPerInvoice.
	// PATCH may change it.
	Ordering *string `json:"ordering"`
}

// urlRules are what a subscription URL must satisfy beyond its syntax.
type urlRules struct {
	targets      netguard.Policy
	requireHTTPS bool
}

// validate checks every given field; a create needs url and cannot set
// status.
func (b subscriptionBody) validate(create bool, rules urlRules) error {
	v := &ValidationError{}
	switch {
	case b.URL != nil:
		checkURL(v, *b.URL, rules)
	case create:
		v.add("url", "is required")
	}
	if b.EventTypes != nil {
		checkEventTypes(v, *b.EventTypes)
	}
	if b.Description != nil {
		checkText(v, "description", *b.Description, 0, MaxSubscriptionDescriptionLen)
	}
	switch {
	case b.Status == nil:
	case create:
		v.add("status", "a new subscription is enabled; change it with PATCH")
	case *b.Status != webhook.StatusEnabled && *b.Status != webhook.StatusDisabled:
		v.add("status", "must be %s or %s, not %q", webhook.StatusEnabled, webhook.StatusDisabled, *b.Status)
	}
	if b.Account != nil && !events.ValidAccount(*b.Account) {
		v.add("account", "must be 1 to 63 lower-case letters, digits, _ and -")
	}
	switch {
	case b.Signing == nil:
	case !create:
		v.add("signing", "can be given only when a subscription is created")
	case *b.Signing != webhook.SigningHMAC && *b.Signing != webhook.SigningEd25519:
		v.add("signing", "must be %s or %s, not %q", webhook.SigningHMAC, webhook.SigningEd25519, *b.Signing)
	case *b.Signing == webhook.SigningEd25519 && b.Secret != nil:
		v.add("secret", "cannot be given for %s signing: the service makes the key, and shows its public key", webhook.SigningEd25519)
	}
	if b.Ordering != nil && *b.Ordering != webhook.OrderingNone && *b.Ordering != webhook.OrderingPerInvoice {
		v.add("ordering", "must be %s or %s, not %q", webhook.OrderingNone, webhook.OrderingPerInvoice, *b.Ordering)
	}
	switch {
	case b.Secret == nil:
	case !create:
		v.add("secret", "can be given only when a subscription is created; POST /webhooks/subscriptions/{id}/rotate-secret makes a new one")
	case errors.Is(webhook.CheckSecret(*b.Secret), webhook.ErrBadSecret):
		// The value is never repeated: it is a secret.
		v.add("secret", "must be %s and the standard base64, padded, of %d to %d random bytes",
			webhook.SecretPrefix, webhook.MinSecretBytes, webhook.MaxSecretBytes)
	}
	return v.orNil()
}

// signing returns how a new subscription b describes is signed.
func (b subscriptionBody) signing() string {
	if b.Signing == nil || *b.Signing == webhook.SigningHMAC {
		return ""
	}
	return *b.Signing
}

// signingSecret returns the secret a new subscription b describes signs
// with: the one given, once validate has passed it, or a new one of its
// signing when none is. It fails with ErrWeakSecret when the given one is
// well formed but too short.
func (b subscriptionBody) signingSecret() (string, error) {
	given := b.Secret
	if given == nil {
		return webhook.NewSigningSecret(b.signing())
	}
	err := webhook.CheckSecret(*given)
	switch {
	case errors.Is(err, webhook.ErrWeakSecret):
		return "", fmt.Errorf("%w: secret: %w", ErrWeakSecret, err)
	case err != nil:
		return "", invalidField("secret", "is not a signing secret: %v", err)
	}
	return *given, nil
}

// allowedFor returns nil when c may make what b asks: only an operator
// may put a subscription in an account other than its own.
func (b subscriptionBody) allowedFor(c Caller) error {
	if b.Account != nil && *b.Account != c.Account && !c.Operator {
		return invalidField("account", "only an operator key may place a subscription in another account")
	}
	return nil
}

// checkURL adds a problem unless raw is an absolute http(s) URL that the
// rules allow. A literal forbidden address is refused here; a hostname is
// checked again on every delivery, on the address it resolves to.
func checkURL(v *ValidationError, raw string, rules urlRules) {
	if len(raw) > MaxURLLen {
		v.add("url", "must be at most %d characters, not %d", MaxURLLen, len(raw))
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "":
		v.add("url", "must be an absolute http or https URL, not %q", raw)
	case rules.requireHTTPS && u.Scheme != "https":
		v.add("url", "must use https on this service")
	case u.User != nil:
		v.add("url", "must not carry a user name or password")
	case !validPort(u.Port()):
		v.add("url", "must have a port from 1 to 65535, not %q", u.Port())
	default:
		if err := rules.targets.CheckURL(raw); err != nil {
			v.add("url", "is not allowed as a webhook target: %v", err)
		}
	}
}

// validPort reports whether port, the port of a parsed URL ("" or
// digits), is absent, meaning the scheme's, or from 1 to 65535.
func validPort(port string) bool {
	if port == "" {
		return true
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && n > 0
}

func checkEventTypes(v *ValidationError, types []string) {
	if len(types) == 0 {
		v.add("event_types", "must name at least one event type; leave it out for all")
	}
	for i, t := range types {
		switch {
		case !slices.Contains(webhook.AllEventTypes, t):
			v.add("event_types", "unknown event type %q (known: %v)", t, webhook.AllEventTypes)
		case slices.Contains(types[:i], t):
			v.add("event_types", "%q is listed twice", t)
		}
	}
}

// apply copies the given fields onto s; a new subscription without
// event_types gets every type.
func (b subscriptionBody) apply(s *webhook.Subscription) {
	if b.URL != nil {
		s.URL = *b.URL
	}
	switch {
	case b.EventTypes != nil:
		s.EventTypes = slices.Clone(*b.EventTypes)
	case s.EventTypes == nil:
		s.EventTypes = slices.Clone(webhook.EventTypes)
	}
	if b.Description != nil {
		s.Description = *b.Description
	}
	if b.Account != nil {
		s.Account = *b.Account
	}
	if b.Ordering != nil {
		// None is stored empty, as on a record from before ordering
		// existed, so the two read alike.
		s.Ordering = ""
		if *b.Ordering == webhook.OrderingPerInvoice {
			s.Ordering = webhook.OrderingPerInvoice
		}
	}
	if b.Status != nil && *b.Status != s.Status {
		s.Status = *b.Status
		s.DisabledReason, s.FailingSince = "", nil
		if s.Status == webhook.StatusDisabled {
			s.DisabledReason = "disabled by request"
		}
	}
}

// subscriptionResponse is a subscription as the API shows it: the secret
// only when it was just made or given.
type subscriptionResponse struct {
	ID             string             `json:"id"`
	Account        string             `json:"account"`
	URL            string             `json:"url"`
	EventTypes     []string           `json:"event_types"`
	Description    string             `json:"description"`
	Status         string             `json:"status"`
	DisabledReason string             `json:"disabled_reason,omitempty"`
	Health         subscriptionHealth `json:"health"`
	Signing        string             `json:"signing"`
	Ordering       string             `json:"ordering"`
	Secret         string             `json:"secret,omitempty"`
	PublicKeys     []publicKey        `json:"public_keys,omitempty"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
}

// subscriptionHealth is the failure streak the dispatcher keeps on a
// subscription: failing from the first failed attempt after a successful
// one (or after it was enabled) until the next successful attempt.
type subscriptionHealth struct {
	Failing      bool          `json:"failing"`
	FailingSince *time.Time    `json:"failing_since,omitempty"`
	Recent       *recentHealth `json:"recent,omitempty"`
}

// RecentOutcomes counts, of a subscription's newest n deliveries that are
// no longer pending, those delivered; *readmodel.Store is one.
type RecentOutcomes interface {
	RecentOutcomes(ctx context.Context, subscription string, n int) (delivered, counted int, err error)
}

// recentDeliveries is how many of its newest deliveries a subscription's
// success rate is taken over: enough to mean something, few enough to
// read on every GET.
const recentDeliveries = 100

// recentHealth is how a subscription's newest deliveries that are no
// longer pending went: of Deliveries, Delivered got a 2xx; SuccessRate is
// their ratio, absent while there are none.
type recentHealth struct {
	Deliveries  int      `json:"deliveries"`
	Delivered   int      `json:"delivered"`
	SuccessRate *float64 `json:"success_rate,omitempty"`
}

func newRecentHealth(delivered, counted int) *recentHealth {
	h := &recentHealth{Deliveries: counted, Delivered: delivered}
	if counted > 0 {
		rate := float64(delivered) / float64(counted)
		h.SuccessRate = &rate
	}
	return h
}

// newSubscriptionResponse shows s, with secret when it is not "".
func newSubscriptionResponse(s webhook.Subscription, secret string, now time.Time) subscriptionResponse {
	out := subscriptionResponse{
		ID: s.ID, Account: s.Owner(), URL: s.URL, EventTypes: s.EventTypes, Description: s.Description,
		Status: s.Status, DisabledReason: s.DisabledReason, Signing: webhook.SigningHMAC, Ordering: orderingOf(s), Secret: secret,
		Health:    subscriptionHealth{Failing: s.FailingSince != nil, FailingSince: s.FailingSince},
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
	if s.Signing == webhook.SigningEd25519 {
		// The private key stays in the service; receivers need the public.
		out.Signing, out.Secret, out.PublicKeys = webhook.SigningEd25519, "", publicKeys(s, now)
	}
	return out
}

// orderingOf returns how s's deliveries are ordered, as the API shows it:
// webhook.OrderingNone for a subscription that stores no ordering.
func orderingOf(s webhook.Subscription) string {
	if s.OrderedPerInvoice() {
		return webhook.OrderingPerInvoice
	}
	return webhook.OrderingNone
}

// publicKey is the public key of one of a subscription's ed25519 signing
// keys: as Standard Webhooks writes it (whpk_), and as a JSON Web Key
// (RFC 8037), so that a JWKS reader takes it too.
type publicKey struct {
	Key       string     `json:"key"`
	KeyID     string     `json:"kid"`
	KeyType   string     `json:"kty"`
	Curve     string     `json:"crv"`
	X         string     `json:"x"`
	Use       string     `json:"use"`
	Algorithm string     `json:"alg"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// publicKeys returns the public keys of the subscription's signing keys
// that sign at now, newest first.
func publicKeys(s webhook.Subscription, now time.Time) []publicKey {
	out := []publicKey{}
	for _, k := range s.PublicKeys(now) {
		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(k.PublicKey, webhook.PublicKeyPrefix))
		sum := sha256.Sum256(raw)
		out = append(out, publicKey{Key: k.PublicKey, KeyID: base64.RawURLEncoding.EncodeToString(sum[:12]), KeyType: "OKP", Curve: "Ed25519",
			X: base64.RawURLEncoding.EncodeToString(raw), Use: "sig", Algorithm: "EdDSA", CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt})
	}
	return out
}
