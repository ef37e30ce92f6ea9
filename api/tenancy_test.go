package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/api"
)

// asCallers makes e's server admit each request as the account its
// X-Account header names, an operator when X-Operator is set.
func asCallers(e *env) {
	inner := e.http.Config.Handler
	e.http.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := api.Caller{Account: r.Header.Get("X-Account"), Operator: r.Header.Get("X-Operator") != ""}
		inner.ServeHTTP(w, r.WithContext(api.WithCaller(r.Context(), c)))
	})
}

func TestAnInvoiceIsItsAccountsAlone(t *testing.T) {
	e := newEnv(t, envOptions{})
	asCallers(e)
	r := e.do(t, http.MethodPost, "/invoices", []byte(body2500),
		"Content-Type", "application/json", "Idempotency-Key", "k-1", "X-Account", "acme")
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var inv struct {
		ID      string `json:"id"`
		Account string `json:"account"`
	}
	r.json(t, &inv)
	if inv.Account != "acme" {
		t.Fatalf("account %q, want acme", inv.Account)
	}
	for _, tt := range []struct {
		who    []string
		status int
	}{
		{[]string{"X-Account", "acme"}, http.StatusOK},
		{[]string{"X-Account", "globex"}, http.StatusNotFound},
		{[]string{"X-Account", "ops", "X-Operator", "1"}, http.StatusOK},
	} {
		got := e.do(t, http.MethodGet, "/invoices/"+inv.ID, nil, tt.who...)
		if got.status != tt.status {
			t.Errorf("%v: %d %s, want %d", tt.who, got.status, got.body, tt.status)
		}
		if got.status == http.StatusNotFound && got.body != nil {
			absent := e.do(t, http.MethodGet, "/invoices/00000000-0000-4000-8000-000000000000", nil, tt.who...)
			if string(absent.body) == "" || len(absent.body) != len(got.body) {
				t.Errorf("another account's invoice answers unlike an absent one: %s / %s", got.body, absent.body)
			}
		}
	}
}

func TestASubscriptionIsItsAccountsAlone(t *testing.T) {
	e := newEnv(t, envOptions{})
	asCallers(e)
	acme, globex, ops := []string{"X-Account", "acme"}, []string{"X-Account", "globex"}, []string{"X-Account", "ops", "X-Operator", "1"}
	send := func(method, path, body string, who []string) response {
		return e.do(t, method, path, []byte(body), append([]string{"Content-Type", "application/json"}, who...)...)
	}
	created := send(http.MethodPost, "/webhooks/subscriptions", `{"url":"http://127.0.0.1:9/hook"}`, acme)
	var sub struct {
		ID      string `json:"id"`
		Account string `json:"account"`
	}
	created.json(t, &sub)
	if created.status != http.StatusCreated || sub.Account != "acme" {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	path := "/webhooks/subscriptions/" + sub.ID
	for _, tt := range []struct{ method, path, body string }{
		{http.MethodGet, path, ""},
		{http.MethodPatch, path, `{"url":"http://127.0.0.1:9/stolen"}`},
		{http.MethodPost, path + "/rotate-secret", ""},
		{http.MethodPost, path + "/test", `{}`},
		{http.MethodDelete, path, ""},
	} {
		if got := send(tt.method, tt.path, tt.body, globex); got.status != http.StatusNotFound {
			t.Errorf("another account's %s %s: %d %s, want 404", tt.method, tt.path, got.status, got.body)
		}
	}
	if got := send(http.MethodGet, "/webhooks/subscriptions", "", globex); got.status != http.StatusOK || string(got.body) != `{"data":[],"has_more":false}` {
		t.Errorf("another account's list: %d %s", got.status, got.body)
	}
	if got := send(http.MethodGet, path, "", acme); got.status != http.StatusOK || !strings.Contains(string(got.body), "/hook") {
		t.Errorf("after another account's attempts: %d %s", got.status, got.body)
	}
	if got := send(http.MethodPatch, path, `{"account":"globex"}`, acme); got.status != http.StatusBadRequest {
		t.Errorf("an account gives its subscription away: %d %s", got.status, got.body)
	}
	if got := send(http.MethodPatch, path, `{"account":"globex"}`, ops); got.status != http.StatusOK {
		t.Fatalf("an operator moves it: %d %s", got.status, got.body)
	}
	if got := send(http.MethodGet, path, "", globex); got.status != http.StatusOK {
		t.Errorf("its new account: %d %s", got.status, got.body)
	}
	if got := send(http.MethodGet, path, "", acme); got.status != http.StatusNotFound {
		t.Errorf("its old account: %d %s", got.status, got.body)
	}
}
