package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/infra/netguard"
)

// surfaceHandler is the whole API — invoices, subscriptions, deliveries,
// health — behind API keys, on a real JetStream server.
func surfaceHandler(t testing.TB) http.Handler {
	t.Helper()
	e := newDeliveriesEnv(t)
	subs, err := api.NewSubscriptions(e.subs, e.ending, api.SubscriptionsConfig{Targets: netguard.Policy{AllowPrivate: true}, Secrets: e.secrets})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := api.NewDeliveries(e.model, e.subs, e.js, api.DeliveriesConfig{})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := api.NewAuth([]api.Key{{Secret: "fuzz-key"}}, api.AuthConfig{})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := api.NewInvoices(api.NewLedger(e.js, e.stream, e.model, e.lag, time.Minute), api.InvoicesConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return api.NewHandler(api.Resources{
		Health:        api.NewHealth(func(context.Context) error { return nil }),
		Invoices:      inv,
		Subscriptions: subs,
		Deliveries:    dl,
		Auth:          auth,
	})
}

// FuzzHTTPSurface sends arbitrary requests to every route and asserts the
// answer is never a 5xx (JetStream is up) and never a panic.
func FuzzHTTPSurface(f *testing.F) {
	seeds := []struct{ method, path, authorization, contentType, key, body string }{
		{"POST", "/invoices", "Bearer fuzz-key", "application/json", "k1", `{"customer_id":"c","amount_cents":1}`},
		{"POST", "/invoices", "Bearer fuzz-key", "application/json", "k1", `{"customer_id":"c","amount_cents":2}`},
		{"POST", "/invoices", "Bearer fuzz-key", "application/json", "", `{"customer_id":null}`},
		{"POST", "/invoices", "", "application/json", "k2", `{}`},
		{"GET", "/invoices?limit=5&status=created&customer_id=c", "Bearer fuzz-key", "", "", ""},
		{"GET", "/invoices?cursor=djEuMQ", "Bearer fuzz-key", "", "", ""},
		{"GET", "/invoices/00000000-0000-0000-0000-000000000000", "Bearer fuzz-key", "", "", ""},
		{"POST", "/webhooks/subscriptions", "Bearer fuzz-key", "application/json", "", `{"url":"http://127.0.0.1:1/x","event_types":["invoice.created"]}`},
		{"POST", "/webhooks/subscriptions", "Bearer fuzz-key", "application/json", "", `{"url":"http://[::ffff:169.254.169.254]/"}`},
		{"PATCH", "/webhooks/subscriptions/urn:uuid:00000000-0000-0000-0000-000000000000", "Bearer fuzz-key", "application/json", "", `{"status":"disabled"}`},
		{"POST", "/webhooks/subscriptions/00000000-0000-0000-0000-000000000000/rotate-secret", "Bearer fuzz-key", "", "", ""},
		{"POST", "/webhooks/subscriptions/00000000-0000-0000-0000-000000000000/recover", "Bearer fuzz-key", "application/json", "", `{"since":"2024-01-01T00:00:00Z"}`},
		{"DELETE", "/webhooks/subscriptions/%00", "Bearer fuzz-key", "", "", ""},
		{"GET", "/webhooks/deliveries?status=dead&event_type=invoice.failed", "Bearer fuzz-key", "", "", ""},
		{"GET", "/webhooks/deliveries?invoice_id=00000000-0000-0000-0000-000000000000&event_id=x&created_after=2024-01-01T00:00:00Z", "Bearer fuzz-key", "", "", ""},
		{"GET", "/invoices?created_after=2024-01-01T00:00:00%2B02:00&created_before=0001-01-01T00:00:00Z", "Bearer fuzz-key", "", "", ""},
		{"GET", "/webhooks/subscriptions?limit=1&cursor=czEuMS54&account=default", "Bearer fuzz-key", "", "", ""},
		{"POST", "/webhooks/subscriptions", "Bearer fuzz-key", "application/json", "", `{"url":"http://127.0.0.1:1/x","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`},
		{"POST", "/webhooks/subscriptions", "Bearer fuzz-key", "application/json", "", `{"url":"http://127.0.0.1:1/x","secret":"whsec_AAAA"}`},
		{"POST", "/webhooks/deliveries/x/retry", "Bearer fuzz-key", "", "", ""},
		{"GET", "/healthz", "", "", "", ""},
		{"OPTIONS", "/readyz", "", "", "", ""},
		{"TRACE", "/../../etc/passwd", "Bearer \x00", "text/plain", "\x7f", "\xff\xfe"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.authorization, s.contentType, s.key, []byte(s.body))
	}
	handler := surfaceHandler(f)
	f.Fuzz(func(t *testing.T, method, path, authorization, contentType, key string, body []byte) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(context.Background(), method, "http://invoiced"+path, bytes.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		for name, value := range map[string]string{"Authorization": authorization, "Content-Type": contentType, "Idempotency-Key": key} {
			if value != "" {
				req.Header.Set(name, value)
			}
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	})
}
