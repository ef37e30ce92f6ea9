package api

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"

	"github.com/invoiced/invoiced/internal/contract/openapi"
)

// openAPIDocument is the OpenAPI 3.1 description of the HTTP API, kept true
// by the openapi_*_test.go files, which replay every documented answer
// against it.
var openAPIDocument = openapi.Document()

// openAPIETag is the strong entity tag of openAPIDocument.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDocument)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}()

// OpenAPIDocument returns a copy of the OpenAPI 3.1 document that GET
// /openapi.json serves.
func OpenAPIDocument() []byte { return slices.Clone(openAPIDocument) }

// ServeOpenAPI answers GET /openapi.json with the OpenAPI 3.1 document of
// the API. Caches may keep it for five minutes and then revalidate it with
// its ETag; If-None-Match with that tag is answered 304.
func ServeOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", openAPIETag)
	if etagMatches(r.Header.Values("If-None-Match"), openAPIETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBody(w, http.StatusOK, openAPIDocument)
}

// etagMatches reports whether an If-None-Match header, given as its values,
// names etag or "*" (RFC 9110, section 13.1.2: weak comparison).
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for tag := range strings.SplitSeq(v, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == "*" || tag == etag {
				return true
			}
		}
	}
	return false
}
