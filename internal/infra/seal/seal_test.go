package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

func mustKey(t testing.TB) []byte {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRing(t testing.TB, keys ...[]byte) *Keyring {
	t.Helper()
	kr, err := New(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestSealOpensWithTheSameIdentityOnly(t *testing.T) {
	kr := mustRing(t, mustKey(t))
	secret, aad := []byte("whsec_c2VjcmV0"), []byte("webhook_subscriptions/a")
	sealed, err := kr.Seal(secret, aad)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, string(secret)) || !strings.HasPrefix(sealed, "v1."+kr.SealingKeyID()+".") {
		t.Fatalf("sealed %q", sealed)
	}
	got, err := kr.Open(sealed, aad)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := kr.Seal(secret, aad)
	if again == sealed {
		t.Fatal("two seals of one secret are equal: the nonce is not fresh")
	}
	if _, err := kr.Open(sealed, []byte("webhook_subscriptions/b")); !errors.Is(err, ErrNotAuthentic) {
		t.Fatalf("Open with another record's identity = %v, want ErrNotAuthentic", err)
	}
}

func TestOpenRefusesTheWrongKey(t *testing.T) {
	a, b := mustKey(t), mustKey(t)
	sealed, _ := mustRing(t, a).Seal([]byte("s"), nil)
	if _, err := mustRing(t, b).Open(sealed, nil); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), KeyID(a)) {
		t.Fatalf("Open under another keyring = %v, want ErrUnknownKey naming %s", err, KeyID(a))
	}
	// A value that names a's ID but was sealed with b (as a forged or
	// colliding ID would) does not authenticate.
	forged, _ := mustRing(t, b).Seal([]byte("s"), nil)
	forged = "v1." + KeyID(a) + forged[len("v1.")+8:]
	if _, err := mustRing(t, a).Open(forged, nil); !errors.Is(err, ErrNotAuthentic) {
		t.Fatalf("Open of a value with another key's ID = %v, want ErrNotAuthentic", err)
	}
}

func TestOpenRefusesTamperedValues(t *testing.T) {
	kr := mustRing(t, mustKey(t))
	sealed, _ := kr.Seal([]byte("whsec_abc"), []byte("id"))
	prefix := sealed[:strings.LastIndexByte(sealed, '.')+1]
	raw, err := base64.RawURLEncoding.DecodeString(sealed[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw { // every byte: nonce, ciphertext and tag
		flipped := slices.Clone(raw)
		flipped[i] ^= 0x01
		if _, err := kr.Open(prefix+base64.RawURLEncoding.EncodeToString(flipped), []byte("id")); !errors.Is(err, ErrNotAuthentic) {
			t.Fatalf("byte %d flipped: Open = %v, want ErrNotAuthentic", i, err)
		}
	}
	for _, bad := range []string{
		"", "whsec_abc", "v1", "v1..", "v2." + kr.SealingKeyID() + "." + sealed[len(prefix):],
		"v1.ABCDEF01." + sealed[len(prefix):], "v1.1234567." + sealed[len(prefix):], "v1.zzzzzzzz." + sealed[len(prefix):],
		prefix + "AAAA", prefix + sealed[len(prefix):] + "=", prefix + "not base64!", sealed + ".x",
		prefix + strings.Repeat("A", maxSealed),
	} {
		if _, err := kr.Open(bad, []byte("id")); !errors.Is(err, ErrMalformed) {
			t.Errorf("Open(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

func TestRotationOpensOldSealsAndSealsWithTheNewKey(t *testing.T) {
	oldKey, newKey := mustKey(t), mustKey(t)
	before := mustRing(t, oldKey)
	sealedOld, _ := before.Seal([]byte("old"), []byte("id"))

	kr := mustRing(t, oldKey)
	kr.Replace(mustRing(t, newKey, oldKey)) // a new key at the top, reloaded
	if kr.SealingKeyID() != KeyID(newKey) || !slices.Equal(kr.KeyIDs(), []string{KeyID(newKey), KeyID(oldKey)}) {
		t.Fatalf("keys %v", kr.KeyIDs())
	}
	if got, err := kr.Open(sealedOld, []byte("id")); err != nil || string(got) != "old" {
		t.Fatalf("a value sealed before the rotation: %q %v", got, err)
	}
	if kr.Current(sealedOld) {
		t.Fatal("a value sealed with the old key is current")
	}
	sealedNew, _ := kr.Seal([]byte("new"), []byte("id"))
	if id, _ := SealedKeyID(sealedNew); id != KeyID(newKey) || !kr.Current(sealedNew) {
		t.Fatalf("sealed with %s, want the new key %s", id, KeyID(newKey))
	}
	kr.Replace(mustRing(t, newKey)) // the old key removed
	if _, err := kr.Open(sealedOld, []byte("id")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("after the old key is gone: %v, want ErrUnknownKey", err)
	}
	if got, err := kr.Open(sealedNew, []byte("id")); err != nil || string(got) != "new" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestNewRefusesBadKeys(t *testing.T) {
	k := mustKey(t)
	for name, keys := range map[string][][]byte{
		"none":      nil,
		"short":     {k[:16]},
		"long":      {append(slices.Clone(k), 0)},
		"duplicate": {k, mustKey(t), k},
	} {
		if _, err := New(keys...); !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: New = %v, want ErrBadKey", name, err)
		}
	}
}
