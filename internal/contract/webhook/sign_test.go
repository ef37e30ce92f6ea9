package webhook

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The example from the Standard Webhooks specification.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var specTime = time.Unix(1614265330, 0)

func TestSignMatchesSpecification(t *testing.T) {
	got, err := Sign(specSecret, specID, specTime, []byte(specBody))
	if err != nil || got != specSig {
		t.Fatalf("Sign = %q, %v; want %q", got, err, specSig)
	}
}

func TestSetHeadersThenVerify(t *testing.T) {
	old, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := NewSecret()
	h := http.Header{}
	if err := SetHeaders(h, specID, specTime, []byte(specBody), cur, old); err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get(HeaderSignature))); n != 2 {
		t.Fatalf("%d signatures, want 2: %q", n, h.Get(HeaderSignature))
	}
	now := specTime.Add(time.Minute)
	for _, s := range []string{cur, old} {
		if err := Verify(s, h, []byte(specBody), now, 5*time.Minute); err != nil {
			t.Fatalf("verify with one of the secrets: %v", err)
		}
	}
	other, _ := NewSecret()
	tests := []struct {
		name   string
		secret string
		body   string
		now    time.Time
	}{
		{"other secret", other, specBody, now},
		{"changed body", cur, specBody + " ", now},
		{"too old", cur, specBody, specTime.Add(10 * time.Minute)},
		{"from the future", cur, specBody, specTime.Add(-10 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.secret, h, []byte(tt.body), tt.now, 5*time.Minute); !errors.Is(err, ErrVerify) {
				t.Fatalf("Verify = %v, want ErrVerify", err)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if a == b || !strings.HasPrefix(a, SecretPrefix) {
		t.Fatalf("secrets %q %q", a, b)
	}
	k, err := key(a)
	if err != nil || len(k) != secretBytes {
		t.Fatalf("key of %q: %d bytes, %v", a, len(k), err)
	}
	for _, bad := range []string{"", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!!"} {
		if _, err := Sign(bad, "id", specTime, nil); !errors.Is(err, ErrBadSecret) {
			t.Fatalf("Sign with %q: %v", bad, err)
		}
	}
	if err := SetHeaders(http.Header{}, "id", specTime, nil); !errors.Is(err, ErrBadSecret) {
		t.Fatalf("SetHeaders with no secret: %v", err)
	}
}

// BenchmarkSetHeaders measures signing one delivery, as every attempt does.
func BenchmarkSetHeaders(b *testing.B) {
	secret, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"type":"invoice.processed","timestamp":"2026-11-29T02:00:00Z","data":{"id":"5f0c3f3e-9a53-5b1e-8a43-3e6f1f0c2b7a","status":"processed","customer_id":"cust_123","amount_cents":2500,"currency":"USD","description":"","metadata":{"order":"42"},"created_at":"2026-11-29T02:00:00Z","processed_at":"2026-11-29T02:00:00Z"}}`)
	ts := time.Unix(1_790_000_000, 0)
	b.ReportAllocs()
	for b.Loop() {
		h := http.Header{}
		if err := SetHeaders(h, "msg_2Kz", ts, body, secret); err != nil {
			b.Fatal(err)
		}
	}
}
