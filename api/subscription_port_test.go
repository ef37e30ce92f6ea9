package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSubscriptionURLPorts checks over HTTP that a subscription URL's port,
// when it has one, is 1 to 65535, on create and on update, and that a
// refused URL is answered as the other URL rules are: 400 naming url,
// with nothing stored.
func TestSubscriptionURLPorts(t *testing.T) {
	e := newEnv(t, envOptions{})
	patched := e.subscribe(t, `{"url":"https://example.com/hook"}`)
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://example.com:1/hook", true},
		{"https://example.com:443/hook", true},
		{"https://example.com:65535/hook", true},
		{"http://[2001:db8::1]:8080/hook", true},
		{"https://example.com:/hook", true}, // an empty port means the scheme's
		{"https://example.com:0/hook", false},
		{"https://example.com:00/hook", false},
		{"https://example.com:65536/hook", false},
		{"https://example.com:99999/hook", false},
		{"https://example.com:18446744073709551617/hook", false},
		{"http://[2001:db8::1]:0/hook", false},
		{"https://example.com:http/hook", false},
		{"https://example.com:-1/hook", false},
		{"https://example.com:+80/hook", false},
	}
	for _, tt := range tests {
		body := fmt.Sprintf(`{"url":%q}`, tt.url)
		t.Run("create "+tt.url, func(t *testing.T) {
			before := e.subscriptionCount(t)
			r := e.do(t, http.MethodPost, "/webhooks/subscriptions", []byte(body), "Content-Type", "application/json")
			if tt.ok {
				if r.status != http.StatusCreated {
					t.Fatalf("%d %s, want 201", r.status, r.body)
				}
				return
			}
			p := wantProblem(t, r, http.StatusBadRequest, "url")
			if !strings.Contains(p.Detail, "port") && !strings.Contains(p.Detail, "absolute") {
				t.Fatalf("detail %q names neither the port nor the URL's form", p.Detail)
			}
			if after := e.subscriptionCount(t); after != before {
				t.Fatalf("a refused subscription was stored: %d subscriptions, was %d", after, before)
			}
		})
		t.Run("update "+tt.url, func(t *testing.T) {
			r := e.do(t, http.MethodPatch, "/webhooks/subscriptions/"+patched.ID, []byte(body), "Content-Type", "application/json")
			if tt.ok {
				if r.status != http.StatusOK {
					t.Fatalf("%d %s, want 200", r.status, r.body)
				}
				return
			}
			wantProblem(t, r, http.StatusBadRequest, "url")
			if got := e.stored(t, patched.ID).URL; got == tt.url {
				t.Fatalf("a refused URL was stored: %s", got)
			}
		})
	}
}

// subscriptionCount returns how many subscriptions GET
// /webhooks/subscriptions lists.
func (e *env) subscriptionCount(t testing.TB) int {
	t.Helper()
	r := e.do(t, http.MethodGet, "/webhooks/subscriptions", nil)
	if r.status != http.StatusOK {
		t.Fatalf("list subscriptions: %d %s", r.status, r.body)
	}
	var page struct{ Data []struct{ ID string } }
	r.json(t, &page)
	return len(page.Data)
}
