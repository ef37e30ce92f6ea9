package app

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/invoiced/invoiced/internal/testing/calltest"
)

func TestIdempotencyKeysAreScopedPerAPIKey(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--api-keys", "alpha-key-0123456789abcdef0123456789,beta-key-0123456789abcdef0123456789"))
	base := "http://" + svc.Addr()
	post := func(apiKey string) calltest.Answer {
		return calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody,
			"Content-Type", "application/json", "Idempotency-Key", "inv-001", "Authorization", "Bearer "+apiKey)
	}
	a1, b1, a2 := post("alpha-key-0123456789abcdef0123456789"), post("beta-key-0123456789abcdef0123456789"), post("alpha-key-0123456789abcdef0123456789")
	for _, a := range []calltest.Answer{a1, b1, a2} {
		if a.Status != http.StatusCreated {
			t.Fatalf("%d %s", a.Status, a.Body)
		}
	}
	if calltest.Field(t, a1.Body, "id") == calltest.Field(t, b1.Body, "id") {
		t.Fatal("two API keys with one Idempotency-Key share an invoice")
	}
	if !bytes.Equal(a1.Body, a2.Body) || a2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the same API key did not replay: %s", a2.Body)
	}
	if a := calltest.Call(t, http.MethodGet, base+"/invoices/"+calltest.Field(t, a1.Body, "id"), ""); a.Status != http.StatusUnauthorized {
		t.Fatalf("without a key: %d", a.Status)
	}
}

func TestKeysFileIsReadAgainOnReload(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(file, []byte("first-key-0123456789abcdef0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := startService(t, serveConfig(t, "", "--api-keys-file", file))
	url := "http://" + svc.Addr() + "/webhooks/subscriptions"
	status := func(key string) int {
		return calltest.Call(t, http.MethodGet, url, "", "Authorization", "Bearer "+key).Status
	}
	if status("first-key-0123456789abcdef0123456789") != 200 || status("second-key-0123456789abcdef0123456789") != 401 {
		t.Fatal("keys from the file at start")
	}
	if err := os.WriteFile(file, []byte("# rotated\nsecond-key-0123456789abcdef0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.ReloadKeys(); err != nil || n != 1 {
		t.Fatalf("reload: %d %v", n, err)
	}
	if status("first-key-0123456789abcdef0123456789") != 401 || status("second-key-0123456789abcdef0123456789") != 200 {
		t.Fatal("keys after reload")
	}
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ReloadKeys(); err == nil || status("second-key-0123456789abcdef0123456789") != 200 {
		t.Fatal("an empty file must be refused and the old keys kept")
	}
}
