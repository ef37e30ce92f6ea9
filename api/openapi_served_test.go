package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/invoiced/invoiced/api"
)

// TestOpenAPIServesTheEmbeddedDocument checks that GET /openapi.json serves
// exactly internal/contract/openapi/openapi.json, needs no key, and can be revalidated.
func TestOpenAPIServesTheEmbeddedDocument(t *testing.T) {
	srv := httptest.NewServer(api.NewHandler(api.Resources{}))
	t.Cleanup(srv.Close)
	get := func(t testing.TB, header ...string) oaResult {
		t.Helper()
		return oaSend(t, srv, oaCase{method: http.MethodGet, path: "/openapi.json", auth: "-", header: header})
	}
	file, err := os.ReadFile("../internal/contract/openapi/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	r := get(t)
	if r.status != http.StatusOK || !bytes.Equal(r.body, api.OpenAPIDocument()) || !bytes.Equal(r.body, file) {
		t.Fatalf("%d: the body is not internal/contract/openapi/openapi.json as embedded", r.status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Fatalf("Cache-Control %q", cc)
	}
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		if r := get(t, "If-None-Match", inm); r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != etag {
			t.Fatalf("If-None-Match %s: %d %v", inm, r.status, r.header)
		}
	}
	if r := get(t, "If-None-Match", `"stale"`); r.status != http.StatusOK {
		t.Fatalf("a stale ETag: %d", r.status)
	}
	// The document served must be this one even without an API key, which
	// it does not need.
	withAuth := httptest.NewServer(api.NewHandler(api.Resources{Auth: oaAuth(t, oaKey, 0)}))
	t.Cleanup(withAuth.Close)
	if r := oaSend(t, withAuth, oaCase{method: http.MethodGet, path: "/openapi.json", auth: "-"}); r.status != http.StatusOK {
		t.Fatalf("without a key: %d", r.status)
	}
}
