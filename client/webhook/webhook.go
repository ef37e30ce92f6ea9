// Package webhook verifies the webhooks invoiced sends and decodes their
// events.
//
// Every delivery is a POST of a JSON [client.Event] signed as Standard
// Webhooks describes: the webhook-id, webhook-timestamp and
// webhook-signature headers, the signature being "v1," and the base64
// HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>" under the
// subscription's whsec_ secret, or, for a subscription signed
// asymmetrically, "v1a," and the base64 ed25519 signature of the same,
// which the receiver verifies with a whpk_ public key. While a rotated
// secret or key overlaps the new one, webhook-signature carries one
// signature per secret or key, space-separated.
//
// A receiver verifies the body exactly as it arrived, before it parses it:
//
//	v, err := webhook.NewVerifier(webhook.DefaultTolerance, os.Getenv("WEBHOOK_SECRET"))
//	if err != nil { … }
//	http.Handle("POST /webhook", webhook.Handler(v, func(ctx context.Context, ev webhook.Event) error {
//		// ev.ID is the same on every retry of the event: handle it once.
//		return store.Apply(ctx, ev.ID, ev.Data)
//	}))
//
// The package uses the standard library alone, besides the types of
// package client.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/invoiced/invoiced/client"
)

// DefaultTolerance is how far from now a delivery's webhook-timestamp may
// be when no other tolerance is given: a delivery captured and replayed
// later than that is refused.
const DefaultTolerance = 5 * time.Minute

// The headers of a delivery.
const (
	HeaderID         = "webhook-id"
	HeaderTimestamp  = "webhook-timestamp"
	HeaderSignature  = "webhook-signature"
	HeaderEventType  = "X-Event-Type"
	HeaderDeliveryID = "X-Delivery-ID"
	HeaderAttempt    = "X-Attempt"
)

// The ways verification fails; Verify's errors match one of them with
// errors.Is.
var (
	// ErrInvalidSecret: a key is neither a "whsec_" secret nor a
	// "whpk_" public key, each followed by base64.
	ErrInvalidSecret = errors.New("webhook: the key is not a whsec_ secret or a whpk_ public key")
	// ErrMissingHeader: webhook-id, webhook-timestamp or
	// webhook-signature is absent.
	ErrMissingHeader = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	// ErrTimestamp: webhook-timestamp is not a number of seconds, or too
	// far from now.
	ErrTimestamp = errors.New("webhook: webhook-timestamp is malformed or too far from now")
	// ErrSignature: no signature in webhook-signature is one of the
	// secrets' or keys'.
	ErrSignature = errors.New("webhook: no signature matches the secret")
	// ErrPayload: the body is signed but is not an event.
	ErrPayload = errors.New("webhook: the body is not an event")
)

// Event is a verified delivery: the event, and the headers that identify
// it.
type Event struct {
	client.Event
	// ID is the event's webhook-id, the same on every attempt and for
	// every subscription: handle each ID once, as a delivery may arrive
	// more than once.
	ID string
	// DeliveryID is X-Delivery-ID, the delivery as GetDelivery knows it;
	// empty if absent.
	DeliveryID string
	// Attempt is X-Attempt, the attempt's number from 1; 0 if absent.
	Attempt int
	// Body is the verified body: for an operational event (its Type's
	// IsOperational), whose data is no invoice, client.OperationalData
	// decodes it.
	Body []byte
}

