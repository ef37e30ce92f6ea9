// Package seal keeps short secrets encrypted at rest: it seals them with
// AES-256-GCM under the first key of a keyring and opens them with any key
// of it, so keys can rotate. Each sealed value names the key it was sealed
// with and is bound to the identity of the record that holds it.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

// version starts every sealed value; a later format gets another.
const version = "v1"

// keyIDBytes is how much of a key's SHA-256 names it: 8 hex digits, enough
// to tell the few keys of one file apart and nothing to guess a key from.
const keyIDBytes = 4

// maxSealed bounds a sealed value, so a corrupt record costs no more than a
// few kilobytes to reject.
const maxSealed = 4096

const nonceSize = 12 // GCM's standard 96-bit nonce

// Errors returned, wrapped, by Open and the keyring's constructors.
var (
	// ErrMalformed is a sealed value that is not in the format Seal writes.
	ErrMalformed = errors.New("not a sealed value")
	// ErrUnknownKey is a sealed value whose key is not in the keyring.
	ErrUnknownKey = errors.New("sealed with a key the keyring does not hold")
	// ErrNotAuthentic is a sealed value that does not open under its key
	// with the given identity: another record's, tampered with, or sealed
	// by a different key of the same ID.
	ErrNotAuthentic = errors.New("sealed value does not authenticate")
	// ErrBadKey is a key that is not KeySize bytes, or a keyring without
	// keys or with one key twice.
	ErrBadKey = errors.New("bad key")
)

// KeyID returns the ID that sealed values name key by: the first 4 bytes
// of its SHA-256, in hex.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:keyIDBytes])
}

// key is one key of a keyring, ready to use.
type key struct {
	id   string
	aead cipher.AEAD
}

// ring is the keys of a keyring at one moment; the first seals.
type ring []key

// Keyring seals with its first key and opens with any of its keys. Its keys
// can be replaced while it is in use (Replace); it is safe for concurrent
// use.
type Keyring struct {
	keys atomic.Pointer[ring]
}

// New returns a keyring of keys, the first of which seals. It fails with
// ErrBadKey when there is no key, a key is not KeySize bytes, or two keys
// share an ID.
func New(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrBadKey)
	}
	r := make(ring, 0, len(keys))
	seen := map[string]bool{}
	for i, k := range keys {
		if len(k) != KeySize {
			return nil, fmt.Errorf("%w: key %d is %d bytes, want %d", ErrBadKey, i+1, len(k), KeySize)
		}
		id := KeyID(k)
		if seen[id] {
			return nil, fmt.Errorf("%w: key %d (%s) is there twice", ErrBadKey, i+1, id)
		}
		seen[id] = true
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		r = append(r, key{id: id, aead: aead})
	}
	kr := &Keyring{}
	kr.keys.Store(&r)
	return kr, nil
}

// NewRandom returns a keyring of one new random key that exists only in
// memory: what it seals opens nowhere else. It fails only when the system's
// randomness does.
func NewRandom() (*Keyring, error) {
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	return New(k)
}

// NewKey returns a new random key. It fails only when the system's
// randomness does.
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("new key: %w", err)
	}
	return k, nil
}

// Replace makes the keyring use other's keys from now on, so everything
// holding it sees a reloaded key file at once.
func (k *Keyring) Replace(other *Keyring) { k.keys.Store(other.keys.Load()) }

// SealingKeyID returns the ID of the key that seals.
func (k *Keyring) SealingKeyID() string { return (*k.keys.Load())[0].id }

// KeyIDs returns the IDs of every key, the sealing one first.
func (k *Keyring) KeyIDs() []string {
	r := *k.keys.Load()
	ids := make([]string, len(r))
	for i, key := range r {
		ids[i] = key.id
	}
	return ids
}

// Seal returns plaintext sealed under the sealing key and bound to aad, the
// identity of the record that will hold it: "v1.<key id>.<base64url of
// nonce, ciphertext and tag>". It fails only when the system's randomness
// does.
func (k *Keyring) Seal(plaintext, aad []byte) (string, error) {
	key := (*k.keys.Load())[0]
	nonce := make([]byte, nonceSize, nonceSize+len(plaintext)+key.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := key.aead.Seal(nonce, nonce, plaintext, boundAAD(key.id, aad))
	return version + "." + key.id + "." + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open returns the plaintext of sealed, which must have been sealed with
// the same aad. It fails with ErrMalformed for a value not in Seal's
// format, ErrUnknownKey when the key it names is not in the keyring, and
// ErrNotAuthentic when it does not authenticate.
func (k *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	p, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	for _, key := range *k.keys.Load() {
		if key.id != p.keyID {
			continue
		}
		plain, err := key.aead.Open(nil, p.nonce, p.box, boundAAD(key.id, aad))
		if err != nil {
			return nil, fmt.Errorf("%w (key %s)", ErrNotAuthentic, key.id)
		}
		return plain, nil
	}
	return nil, fmt.Errorf("%w: key %s", ErrUnknownKey, p.keyID)
}

// Current reports whether sealed names the key that seals now; a malformed
// value is not current.
func (k *Keyring) Current(sealed string) bool {
	id, err := SealedKeyID(sealed)
	return err == nil && id == k.SealingKeyID()
}

// SealedKeyID returns the ID of the key sealed was sealed with. It fails
// with ErrMalformed for a value not in Seal's format.
func SealedKeyID(sealed string) (string, error) {
	p, err := parse(sealed)
	if err != nil {
		return "", err
	}
	return p.keyID, nil
}

// boundAAD is what GCM authenticates beside the ciphertext: the format and
// the key ID, so neither can be swapped, and the caller's record identity.
func boundAAD(keyID string, aad []byte) []byte {
	b := make([]byte, 0, len(version)+len(keyID)+2+len(aad))
	b = append(b, version...)
	b = append(b, '.')
	b = append(b, keyID...)
	b = append(b, 0)
	return append(b, aad...)
}

// parsed is a sealed value taken apart.
type parsed struct {
	keyID      string
	nonce, box []byte
}

// parse takes a sealed value apart; it fails with ErrMalformed.
func parse(sealed string) (parsed, error) {
	if len(sealed) > maxSealed {
		return parsed{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(sealed))
	}
	ver, rest, ok1 := strings.Cut(sealed, ".")
	id, payload, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || ver != version {
		return parsed{}, fmt.Errorf("%w: want %s.<key id>.<data>", ErrMalformed, version)
	}
	if len(id) != 2*keyIDBytes || strings.ToLower(id) != id {
		return parsed{}, fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return parsed{}, fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return parsed{}, fmt.Errorf("%w: bad data", ErrMalformed)
	}
	if len(raw) < nonceSize+16 { // a nonce and GCM's tag at least
		return parsed{}, fmt.Errorf("%w: too short", ErrMalformed)
	}
	return parsed{keyID: id, nonce: raw[:nonceSize], box: raw[nonceSize:]}, nil
}
