package app

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/natstest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

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

	logs := &syncBuffer{}
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

	call(t, http.MethodGet, base+"/invoices", "", auth(wrongKey)...)
	call(t, http.MethodGet, base+"/invoices", "", "Authorization", "Basic "+wrongKey)
	sub := call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+receiver.URL+`"}`, auth(goodKey)...)
	subID, first := field(t, sub.body, "id"), field(t, sub.body, "secret")
	second := field(t, call(t, http.MethodPost, base+"/webhooks/subscriptions/"+subID+"/rotate-secret", "", auth(goodKey)...).body, "secret")
	if first == "" || second == "" {
		t.Fatal("no secrets to look for")
	}
	call(t, http.MethodPost, base+"/invoices", journeyBody, append(auth(goodKey), "Idempotency-Key", "leak-1")...)
	natstest.Eventually(t, 15*time.Second, "webhooks delivered after a failure", func() bool {
		a := call(t, http.MethodGet, base+"/webhooks/deliveries?status=delivered", "", auth(goodKey)...)
		return strings.Count(string(a.body), `"status":"delivered"`) == 2
	})

	seen := map[string]string{"log": logs.String()}
	for _, path := range []string{"/webhooks/subscriptions", "/webhooks/subscriptions/" + subID, "/webhooks/deliveries", "/invoices"} {
		seen[path] = string(call(t, http.MethodGet, base+path, "", auth(goodKey)...).body)
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
