package webhook

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks asymmetric signatures ("v1a"): ed25519 over the same
// "<msg_id>.<timestamp>.<body>" as v1, the signature sent as "v1a," and its
// standard, padded base64. The specification's table of signature schemes
// (spec/standard-webhooks.md, "Signature scheme") names the prefixes:
// whsk_ for the secret key, whpk_ for the public key, each followed by
// base64.
//
// The specification leaves open which bytes of the secret key are encoded.
// A signing key written here is the base64 of the 64-byte ed25519 private
// key (seed, then public key), as Svix's server, from which the
// specification comes, writes one and signs the v1a example in the
// specification's headers with (and as the JavaScript library's v1a change
// does). Some libraries' drafts (Go, Python) write the 32-byte seed
// instead; a signing key of that form is read too. A public key is the
// base64 of the 32-byte ed25519 public key, as every implementation has it.

// The prefixes of the asymmetric keys.
const (
	// SigningKeyPrefix starts a private ed25519 signing key, which signs
	// v1a and stays with the sender.
	SigningKeyPrefix = "whsk_"
	// PublicKeyPrefix starts the public key of a signing key, which a
	// receiver verifies v1a with.
	PublicKeyPrefix = "whpk_"
)

// ErrBadKey is returned, wrapped, for a key that starts with whsk_ or whpk_
// but is not such a key, and for a public key given where signing needs the
// private one.
var ErrBadKey = errors.New("not a whsk_ signing key or whpk_ public key")

// NewSigningKey returns a new random ed25519 signing key: "whsk_" and the
// base64 of its 64-byte private key. It fails only when the system's
// randomness does.
func NewSigningKey() (secretKey string, err error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("new signing key: %w", err)
	}
	return SigningKeyPrefix + base64.StdEncoding.EncodeToString(priv), nil
}

// PublicKeyOf returns the public key of a signing key, "whpk_" and the
// base64 of its 32 bytes, for a receiver to verify with. It fails with
// ErrBadKey when secretKey is not a whsk_ signing key (a whsec_ secret has
// no public key).
func PublicKeyOf(secretKey string) (string, error) {
	priv, err := signingKey(secretKey)
	if err != nil {
		return "", err
	}
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)), nil
}

// isAsymmetric reports whether key is written as an ed25519 key, private
// or public, rather than a whsec_ secret.
func isAsymmetric(key string) bool {
	return strings.HasPrefix(key, SigningKeyPrefix) || strings.HasPrefix(key, PublicKeyPrefix)
}

// decodeKey returns the bytes written after prefix in key: standard, padded
// base64 spelled the one way EncodeToString spells them (no line breaks,
// no stray padding bits).
func decodeKey(key, prefix string) ([]byte, error) {
	raw, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return nil, fmt.Errorf("%w: it must start with %s", ErrBadKey, prefix)
	}
	if len(raw) > base64.StdEncoding.EncodedLen(ed25519.PrivateKeySize) {
		return nil, fmt.Errorf("%w: too long for an ed25519 key", ErrBadKey)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || base64.StdEncoding.EncodeToString(b) != raw {
		return nil, fmt.Errorf("%w: what follows %s must be standard base64 with its padding", ErrBadKey, prefix)
	}
	return b, nil
}

// signingKey returns the ed25519 private key of a whsk_ signing key: the
// 64-byte private key, whose public half must be the one its seed makes,
// or the 32-byte seed alone.
func signingKey(key string) (ed25519.PrivateKey, error) {
	if strings.HasPrefix(key, PublicKeyPrefix) {
		return nil, fmt.Errorf("%w: a %s public key verifies but cannot sign", ErrBadKey, PublicKeyPrefix)
	}
	b, err := decodeKey(key, SigningKeyPrefix)
	if err != nil {
		return nil, err
	}
	switch len(b) {
	case ed25519.PrivateKeySize:
		priv := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if !bytes.Equal(priv, b) {
			return nil, fmt.Errorf("%w: its public half is not its seed's", ErrBadKey)
		}
		return priv, nil
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	}
	return nil, fmt.Errorf("%w: a signing key holds %d or %d bytes, not %d", ErrBadKey, ed25519.PrivateKeySize, ed25519.SeedSize, len(b))
}

// publicKey returns the ed25519 public key to verify with under key: a
// whpk_ public key, or the public half of a whsk_ signing key.
func publicKey(key string) (ed25519.PublicKey, error) {
	if strings.HasPrefix(key, SigningKeyPrefix) {
		priv, err := signingKey(key)
		if err != nil {
			return nil, err
		}
		return priv.Public().(ed25519.PublicKey), nil
	}
	b, err := decodeKey(key, PublicKeyPrefix)
	if err != nil {
		return nil, err
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: a public key holds %d bytes, not %d", ErrBadKey, ed25519.PublicKeySize, len(b))
	}
	return ed25519.PublicKey(b), nil
}

// signedContent returns what v1 and v1a sign: "<id>.<timestamp>.<body>".
func signedContent(id string, ts time.Time, body []byte) []byte {
	secs := strconv.FormatInt(ts.Unix(), 10)
	msg := make([]byte, 0, len(id)+len(secs)+2+len(body))
	msg = append(msg, id...)
	msg = append(msg, '.')
	msg = append(msg, secs...)
	msg = append(msg, '.')
	return append(msg, body...)
}

// signEd25519 returns "v1a," and the base64 ed25519 signature of body sent
// as message id at time ts under a whsk_ signing key.
func signEd25519(key, id string, ts time.Time, body []byte) (string, error) {
	priv, err := signingKey(key)
	if err != nil {
		return "", err
	}
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, signedContent(id, ts, body))), nil
}

// verifyEd25519 returns nil when one of the space-separated values of sigs
// is "v1a," and the base64 of a signature of id, ts and body under key's
// public key. It fails with ErrBadKey for a malformed key, and with
// ErrVerify otherwise.
func verifyEd25519(key, id string, ts time.Time, body []byte, sigs string) error {
	pub, err := publicKey(key)
	if err != nil {
		return err
	}
	msg := signedContent(id, ts, body)
	for _, s := range strings.Fields(sigs) {
		b64, ok := strings.CutPrefix(s, "v1a,")
		if !ok || len(b64) != base64.StdEncoding.EncodedLen(ed25519.SignatureSize) {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && ed25519.Verify(pub, msg, sig) {
			return nil
		}
	}
	return fmt.Errorf("%w: no matching signature", ErrVerify)
}
