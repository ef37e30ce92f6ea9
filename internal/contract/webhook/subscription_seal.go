package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// SubscriptionsStream is the name of the stream behind BucketSubscriptions.
const SubscriptionsStream = "KV_" + BucketSubscriptions

// SubscriptionSubject returns the subject of subscription id's record.
func SubscriptionSubject(id string) string { return "$KV." + BucketSubscriptions + "." + id }

// SecretSealer seals a signing secret for the record aad names; the
// service's keyring (internal/infra/seal) is one.
type SecretSealer interface {
	Seal(plaintext, aad []byte) (string, error)
}

// SecretOpener opens what a SecretSealer sealed, given the same aad.
type SecretOpener interface {
	Open(sealed string, aad []byte) ([]byte, error)
}

// SecretKeys both seals and opens.
type SecretKeys interface {
	SecretSealer
	SecretOpener
}

// ErrNoSecretKeys is returned, wrapped, when a sealed secret is to be
// opened, or a secret sealed, without a keyring.
var ErrNoSecretKeys = errors.New("no secrets keyring")

// secretAAD is the identity a subscription's secrets are sealed to: the
// bucket and the key of its record, so a sealed secret copied into another
// subscription does not open.
func secretAAD(id string) []byte { return []byte(BucketSubscriptions + "/" + id) }

// Sealed returns s with every secret held in the clear sealed by keys and
// its clear value dropped; s itself is left as it was. It fails when keys
// fails to seal.
func (s Subscription) Sealed(keys SecretSealer) (Subscription, error) {
	s.Secrets = slices.Clone(s.Secrets)
	for i, sec := range s.Secrets {
		if sec.Sealed != "" || sec.Value == "" {
			s.Secrets[i].Value = ""
			continue
		}
		if keys == nil {
			return Subscription{}, fmt.Errorf("seal secrets of subscription %s: %w", s.ID, ErrNoSecretKeys)
		}
		sealed, err := keys.Seal([]byte(sec.Value), secretAAD(s.ID))
		if err != nil {
			return Subscription{}, fmt.Errorf("seal secrets of subscription %s: %w", s.ID, err)
		}
		s.Secrets[i].Sealed, s.Secrets[i].Value = sealed, ""
	}
	return s, nil
}

// open returns sec in the clear: its clear value when it has not been
// sealed yet, else what keys open.
func (s Subscription) open(sec Secret, keys SecretOpener) (string, error) {
	if sec.Sealed == "" {
		return sec.Value, nil
	}
	if keys == nil {
		return "", fmt.Errorf("secret of subscription %s: %w", s.ID, ErrNoSecretKeys)
	}
	v, err := keys.Open(sec.Sealed, secretAAD(s.ID))
	if err != nil {
		return "", fmt.Errorf("secret of subscription %s: %w", s.ID, err)
	}
	return string(v), nil
}

// EncodeSubscription returns the record of s as BucketSubscriptions stores
// it: JSON, every secret sealed by keys. It fails when a secret cannot be
// sealed.
func EncodeSubscription(s Subscription, keys SecretSealer) ([]byte, error) {
	sealed, err := s.Sealed(keys)
	if err != nil {
		return nil, err
	}
	return json.Marshal(sealed)
}

// ModifySubscription is Modify for a subscription record: it applies edit
// and, when edit reports a change, writes the record back with every
// secret sealed by keys, a secret still in the clear included. It returns
// the record as stored (secrets sealed), and fails like Modify, or when a
// secret cannot be sealed (nothing is written then).
func ModifySubscription(ctx context.Context, kv KV, id string, keys SecretSealer, edit func(*Subscription) bool) (Stored[Subscription], error) {
	var sealErr error
	st, err := Modify(ctx, kv, id, func(s *Subscription) bool {
		if !edit(s) {
			return false
		}
		*s, sealErr = s.Sealed(keys)
		return sealErr == nil
	})
	if sealErr != nil {
		return Stored[Subscription]{}, sealErr
	}
	return st, err
}
