package console

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/invoiced/invoiced/client"
)

// fakeAPI answers as the API does: JSON on success, a problem otherwise,
// and 401 without the right key and the console's request ID. A
// subscription it shows names, as its description, the caller's address.
func fakeAPI() http.Handler {
	r := chi.NewRouter()
	r.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Header.Get("Authorization") != "Bearer right" || req.Header.Get("X-Request-ID") != "console-1" {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"type":"urn:invoiced:problem:unauthorized","title":"An accepted API key is required","status":401}`))
				return
			}
			next.ServeHTTP(w, req)
		})
	})
	r.Get("/webhooks/subscriptions/{id}", func(w http.ResponseWriter, req *http.Request) {
		_, _ = w.Write([]byte(`{"id":"` + chi.URLParam(req, "id") + `","description":"` + req.RemoteAddr + `"}`))
	})
	r.Post("/webhooks/subscriptions", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"type":"urn:invoiced:problem:invalid-request","title":"The request is invalid","status":400,` +
			`"detail":"url: is required","errors":[{"field":"url","detail":"is required"}]}`))
	})
	r.Post("/webhooks/deliveries/{id}/retry", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not json", http.StatusBadGateway)
	})
	return r
}

// browserRequest returns a request of the console's, from addr, as it
// reaches a handler: under the console's router, with its request ID.
func browserRequest(addr string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/console/x", nil)
	r.RemoteAddr = addr
	// The console itself runs under a chi router: the API must route afresh.
	outer := chi.NewRouteContext()
	outer.URLParams.Add("id", "the console's")
	outer.RoutePath = "/console/x"
	ctx := context.WithValue(r.Context(), chi.RouteCtxKey, outer)
	ctx = context.WithValue(ctx, reqStateKey{}, reqState{requestID: "console-1"})
	return r.WithContext(ctx)
}

// TestCallsTheAPIInProcess calls a handler through the console's client:
// each call carries the key, the request ID and the browser's address, is
// routed by the API's own router, and every refusal is a *client.Error as
// the API put it.
func TestCallsTheAPIInProcess(t *testing.T) {
	c := &Console{apiHandler: fakeAPI()}
	r := browserRequest("203.0.113.9:4000")
	right := c.callerWith(r, "right")

	sub, err := right.api.GetSubscription(r.Context(), "a/b", right.id)
	switch {
	case err != nil:
		t.Fatal(err)
	case sub.ID != "a%2Fb": // an escaped ID stays one segment
		t.Fatalf("id %q", sub.ID)
	case sub.Description != "203.0.113.9:4000":
		t.Fatalf("the API saw the call from %q", sub.Description)
	}

	cases := []struct {
		name   string
		call   func() error
		status int
		field  string
	}{
		{"wrong key", func() error {
			who := c.callerWith(r, "wrong")
			_, err := who.api.GetSubscription(r.Context(), "1", who.id)
			return err
		}, http.StatusUnauthorized, ""},
		{"a key that cannot be sent", func() error {
			who := c.callerWith(r, "right\nX-Other: 1")
			_, err := who.api.GetSubscription(r.Context(), "1", who.id)
			return err
		}, http.StatusUnauthorized, ""},
		{"problem", func() error {
			_, err := right.api.CreateSubscription(r.Context(), client.SubscriptionParams{}, right.id)
			return err
		}, http.StatusBadRequest, "url"},
		{"not a problem", func() error {
			_, err := right.api.RetryDelivery(r.Context(), "d1", right.id)
			return err
		}, http.StatusBadGateway, ""},
		{"unknown route", func() error {
			_, err := right.api.GetInvoice(r.Context(), "i1", right.id)
			return err
		}, http.StatusNotFound, ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var ae *client.Error
			err := tt.call()
			switch {
			case !errors.As(err, &ae):
				t.Fatalf("error %v, want an answer of the API", err)
			case ae.Status != tt.status || ae.Title == "":
				t.Fatalf("answer %+v, want status %d with a title", ae, tt.status)
			case tt.field != "" && (len(ae.Errors) != 1 || ae.Field != tt.field):
				t.Fatalf("fields %+v", ae.Errors)
			}
		})
	}
}
