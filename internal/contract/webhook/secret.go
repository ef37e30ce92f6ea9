package webhook

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// The bounds of a signing secret's key, as Standard Webhooks sets them: a
// secret supplied for a subscription must hold 24 to 64 bytes (a new one
// holds 32).
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// ErrWeakSecret is returned, wrapped, for a well-formed secret whose key is
// shorter than MinSecretBytes.
var ErrWeakSecret = errors.New("secret too short")

// CheckSecret returns nil when secret may sign a subscription's webhooks:
// "whsec_" and the standard, padded base64 of MinSecretBytes to
// MaxSecretBytes bytes, written as NewSecret writes one. It fails with
// ErrBadSecret when secret is not that form or its key is empty or longer,
// and with ErrWeakSecret when its key is shorter.
func CheckSecret(secret string) error {
	raw, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return fmt.Errorf("%w: it must start with %s", ErrBadSecret, SecretPrefix)
	}
	if len(raw) > base64.StdEncoding.EncodedLen(MaxSecretBytes) {
		return fmt.Errorf("%w: its key must be at most %d bytes", ErrBadSecret, MaxSecretBytes)
	}
	// DecodeString passes over line breaks and tolerates stray padding
	// bits; only the one canonical spelling of a key is taken.
	k, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || base64.StdEncoding.EncodeToString(k) != raw {
		return fmt.Errorf("%w: what follows %s must be standard base64 with its padding", ErrBadSecret, SecretPrefix)
	}
	switch {
	case len(k) == 0:
		return fmt.Errorf("%w: it holds no key", ErrBadSecret)
	case len(k) < MinSecretBytes:
		return fmt.Errorf("%w: its key is %d bytes; at least %d are needed", ErrWeakSecret, len(k), MinSecretBytes)
	case len(k) > MaxSecretBytes:
		return fmt.Errorf("%w: its key is %d bytes; at most %d are taken", ErrBadSecret, len(k), MaxSecretBytes)
	}
	return nil
}
