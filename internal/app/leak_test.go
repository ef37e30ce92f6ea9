package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// TestNoSecretLeaks drives every path that handles a secret — API keys
// right and wrong, subscriptions with secrets, rotation, failing and
// succeeding deliveries — with debug logging, then scans the log and every
// listing for the secrets.
func TestNoSecretLeaks(t *testing.T) {
	const goodKey, wrongKey = "good-api-key-7f3a9c-0123456789abcdef0123456789", "wrong-api-key-51d2e8-0123456789abcdef0123456789"
	var fails sync.Map
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, seen := fails.LoadOrStore(r.Header.Get("X-Delivery-ID"), true); !seen {
			http.Error(w, "first attempt fails", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(receiver.Close)

	logs := &calltest.SyncBuffer{}
	cfg := serveConfig(t, "", "--api-keys", goodKey, "--log-level", "debug", "--webhook-retry-schedule", "10ms")
	svc, err := Start(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopService(t, svc) })
	base := "http://" + svc.Addr()
	auth := func(key string) []string {
		return []string{"Content-Type", "application/json", "Authorization", "Bearer " + key}
	}

	calltest.Call(t, http.MethodGet, base+"/invoices", "", auth(wrongKey)...)
	calltest.Call(t, http.MethodGet, base+"/invoices", "", "Authorization", "Basic "+wrongKey)
	sub := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+receiver.URL+`"}`, auth(goodKey)...)
	subID, first := calltest.Field(t, sub.Body, "id"), calltest.Field(t, sub.Body, "secret")
	second := calltest.Field(t, calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions/"+subID+"/rotate-secret", "", auth(goodKey)...).Body, "secret")
	if first == "" || second == "" {
		t.Fatal("no secrets to look for")
	}
	calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody, append(auth(goodKey), "Idempotency-Key", "leak-1")...)
	natstest.Eventually(t, 15*time.Second, "webhooks delivered after a failure", func() bool {
		a := calltest.Call(t, http.MethodGet, base+"/webhooks/deliveries?status=delivered", "", auth(goodKey)...)
		return strings.Count(string(a.Body), `"status":"delivered"`) == 2
	})

	seen := map[string]string{"log": logs.String()}
	for _, path := range []string{"/webhooks/subscriptions", "/webhooks/subscriptions/" + subID, "/webhooks/deliveries", "/invoices"} {
		seen[path] = string(calltest.Call(t, http.MethodGet, base+path, "", auth(goodKey)...).Body)
	}
	for where, text := range seen {
		for _, secret := range []string{goodKey, wrongKey, first, second, strings.TrimPrefix(first, "whsec_"), strings.TrimPrefix(second, "whsec_")} {
			if strings.Contains(text, secret) {
				t.Fatalf("%s shows a secret (%.10s…)", where, secret)
			}
		}
	}
	if !strings.Contains(seen["log"], "request refused") {
		t.Fatal("the log is not what the test thinks it is: no refusal logged")
	}
}
