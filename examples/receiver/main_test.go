package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client/webhook"
	signing "github.com/invoiced/invoiced/internal/contract/webhook"
)

// TestReceiverHandlesEachEventOnce sends deliveries signed as the service
// signs them: each event is printed once, a repeat is acknowledged and
// said to be one, and what does not verify is refused.
func TestReceiverHandlesEachEventOnce(t *testing.T) {
	secret, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	other, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	v, err := webhook.NewVerifier(webhook.DefaultTolerance, secret)
	if err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	h := webhook.Handler(v, (&once{seen: map[string]bool{}, out: out}).handle)
	body := `{"type":"invoice.processed","timestamp":"2026-12-07T00:00:00Z","data":{"id":"inv_1","status":"processed"}}`
	deliver := func(id string, secrets ...string) int {
		req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
		if err := signing.SetHeaders(req.Header, id, time.Now(), []byte(body), secrets...); err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for _, c := range []struct {
		id      string
		secrets []string
		want    int
	}{
		{"msg_1", []string{secret}, http.StatusNoContent},
		{"msg_1", []string{secret}, http.StatusNoContent},
		{"msg_2", []string{other, secret}, http.StatusNoContent},
		{"msg_3", []string{other}, http.StatusUnauthorized},
	} {
		if got := deliver(c.id, c.secrets...); got != c.want {
			t.Errorf("%s: %d, want %d", c.id, got, c.want)
		}
	}
	want := "verified msg_1 invoice.processed invoice inv_1 processed\nrepeat msg_1, already handled\nverified msg_2 invoice.processed invoice inv_1 processed\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out, want)
	}
}
