package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// ordered is the ordering a subscription answer shows.
type ordered struct {
	Ordering string `json:"ordering"`
}

// TestOrderingIsKeptAndChanged creates a subscription ordered per invoice,
// reads it back, and PATCHes it to none: the answers show the ordering by
// name, and the record stores none as empty.
func TestOrderingIsKeptAndChanged(t *testing.T) {
	e := newEnv(t, envOptions{})
	s := e.subscribe(t, `{"url":"https://example.com/ordered","ordering":"per_invoice"}`)
	path := "/webhooks/subscriptions/" + s.ID
	show := func(r response) string {
		t.Helper()
		if r.status != http.StatusOK && r.status != http.StatusCreated {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var got ordered
		r.json(t, &got)
		return got.Ordering
	}
	if rec := e.stored(t, s.ID); rec.Ordering != webhook.OrderingPerInvoice || !rec.OrderedPerInvoice() {
		t.Fatalf("stored ordering %q", rec.Ordering)
	}
	if got := show(e.do(t, http.MethodGet, path, nil)); got != webhook.OrderingPerInvoice {
		t.Fatalf("read back as %q", got)
	}

	patch := func(body string) response {
		return e.do(t, http.MethodPatch, path, []byte(body), "Content-Type", "application/json")
	}
	if got := show(patch(`{"description":"kept"}`)); got != webhook.OrderingPerInvoice {
		t.Fatalf("another change left ordering %q", got)
	}
	if got := show(patch(`{"ordering":"none"}`)); got != webhook.OrderingNone {
		t.Fatalf("patched to %q", got)
	}
	if rec := e.stored(t, s.ID); rec.Ordering != "" || rec.OrderedPerInvoice() {
		t.Fatalf("none stored as %q", rec.Ordering)
	}
	if got := show(e.do(t, http.MethodGet, path, nil)); got != webhook.OrderingNone {
		t.Fatalf("read back as %q", got)
	}

	if p := wantProblem(t, patch(`{"ordering":"fifo"}`), http.StatusBadRequest, "ordering"); !strings.Contains(p.Detail, `must be none or per_invoice, not "fifo"`) {
		t.Fatalf("detail %q", p.Detail)
	}
	if rec := e.stored(t, s.ID); rec.Ordering != "" || rec.Description != "kept" {
		t.Fatalf("a refused PATCH changed the record: %+v", rec)
	}
}

// TestOrderingDefaultsToNone shows a subscription made without ordering,
// or with none, as none, stores it empty, and refuses any other value.
func TestOrderingDefaultsToNone(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, body := range []string{`{"url":"https://example.com/a"}`, `{"url":"https://example.com/b","ordering":"none"}`} {
		r := e.do(t, http.MethodPost, "/webhooks/subscriptions", []byte(body), "Content-Type", "application/json")
		var got struct {
			ID       string `json:"id"`
			Ordering string `json:"ordering"`
		}
		r.json(t, &got)
		if r.status != http.StatusCreated || got.Ordering != webhook.OrderingNone {
			t.Fatalf("%s: %d %s", body, r.status, r.body)
		}
		if rec := e.stored(t, got.ID); rec.Ordering != "" {
			t.Fatalf("%s: stored ordering %q", body, rec.Ordering)
		}
	}
	for _, body := range []string{`{"url":"https://example.com/c","ordering":"per_customer"}`, `{"url":"https://example.com/c","ordering":""}`,
		`{"url":"https://example.com/c","ordering":"PER_INVOICE"}`} {
		r := e.do(t, http.MethodPost, "/webhooks/subscriptions", []byte(body), "Content-Type", "application/json")
		wantProblem(t, r, http.StatusBadRequest, "ordering")
	}
}
