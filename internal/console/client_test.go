package console

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
)

// fakeAPI answers as the API does: JSON on success, a problem otherwise,
// and 401 without the right key.
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
	r.Get("/things/{id}", func(w http.ResponseWriter, req *http.Request) {
		_, _ = w.Write([]byte(`{"id":"` + chi.URLParam(req, "id") + `"}`))
	})
	r.Post("/broken", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "not json", http.StatusBadGateway)
	})
	r.Post("/invalid", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"title":"The request is invalid","status":400,"detail":"url: is required","errors":[{"field":"url","detail":"is required"}]}`))
	})
	return r
}

func TestAPIClientCallsInProcess(t *testing.T) {
	a := &apiClient{handler: fakeAPI()}
	// The console itself runs under a chi router: the API must route afresh.
	outer := chi.NewRouteContext()
	outer.URLParams.Add("id", "the console's")
	outer.RoutePath = "/console/x"
	ctx := context.WithValue(context.Background(), chi.RouteCtxKey, outer)
	right := caller{key: "right", requestID: "console-1"}
	cases := []struct {
		name    string
		who     caller
		method  string
		path    string
		wantID  string
		status  int
		field   string
		wantErr bool
	}{
		{"an escaped ID stays one segment", right, http.MethodGet, "/things/a%2Fb", "a%2Fb", 0, "", false},
		{"wrong key", caller{key: "wrong", requestID: "console-1"}, http.MethodGet, "/things/1", "", 401, "", true},
		{"problem", right, http.MethodPost, "/invalid", "", 400, "url", true},
		{"not a problem", right, http.MethodPost, "/broken", "", 502, "", true},
		{"unknown route", right, http.MethodGet, "/nothing", "", 404, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out struct{ ID string }
			err := a.do(ctx, c.who, c.method, c.path, map[string]string{}, &out)
			var ae *apiError
			switch {
			case !c.wantErr && err != nil:
				t.Fatal(err)
			case !c.wantErr && out.ID != c.wantID:
				t.Fatalf("id %q, want %q", out.ID, c.wantID)
			case c.wantErr && !errors.As(err, &ae):
				t.Fatalf("error %v, want an API problem", err)
			case c.wantErr && (ae.Status != c.status || ae.Problem.Title == ""):
				t.Fatalf("problem %+v, want status %d with a title", ae, c.status)
			case c.field != "" && (len(ae.Problem.Errors) != 1 || ae.Problem.Errors[0].Field != c.field):
				t.Fatalf("fields %+v", ae.Problem.Errors)
			}
		})
	}
}
