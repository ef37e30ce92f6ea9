// Package webhook holds what the API and the dispatcher share about
// webhooks: Standard Webhooks signing (v1 HMAC, v1a ed25519) and secrets.
package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret, as Standard Webhooks and Svix
// spell them.
const SecretPrefix = "whsec_"

// secretBytes is the size of a new secret's key.
const secretBytes = 32

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// ErrBadSecret is returned, wrapped, for a secret that is not whsec_ followed
// by base64.
var ErrBadSecret = errors.New("not a whsec_ secret")

// NewSecret returns a new random signing secret, "whsec_" and the base64 of
// 32 random bytes. It fails only when the system's randomness does.
func NewSecret() (string, error) {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("new secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// key returns the HMAC key of a secret: the base64-decoded part after the
// prefix.
func key(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: missing prefix", ErrBadSecret)
	}
	k, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(k) == 0 {
		return nil, fmt.Errorf("%w: %v", ErrBadSecret, err)
	}
	return k, nil
}

// Sign returns the signature of body sent as message id at time ts under
// secret, over "id.timestamp.body": for a whsec_ secret, "v1," and the
// base64 HMAC-SHA256; for a whsk_ signing key, "v1a," and the base64
// ed25519 signature. It fails with ErrBadKey for a malformed whsk_ key or a
// whpk_ public key, and with ErrBadSecret for anything else malformed.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	if isAsymmetric(secret) {
		return signEd25519(secret, id, ts, body)
	}
	k, err := key(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// SetHeaders sets the Standard Webhooks headers of a delivery of body as
// message id at time ts, with one signature per secret, in their order, as
// Sign makes it (several during a rotation's overlap, which may mix whsec_
// secrets and whsk_ signing keys, space-separated as the specification
// allows). It fails as Sign does when a secret is malformed, and with
// ErrBadSecret when there is none.
func SetHeaders(h http.Header, id string, ts time.Time, body []byte, secrets ...string) error {
	if len(secrets) == 0 {
		return fmt.Errorf("%w: no secret", ErrBadSecret)
	}
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, id, ts, body)
		if err != nil {
			return err
		}
		sigs = append(sigs, sig)
	}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	return nil
}

// ErrVerify is returned, wrapped, when a delivery does not verify.
var ErrVerify = errors.New("webhook does not verify")

// Verify checks a received delivery's Standard Webhooks headers against
// secret, as a receiver would: a v1 signature must match a whsec_ secret, or
// a v1a signature verify under a whpk_ public key (or a whsk_ signing key's
// public half), and the timestamp must be within tolerance of now. It fails
// with ErrVerify otherwise, and as Sign does for a malformed secret.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: missing headers", ErrVerify)
	}
	secs, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp %q", ErrVerify, tsText)
	}
	ts := time.Unix(secs, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %s outside tolerance", ErrVerify, ts.UTC().Format(time.RFC3339))
	}
	if isAsymmetric(secret) {
		return verifyEd25519(secret, id, ts, body, sigs)
	}
	want, err := Sign(secret, id, ts, body)
	if err != nil {
		return err
	}
	for _, got := range strings.Fields(sigs) {
		if hmac.Equal([]byte(got), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("%w: no matching signature", ErrVerify)
}
