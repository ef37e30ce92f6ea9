package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestQueryStringsAreParsedStrictly sends, over HTTP, query strings that
// do not parse, or name a parameter twice or without a name, to every
// route that reads one: each is refused with a 400 problem, never read as
// far as it parses.
func TestQueryStringsAreParsedStrictly(t *testing.T) {
	srv := httptest.NewServer(surfaceHandler(t))
	t.Cleanup(srv.Close)
	get := func(t *testing.T, target string) response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer fuzz-key")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return response{status: res.StatusCode, header: res.Header, body: body}
	}
	queries := []struct {
		name, query, field, detail string
	}{
		{"a semicolon separator", "status=failed;status=processed", "", "semicolon"},
		{"a semicolon after a valid pair", "limit=5;", "", "semicolon"},
		{"a bad escape in a value", "status=%zz", "", "escape"},
		{"a bad escape in a name", "%zz=1", "", "escape"},
		{"a truncated escape", "limit=1%2", "", "escape"},
		{"a repeated status", "status=failed&status=processed", "status", "once"},
		{"a repeated limit", "limit=1&limit=1", "limit", "once"},
		{"a parameter without a name", "=failed", "", "name"},
	}
	for _, path := range []string{"/invoices", "/webhooks/deliveries"} {
		if r := get(t, path+"?limit=1"); r.status != http.StatusOK {
			t.Fatalf("GET %s?limit=1: %d %s", path, r.status, r.body)
		}
		for _, q := range queries {
			t.Run(path+"/"+q.name, func(t *testing.T) {
				p := wantProblem(t, get(t, path+"?"+q.query), http.StatusBadRequest, q.field)
				if !strings.Contains(p.Detail, q.detail) {
					t.Fatalf("detail %q does not mention %q", p.Detail, q.detail)
				}
			})
		}
	}
}