// Verifier checks deliveries against one or more secrets or public keys.
// It is safe for concurrent use.
type Verifier struct {
	keys      []verifyKey
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier returns a Verifier that accepts a delivery timestamped within
// tolerance of now (DefaultTolerance when tolerance is not positive) and
// signed under any of secrets: a "v1" signature under a whsec_ secret, a
// "v1a" one under a whpk_ public key (give the old and the new while a
// rotation overlaps; they may be of both kinds). It fails with
// ErrInvalidSecret when there is none, or one is malformed or is a whsk_
// private key, which a receiver does not need.
func NewVerifier(tolerance time.Duration, secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret or key given", ErrInvalidSecret)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	v := &Verifier{tolerance: tolerance, now: time.Now}
	for _, s := range secrets {
		key, err := parseKey(s)
		if err != nil {
			return nil, err
		}
		v.keys = append(v.keys, key)
	}
	return v, nil
}

// Verify checks one delivery's headers and body against a single whsec_
// secret or whpk_ public key and tolerance (DefaultTolerance when not
// positive), as [Verifier.Verify] does, and returns its event. It fails as
// [NewVerifier] and [Verifier.Verify] do.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration) (Event, error) {
	v, err := NewVerifier(tolerance, secret)
	if err != nil {
		return Event{}, err
	}
	return v.Verify(header, body)
}

// Verify checks a delivery: its headers must all be there, its timestamp
// within the tolerance of now, and one of its signatures that of the exact
// body under one of the secrets or keys. It returns the decoded event, and fails
// with an error matching ErrMissingHeader, ErrTimestamp, ErrSignature or
// (for a signed body that is not an event) ErrPayload.
func (v *Verifier) Verify(header http.Header, body []byte) (Event, error) {
	id, ts, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return Event{}, ErrMissingHeader
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %q is not a number", ErrTimestamp, ts)
	}
	now, tol := v.now().Unix(), int64(v.tolerance/time.Second) // in whole seconds: no overflow
	if secs < now-tol || secs > now+tol {
		return Event{}, fmt.Errorf("%w: %d is more than %s from now", ErrTimestamp, secs, v.tolerance)
	}
	if !v.signed(id, ts, sigs, body) {
		return Event{}, ErrSignature
	}
	ev := Event{ID: id, DeliveryID: header.Get(HeaderDeliveryID), Body: body}
	ev.Attempt, _ = strconv.Atoi(header.Get(HeaderAttempt))
	if err := json.Unmarshal(body, &ev.Event); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrPayload, err)
	}
	if ev.Type == "" {
		return Event{}, fmt.Errorf("%w: no type", ErrPayload)
	}
	return ev, nil
}

// maxSignatures is how many values of webhook-signature a Verifier reads;
// the service sends one a secret or key, two or three during rotations.
const maxSignatures = 8

// signed reports whether one of the first maxSignatures space-separated
// values of sigs is the signature of id, ts and body under one of the
// keys: "v1,<signature>" under a secret, "v1a,<signature>" under a public
// key. Values of other versions, and of a version another kind of key
// makes, are passed over.
func (v *Verifier) signed(id, ts, sigs string, body []byte) bool {
	values := strings.Fields(sigs)
	if len(values) > maxSignatures {
		// A forged header of thousands of values would cost a check of
		// each under each key; the service sends a few.
		values = values[:maxSignatures]
	}
	var msg []byte // what v1a signs, made once if a public key needs it
	for _, key := range v.keys {
		if key.public != nil {
			if msg == nil {
				msg = signedContent(id, ts, body)
			}
			for _, s := range values {
				if got, ok := strings.CutPrefix(s, "v1a,"); ok && verifyV1a(key.public, msg, got) {
					return true
				}
			}
			continue
		}
		want := []byte(signature(key.secret, id, ts, body))
		for _, s := range values {
			if got, ok := strings.CutPrefix(s, "v1,"); ok && hmac.Equal([]byte(got), want) {
				return true
			}
		}
	}
	return false
}

// Sign returns the webhook-signature value ("v1," and the signature) the
// service would send for id, timestamp and body under a whsec_ secret: for
// testing a receiver. It fails with ErrInvalidSecret for a malformed secret;
// it makes no v1a signature, which needs the private key only the service
// holds.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := signingKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + signature(key, id, strconv.FormatInt(timestamp.Unix(), 10), body), nil
}

// signature returns the base64 HMAC-SHA256 of "<id>.<ts>.<body>" under key.
func signature(key []byte, id, ts string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signingKey returns the HMAC key of a Standard Webhooks secret: the
// base64 after "whsec_" (the prefix may be left off).
func signingKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}
