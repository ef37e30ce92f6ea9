package webhook

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
)

// Standard Webhooks asymmetric signatures: a "v1a," signature is the
// standard, padded base64 of the ed25519 signature of
// "<webhook-id>.<webhook-timestamp>.<body>", made with a private key the
// service alone holds. A receiver verifies it with the public key, written
// as the specification writes one: "whpk_" and the base64 of its 32 bytes.

// The prefixes of the keys of asymmetric signatures.
const (
	// PublicKeyPrefix starts a public key, which verifies v1a signatures.
	PublicKeyPrefix = "whpk_"
	// privateKeyPrefix starts the private signing key, which a receiver
	// neither needs nor should hold.
	privateKeyPrefix = "whsk_"
)

// verifyKey is one key a Verifier checks signatures against: an HMAC
// secret for v1 signatures, or an ed25519 public key for v1a ones.
type verifyKey struct {
	secret []byte            // v1: the HMAC key of a whsec_ secret
	public ed25519.PublicKey // v1a: set instead of secret
}

// parseKey returns the key a Verifier checks against: a whpk_ public key,
// or else a whsec_ secret (whose prefix may be left off). It fails with
// ErrInvalidSecret for a malformed key and for a whsk_ private key.
func parseKey(s string) (verifyKey, error) {
	switch {
	case strings.HasPrefix(s, PublicKeyPrefix):
		pub, err := parsePublicKey(s)
		return verifyKey{public: pub}, err
	case strings.HasPrefix(s, privateKeyPrefix):
		return verifyKey{}, fmt.Errorf("%w: a %s key is the private signing key; verify with its %s public key",
			ErrInvalidSecret, privateKeyPrefix, PublicKeyPrefix)
	}
	secret, err := signingKey(s)
	return verifyKey{secret: secret}, err
}

// parsePublicKey returns the ed25519 public key of "whpk_" and the standard,
// padded base64 of 32 bytes, spelled the one way base64 spells them (no
// line breaks, no stray padding bits). It fails with ErrInvalidSecret
// otherwise.
func parsePublicKey(s string) (ed25519.PublicKey, error) {
	raw, ok := strings.CutPrefix(s, PublicKeyPrefix)
	if !ok || len(raw) != base64.StdEncoding.EncodedLen(ed25519.PublicKeySize) {
		return nil, fmt.Errorf("%w: a public key is %s and the base64 of %d bytes", ErrInvalidSecret, PublicKeyPrefix, ed25519.PublicKeySize)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) != ed25519.PublicKeySize || base64.StdEncoding.EncodeToString(key) != raw {
		return nil, fmt.Errorf("%w: what follows %s must be standard base64 with its padding", ErrInvalidSecret, PublicKeyPrefix)
	}
	return ed25519.PublicKey(key), nil
}

// verifyV1a reports whether sig, what follows "v1a," in webhook-signature,
// is the base64 of an ed25519 signature of msg under pub.
func verifyV1a(pub ed25519.PublicKey, msg []byte, sig string) bool {
	if len(sig) != base64.StdEncoding.EncodedLen(ed25519.SignatureSize) {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	return err == nil && ed25519.Verify(pub, msg, raw)
}

// signedContent returns what a signature covers:
// "<webhook-id>.<webhook-timestamp>.<body>", the timestamp as it came.
func signedContent(id, ts string, body []byte) []byte {
	msg := make([]byte, 0, len(id)+len(ts)+2+len(body))
	msg = append(msg, id...)
	msg = append(msg, '.')
	msg = append(msg, ts...)
	msg = append(msg, '.')
	return append(msg, body...)
}
