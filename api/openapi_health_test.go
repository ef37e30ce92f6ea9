package api_test

import (
	"bytes"
	"net/http"
	"regexp"
	"testing"

	"github.com/invoiced/invoiced/api"
)

// oaRequestIDPattern is the form of a request ID the document states.
var oaRequestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// oaOpenCases are the answers of the operations that need no API key:
// getHealth, getReadiness and getOpenAPIDocument, whose ETag is etag.
func oaOpenCases(etag string) []oaCase {
	return []oaCase{
		oaWith(oaOpen(oaGet("200", "getHealth", "/healthz", http.StatusOK)), oaWant("status", "ok")),
		oaWith(oaHeaders(oaOpen(oaGet("200 with a request ID", "getHealth", "/healthz", http.StatusOK)), "X-Request-ID", "trace-42"), oaWantHeader("X-Request-ID", "trace-42")),
		oaWith(oaHeaders(oaInvalid(oaOpen(oaGet("200 with an unusable request ID", "getHealth", "/healthz", http.StatusOK)), ""), "X-Request-ID", "not usable!"), func(t testing.TB, r oaResult) {
			if id := r.header.Get("X-Request-ID"); id == "" || id == "not usable!" || !oaRequestIDPattern.MatchString(id) {
				t.Fatalf("X-Request-ID %q is no new request ID", id)
			}
		}),
		oaWith(oaOpen(oaGet("200", "getReadiness", "/readyz", http.StatusOK)), oaWant("status", "ready")),
		oaWith(oaOn(oaOpen(oaGet("503 JetStream unreachable", "getReadiness", "/readyz", http.StatusServiceUnavailable)), oaBroken), oaWantHeader("Retry-After", "1")),
		oaWith(oaOpen(oaGet("200", "getOpenAPIDocument", "/openapi.json", http.StatusOK)), func(t testing.TB, r oaResult) {
			if !bytes.Equal(r.body, api.OpenAPIDocument()) {
				t.Fatal("not the embedded document")
			}
		}),
		oaWith(oaHeaders(oaOpen(oaGet("304 not modified", "getOpenAPIDocument", "/openapi.json", http.StatusNotModified)), "If-None-Match", etag), oaWantHeader("ETag", etag)),
	}
}
