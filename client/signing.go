package client

import (
	"context"
	"net/http"
	"time"
)

// Signing is how a subscription's webhooks are signed.
type Signing string

// The signings.
const (
	// SigningHMAC: Standard Webhooks v1, an HMAC-SHA256 under a shared
	// whsec_ secret.
	SigningHMAC Signing = "hmac"
	// SigningEd25519: Standard Webhooks v1a, an ed25519 signature; the
	// receiver holds only the public key.
	SigningEd25519 Signing = "ed25519"
)

// PublicKey is the public key of one of a subscription's ed25519 signing
// keys, as Standard Webhooks writes it and as a JSON Web Key.
type PublicKey struct {
	// Key is "whpk_" and the base64 of the key: what webhook.NewVerifier
	// takes.
	Key string `json:"key"`
	// KeyID, KeyType ("OKP"), Curve ("Ed25519"), X (the key in base64url),
	// Use ("sig") and Algorithm ("EdDSA") are its JSON Web Key members.
	KeyID     string `json:"kid"`
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	Use       string `json:"use"`
	Algorithm string `json:"alg"`
	// CreatedAt is when the key was made.
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt, unless zero, is when a key a rotation replaced stops
	// signing.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// GetSubscriptionPublicKeys returns the public keys that sign the
// subscription's webhooks now, newest first: none for a SigningHMAC
// subscription. Fetch them again when a signature does not verify with
// those held, as after a rotation. It fails with an *Error matching
// ErrNotFound when there is no such subscription in the caller's account.
func (c *Client) GetSubscriptionPublicKeys(ctx context.Context, id string, opts ...CallOption) ([]PublicKey, error) {
	path, err := pathOf("webhooks", "subscriptions", id, "public-keys")
	if err != nil {
		return nil, err
	}
	var set struct {
		Keys []PublicKey `json:"keys"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path, safe: true}, newCallConfig(opts), &set); err != nil {
		return nil, err
	}
	return set.Keys, nil
}
