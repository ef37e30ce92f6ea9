package app

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client/webhook"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// publicKeysOf returns the whpk_ public keys an answer about a
// subscription lists.
func publicKeysOf(t testing.TB, body []byte, field string) []string {
	t.Helper()
	var got map[string]json.RawMessage
	var listed []struct{ Key string }
	if err := json.Unmarshal(body, &got); err != nil || json.Unmarshal(got[field], &listed) != nil {
		t.Fatalf("%s: no %s", body, field)
	}
	var keys []string
	for _, k := range listed {
		keys = append(keys, k.Key)
	}
	return keys
}

// TestAnEd25519SubscriptionIsVerifiedWithItsPublicKey subscribes with
// ed25519 signing and checks every webhook with the public key alone:
// with client/webhook, and by hand with crypto/ed25519 over the signed
// content; then rotates the key and checks both sign during the overlap.
func TestAnEd25519SubscriptionIsVerifiedWithItsPublicKey(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	var mu sync.Mutex
	var got []http.Header
	var bodies [][]byte
	recv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got, bodies = append(got, r.Header.Clone()), append(bodies, body)
	}))
	t.Cleanup(recv.Close)
	sub := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+recv.URL+`","event_types":["invoice.created"],"signing":"ed25519"}`,
		"Content-Type", "application/json")
	keys := publicKeysOf(t, sub.Body, "public_keys")
	if sub.Status != http.StatusCreated || len(keys) != 1 || strings.Contains(string(sub.Body), "whsk_") || strings.Contains(string(sub.Body), "whsec_") {
		t.Fatalf("subscribe: %d %s", sub.Status, sub.Body)
	}
	received := func(n int) (http.Header, []byte) {
		t.Helper()
		natstest.Eventually(t, 15*time.Second, "a webhook", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= n })
		mu.Lock()
		defer mu.Unlock()
		return got[n-1], bodies[n-1]
	}
	calltest.PostInvoice(t, base, "ed-1", calltest.InvoiceBody)
	h, body := received(1)
	v, err := webhook.NewVerifier(5*time.Minute, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(h, body); err != nil {
		t.Fatalf("client/webhook with the public key: %v (%s)", err, h.Get("webhook-signature"))
	}
	pub, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(keys[0], "whpk_"))
	signed := []byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body))
	sig, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(h.Get("webhook-signature"), "v1a,"))
	if !ed25519.Verify(pub, signed, sig) {
		t.Fatalf("crypto/ed25519 refuses %q", h.Get("webhook-signature"))
	}

	id := calltest.Field(t, sub.Body, "id")
	rotated := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions/"+id+"/rotate-secret", "")
	both := publicKeysOf(t, rotated.Body, "public_keys")
	listed := calltest.Call(t, http.MethodGet, base+"/webhooks/subscriptions/"+id+"/public-keys", "")
	if len(both) != 2 || both[1] != keys[0] || strings.Join(publicKeysOf(t, listed.Body, "keys"), " ") != strings.Join(both, " ") {
		t.Fatalf("rotate: %s; listed: %s", rotated.Body, listed.Body)
	}
	calltest.PostInvoice(t, base, "ed-2", calltest.InvoiceBody)
	h, body = received(2)
	for _, key := range both {
		v, err := webhook.NewVerifier(5*time.Minute, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(h, body); err != nil {
			t.Fatalf("during the overlap, with %s: %v (%s)", key, err, h.Get("webhook-signature"))
		}
	}
}
