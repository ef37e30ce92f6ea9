package webhook

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_dGhlIG5ldyBzZWNyZXQgYWZ0ZXIgcm90YXRpb24="
)

const eventBody = `{"type":"invoice.processed","timestamp":"2026-01-02T03:04:05.123Z","data":{"id":"91733d96-050b-59d1-a68c-89b289e950c3",` +
	`"account":"default","status":"processed","customer_id":"cust_123","amount_cents":2500,"currency":"USD","description":"",` +
	`"metadata":{"order":"A-17"},"created_at":"2026-01-02T03:04:04Z","processed_at":"2026-01-02T03:04:05Z"}}`

// signed returns the headers of a delivery of body at ts signed with each
// secret.
func signed(t testing.TB, id string, ts time.Time, body string, secrets ...string) http.Header {
	t.Helper()
	var sigs []string
	for _, s := range secrets {
		sig, err := Sign(s, id, ts, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	h.Set(HeaderDeliveryID, "d-1")
	h.Set(HeaderAttempt, "2")
	return h
}

// TestVerifyDecodesTheEvent verifies a delivery and checks every value
// decoded from it.
func TestVerifyDecodesTheEvent(t *testing.T) {
	ev, err := Verify(secretA, signed(t, "evt-1", time.Now(), eventBody, secretA), []byte(eventBody), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC)
	if ev.ID != "evt-1" || ev.DeliveryID != "d-1" || ev.Attempt != 2 || ev.Type != client.EventInvoiceProcessed ||
		!ev.Timestamp.Equal(want) || ev.Data.ID != "91733d96-050b-59d1-a68c-89b289e950c3" || ev.Data.Status != client.InvoiceProcessed ||
		ev.Data.AmountCents != 2500 || ev.Data.Metadata["order"] != "A-17" || ev.Data.ProcessedAt.IsZero() || ev.Test {
		t.Fatalf("%+v", ev)
	}
}

// TestVerifyDuringRotation checks that a delivery signed with an old and a
// new secret verifies with either, and with neither other.
func TestVerifyDuringRotation(t *testing.T) {
	h := signed(t, "evt-2", time.Now(), eventBody, secretA, secretB)
	for _, secrets := range [][]string{{secretA}, {secretB}, {"whsec_b3RoZXI=", secretB}} {
		v, err := NewVerifier(time.Minute, secrets...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(h, []byte(eventBody)); err != nil {
			t.Fatalf("%v: %v", secrets, err)
		}
	}
	if _, err := Verify("whsec_b3RoZXI=", h, []byte(eventBody), 0); !errors.Is(err, ErrSignature) {
		t.Fatalf("another secret: %v", err)
	}
}

// TestVerifyRefuses breaks a good delivery one way at a time.
func TestVerifyRefuses(t *testing.T) {
	now := time.Now()
	good := func() http.Header { return signed(t, "evt-3", now, eventBody, secretA) }
	sig := good().Get(HeaderSignature)
	for name, tc := range map[string]struct {
		edit func(http.Header)
		body string
		want error
	}{
		"no id":              {func(h http.Header) { h.Del(HeaderID) }, eventBody, ErrMissingHeader},
		"no timestamp":       {func(h http.Header) { h.Del(HeaderTimestamp) }, eventBody, ErrMissingHeader},
		"no signature":       {func(h http.Header) { h.Del(HeaderSignature) }, eventBody, ErrMissingHeader},
		"timestamp not int":  {func(h http.Header) { h.Set(HeaderTimestamp, "12.5") }, eventBody, ErrTimestamp},
		"too old":            {func(h http.Header) { replace(h, signed(t, "evt-3", now.Add(-6*time.Minute), eventBody, secretA)) }, eventBody, ErrTimestamp},
		"too new":            {func(h http.Header) { replace(h, signed(t, "evt-3", now.Add(6*time.Minute), eventBody, secretA)) }, eventBody, ErrTimestamp},
		"far future":         {func(h http.Header) { h.Set(HeaderTimestamp, "9223372036854775807") }, eventBody, ErrTimestamp},
		"far past":           {func(h http.Header) { h.Set(HeaderTimestamp, "-9223372036854775808") }, eventBody, ErrTimestamp},
		"body changed":       {func(http.Header) {}, strings.Replace(eventBody, "2500", "2501", 1), ErrSignature},
		"id changed":         {func(h http.Header) { h.Set(HeaderID, "evt-4") }, eventBody, ErrSignature},
		"timestamp changed":  {func(h http.Header) { h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10)) }, eventBody, ErrSignature},
		"other version":      {func(h http.Header) { h.Set(HeaderSignature, strings.Replace(sig, "v1,", "v2,", 1)) }, eventBody, ErrSignature},
		"bare signature":     {func(h http.Header) { h.Set(HeaderSignature, strings.TrimPrefix(sig, "v1,")) }, eventBody, ErrSignature},
		"signature cut":      {func(h http.Header) { h.Set(HeaderSignature, sig[:len(sig)-2]) }, eventBody, ErrSignature},
		"comma separated":    {func(h http.Header) { h.Set(HeaderSignature, "v1,x,"+strings.TrimPrefix(sig, "v1,")) }, eventBody, ErrSignature},
		"signed, not JSON":   {func(h http.Header) { replace(h, signed(t, "evt-3", now, "not json", secretA)) }, "not json", ErrPayload},
		"signed, no type":    {func(h http.Header) { replace(h, signed(t, "evt-3", now, `{"data":{}}`, secretA)) }, `{"data":{}}`, ErrPayload},
		"signed, wrong type": {func(h http.Header) { replace(h, signed(t, "evt-3", now, `{"type":7}`, secretA)) }, `{"type":7}`, ErrPayload},
	} {
		h := good()
		tc.edit(h)
		if _, err := Verify(secretA, h, []byte(tc.body), 5*time.Minute); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

// TestSecrets refuses malformed secrets and takes one without its prefix.
func TestSecrets(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_not base64!", "whsec_" + base64.StdEncoding.EncodeToString(nil)} {
		if _, err := NewVerifier(0, s); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("%q: %v", s, err)
		}
		if _, err := Sign(s, "id", time.Now(), nil); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("sign with %q: %v", s, err)
		}
	}
	if _, err := NewVerifier(0); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("no secret: %v", err)
	}
	h := signed(t, "evt-5", time.Now(), eventBody, secretA)
	if _, err := Verify(strings.TrimPrefix(secretA, "whsec_"), h, []byte(eventBody), 0); err != nil {
		t.Fatalf("without prefix: %v", err)
	}
}

// TestStandardWebhooksInterop signs with the Standard Webhooks reference
// library and verifies here, and the other way round.
func TestStandardWebhooksInterop(t *testing.T) {
	ref, err := standardwebhooks.NewWebhook(secretA)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := ref.Sign("evt-6", now, []byte(eventBody))
	if err != nil {
		t.Fatal(err)
	}
	h := signed(t, "evt-6", now, eventBody, secretB)
	h.Set(HeaderSignature, h.Get(HeaderSignature)+" "+sig)
	if _, err := Verify(secretA, h, []byte(eventBody), 0); err != nil {
		t.Fatalf("reference signature: %v", err)
	}
	if err := ref.Verify([]byte(eventBody), signed(t, "evt-6", now, eventBody, secretA)); err != nil {
		t.Fatalf("the reference refuses ours: %v", err)
	}
}

// replace makes h a copy of other.
func replace(h, other http.Header) {
	clear(h)
	for k, v := range other {
		h[k] = v
	}
}
