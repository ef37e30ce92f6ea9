package webhook

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// secretOf returns the secret whose key is n bytes of b.
func secretOf(n int, b byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), n)))
}

func TestCheckSecret(t *testing.T) {
	generated, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		secret string
		want   error
	}{
		{"a generated one", generated, nil},
		{"the specification's", specSecret, nil},
		{"24 bytes", secretOf(24, 1), nil},
		{"25 bytes, padded", secretOf(25, 2), nil},
		{"64 bytes", secretOf(64, 3), nil},
		{"23 bytes", secretOf(23, 4), ErrWeakSecret},
		{"1 byte", secretOf(1, 5), ErrWeakSecret},
		{"65 bytes", secretOf(65, 6), ErrBadSecret},
		{"no key", SecretPrefix, ErrBadSecret},
		{"no prefix", strings.TrimPrefix(generated, SecretPrefix), ErrBadSecret},
		{"another prefix", "whsek_" + strings.TrimPrefix(generated, SecretPrefix), ErrBadSecret},
		{"prefix in upper case", "WHSEC_" + strings.TrimPrefix(generated, SecretPrefix), ErrBadSecret},
		{"padding left out", strings.TrimRight(secretOf(25, 2), "="), ErrBadSecret},
		{"URL-safe alphabet", SecretPrefix + base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xfb\xff", 16))), ErrBadSecret},
		{"a line break", secretOf(24, 1)[:20] + "\n" + secretOf(24, 1)[20:], ErrBadSecret},
		{"stray padding bits", SecretPrefix + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk" + "Zf==", ErrBadSecret},
		{"a space", secretOf(24, 1) + " ", ErrBadSecret},
		{"empty", "", ErrBadSecret},
		{"huge", SecretPrefix + strings.Repeat("A", 1<<16), ErrBadSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSecret(tt.secret)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("CheckSecret = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzCheckSecret checks that every secret CheckSecret takes signs and
// verifies, is written as NewSecret writes one and holds a key of a size
// Standard Webhooks allows, and that what it refuses is refused as
// malformed or as weak, weak only when it is well formed but short.
func FuzzCheckSecret(f *testing.F) {
	for _, seed := range []string{
		specSecret, SecretPrefix, "", "whsec", "whsec_=", "whsec_AAAA", "whsec_AA==", "whsec_A===",
		secretOf(23, 0), secretOf(24, 0), secretOf(64, 0xff), secretOf(65, 0), strings.TrimRight(secretOf(25, 9), "="),
		"whsec_" + strings.Repeat("/", 32), "whsec_" + strings.Repeat("-", 32), "whsec_\r\nMfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw==", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS\x00",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, secret string) {
		err := CheckSecret(secret)
		raw, hasPrefix := strings.CutPrefix(secret, SecretPrefix)
		key, decodeErr := base64.StdEncoding.DecodeString(raw)
		canonical := hasPrefix && decodeErr == nil && base64.StdEncoding.EncodeToString(key) == raw
		switch {
		case err == nil:
			if !canonical || len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
				t.Fatalf("CheckSecret(%q) takes a key of %d bytes, canonical %v", secret, len(key), canonical)
			}
			h := make(map[string][]string)
			if err := SetHeaders(h, "msg_1", specTime, []byte(specBody), secret); err != nil {
				t.Fatalf("a secret taken does not sign: %v", err)
			}
			if err := Verify(secret, h, []byte(specBody), specTime, time.Minute); err != nil {
				t.Fatalf("a secret taken does not verify: %v", err)
			}
		case errors.Is(err, ErrWeakSecret):
			if !canonical || len(key) == 0 || len(key) >= MinSecretBytes {
				t.Fatalf("CheckSecret(%q) calls a key of %d bytes weak, canonical %v", secret, len(key), canonical)
			}
		case errors.Is(err, ErrBadSecret):
			if canonical && len(key) > 0 && len(key) <= MaxSecretBytes {
				t.Fatalf("CheckSecret(%q) calls a well-formed key of %d bytes malformed: %v", secret, len(key), err)
			}
		default:
			t.Fatalf("CheckSecret(%q) = %v, neither malformed nor weak", secret, err)
		}
	})
}
