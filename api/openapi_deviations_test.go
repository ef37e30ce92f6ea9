package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// oaDeviation is an answer made up to differ from what the service sends in
// one way, or not at all when valid.
type oaDeviation struct {
	name         string
	method, path string
	status       int
	header       http.Header
	body         string
	valid        bool
}

// oaSample makes up valid answers about one ID, and knows its paths.
type oaSample struct {
	id, inv, sub, dlv string
}

func newOASample(id string) oaSample {
	return oaSample{id: id, inv: "/invoices/" + id, sub: "/webhooks/subscriptions/" + id, dlv: "/webhooks/deliveries/" + id}
}

func (b oaSample) invoice(edit string) string {
	return fmt.Sprintf(`{"id":%q,"status":"created","customer_id":"c","amount_cents":1,"currency":"USD","description":"","metadata":{},"created_at":"2024-05-01T00:00:00Z"%s}`, b.id, edit)
}

func (b oaSample) subscription(edit string) string {
	return fmt.Sprintf(`{"id":%q,"account":"default","url":"https://example.com/h","event_types":["invoice.created"],"description":"","status":"enabled","health":{"failing":false},"signing":"hmac","ordering":"none","created_at":"2024-05-01T00:00:00Z","updated_at":"2024-05-01T00:00:00Z"%s}`, b.id, edit)
}

func (b oaSample) delivery(edit string) string {
	return fmt.Sprintf(`{"id":%q,"account":"default","subscription_id":%q,"event_id":%q,"event_type":"invoice.created","invoice_id":%q,"status":"pending","attempts":[],"created_at":"2024-05-01T00:00:00Z","updated_at":"2024-05-01T00:00:00Z"%s}`, b.id, b.id, b.id, b.id, edit)
}

// oaStorageProblem is a valid 507 problem.
const oaStorageProblem = `{"type":"urn:invoiced:problem:insufficient-storage","title":"Insufficient storage","status":507,"detail":"x"}`

// oaNotFoundProblem is a valid 404 problem.
const oaNotFoundProblem = `{"type":"urn:invoiced:problem:not-found","title":"Not found","status":404,"detail":"no invoice"}`

// oaAnswerHeader is the headers of every answer, with contentType, then
// more name and value pairs set, or deleted when the value is empty.
func oaAnswerHeader(contentType string, more ...string) http.Header {
	h := http.Header{}
	for i, kv := 0, append([]string{"Content-Type", contentType, "X-Request-ID", "r-1",
		"X-Content-Type-Options", "nosniff", "Cache-Control", "no-store"}, more...); i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			h.Del(kv[i])
			continue
		}
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// oaJSONHeader is the headers of a JSON answer.
func oaJSONHeader(more ...string) http.Header { return oaAnswerHeader("application/json", more...) }

// oaProblemHeader is the headers of a problem.
func oaProblemHeader(more ...string) http.Header {
	return oaAnswerHeader("application/problem+json", more...)
}

// oaInvoiceDeviations are invoices, and invoices that differ in one way.
func oaInvoiceDeviations(b oaSample) []oaDeviation {
	return []oaDeviation{
		{"an invoice", "GET", b.inv, 200, oaJSONHeader(), b.invoice(""), true},
		{"a processed invoice", "GET", b.inv, 200, oaJSONHeader(), strings.Replace(b.invoice(`,"processed_at":"2024-05-01T00:00:01Z"`), "created", "processed", 1), true},
		{"an unknown status", "GET", b.inv, 200, oaJSONHeader(), strings.Replace(b.invoice(""), "created", "paid", 1), false},
		{"no created_at", "GET", b.inv, 200, oaJSONHeader(), strings.Replace(b.invoice(""), `,"created_at":"2024-05-01T00:00:00Z"`, "", 1), false},
		{"a field more", "GET", b.inv, 200, oaJSONHeader(), b.invoice(`,"secret":"x"`), false},
		{"processed without processed_at", "GET", b.inv, 200, oaJSONHeader(), strings.Replace(b.invoice(""), "created", "processed", 1), false},
		{"created with a failure reason", "GET", b.inv, 200, oaJSONHeader(), b.invoice(`,"failure_reason":"x"`), false},
		{"a timestamp that is no date-time", "GET", b.inv, 200, oaJSONHeader(), strings.Replace(b.invoice(""), "2024-05-01T00:00:00Z", "yesterday", 1), false},
		{"no X-Content-Type-Options", "GET", b.inv, 200, oaJSONHeader("X-Content-Type-Options", ""), b.invoice(""), false},
		{"a cacheable answer", "GET", b.inv, 200, oaJSONHeader("Cache-Control", "max-age=60"), b.invoice(""), false},
		{"no X-Request-ID", "GET", b.inv, 200, oaJSONHeader("X-Request-ID", ""), b.invoice(""), false},
	}
}

// oaProblemDeviations are problems, and problems that differ in one way.
func oaProblemDeviations(b oaSample) []oaDeviation {
	return []oaDeviation{
		{"a problem", "GET", b.inv, 404, oaProblemHeader(), oaNotFoundProblem, true},
		{"a problem as plain JSON", "GET", b.inv, 404, oaJSONHeader(), oaNotFoundProblem, false},
		{"a problem of another kind", "GET", b.inv, 404, oaProblemHeader(), strings.Replace(oaNotFoundProblem, "not-found", "conflict", 1), false},
		{"a problem with fields", "GET", b.inv, 404, oaProblemHeader(), strings.Replace(oaNotFoundProblem, `}`, `,"field":"id","errors":[{"field":"id","detail":"x"}]}`, 1), false},
		{"an undocumented status", "GET", b.inv, 418, oaProblemHeader(), oaNotFoundProblem, false},
		{"a 400 naming a field without errors", "POST", "/invoices", 400, oaProblemHeader(), `{"type":"urn:invoiced:problem:invalid-request","title":"The request is invalid","status":400,"detail":"x","field":"customer_id"}`, false},
		{"a 500 with a detail", "GET", b.inv, 500, oaProblemHeader(), `{"type":"urn:invoiced:problem:internal","title":"Internal error","status":500,"detail":"stored event 7: EOF"}`, false},
		{"a 503 without Retry-After", "GET", b.inv, 503, oaProblemHeader(), `{"type":"urn:invoiced:problem:unavailable","title":"Service unavailable","status":503,"detail":"x"}`, false},
		{"a 401 without WWW-Authenticate", "GET", b.inv, 401, oaProblemHeader(), `{"type":"urn:invoiced:problem:unauthorized","title":"An accepted API key is required","status":401,"detail":"x"}`, false},
	}
}

// oaCreateAndListDeviations are new invoices and pages that differ in one way.
func oaCreateAndListDeviations(b oaSample) []oaDeviation {
	return []oaDeviation{
		{"a 201 without Location", "POST", "/invoices", 201, oaJSONHeader(), b.invoice(""), false},
		{"a 201 replayed as yes", "POST", "/invoices", 201, oaJSONHeader("Location", b.inv, "Idempotent-Replayed", "yes"), b.invoice(""), false},
		{"more without a cursor", "GET", "/invoices", 200, oaJSONHeader(), `{"data":[],"has_more":true}`, false},
		{"a cursor without more", "GET", "/invoices", 200, oaJSONHeader(), `{"data":[],"has_more":false,"next_cursor":"djEuMQ"}`, false},
	}
}

// oaSubscriptionDeviations are subscriptions, and subscriptions that differ
// in one way.
func oaSubscriptionDeviations(b oaSample) []oaDeviation {
	return []oaDeviation{
		{"a subscription", "GET", b.sub, 200, oaJSONHeader(), b.subscription(""), true},
		{"a subscription without its account", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"account":"default",`, "", 1), false},
		{"a subscription with its secret", "GET", b.sub, 200, oaJSONHeader(), b.subscription(`,"secret":"whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="`), false},
		{"a disabled subscription without a reason", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), "enabled", "disabled", 1), false},
		{"a new subscription without its secret", "POST", "/webhooks/subscriptions", 201, oaJSONHeader("Location", b.sub), b.subscription(""), false},
		{"a new subscription", "POST", "/webhooks/subscriptions", 201, oaJSONHeader("Location", b.sub), b.subscription(`,"secret":"whsec_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="`), true},
		{"a new subscription with a secret of 24 bytes", "POST", "/webhooks/subscriptions", 201, oaJSONHeader("Location", b.sub), b.subscription(`,"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`), true},
		{"a new subscription with a secret of 16 bytes", "POST", "/webhooks/subscriptions", 201, oaJSONHeader("Location", b.sub), b.subscription(`,"secret":"whsec_MDEyMzQ1Njc4OTAxMjM0NQ=="`), false},
		{"a failing subscription", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"failing":false`, `"failing":true,"failing_since":"2024-05-01T00:00:00Z"`, 1), true},
		{"failing without since when", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"failing":false`, `"failing":true`, 1), false},
		{"a failing_since while not failing", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"failing":false`, `"failing":false,"failing_since":"2024-05-01T00:00:00Z"`, 1), false},
		{"a subscription without its health", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"health":{"failing":false},`, "", 1), false},
		{"a subscription without its signing", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"signing":"hmac",`, "", 1), false},
		{"a subscription without its ordering", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"ordering":"none",`, "", 1), false},
		{"a subscription ordered per invoice", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"ordering":"none"`, `"ordering":"per_invoice"`, 1), true},
		{"an unknown ordering", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"ordering":"none"`, `"ordering":"fifo"`, 1), false},
		{"an ordering stored empty, shown as it is", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"ordering":"none"`, `"ordering":""`, 1), false},
		{"an ed25519 subscription without its public keys", "GET", b.sub, 200, oaJSONHeader(), strings.Replace(b.subscription(""), `"hmac"`, `"ed25519"`, 1), false},
		{"an hmac subscription with public keys", "GET", b.sub, 200, oaJSONHeader(),
			b.subscription(`,"public_keys":[{"key":"whpk_MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=","kid":"AAAAAAAAAAAAAAAA","kty":"OKP","crv":"Ed25519","x":"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE","use":"sig","alg":"EdDSA","created_at":"2024-05-01T00:00:00Z"}]`), false},
		{"a page of subscriptions", "GET", "/webhooks/subscriptions", 200, oaJSONHeader(), `{"data":[` + b.subscription("") + `],"has_more":true,"next_cursor":"czEuMS54"}`, true},
		{"a page of subscriptions without has_more", "GET", "/webhooks/subscriptions", 200, oaJSONHeader(), `{"data":[` + b.subscription("") + `]}`, false},
		{"a weak secret as a 400", "POST", "/webhooks/subscriptions", 422, oaProblemHeader(), `{"type":"urn:invoiced:problem:weak-secret","title":"The signing secret is too weak","status":422,"detail":"x","field":"secret","errors":[{"field":"secret","detail":"x"}]}`, false},
	}
}

// oaDeliveryDeviations are deliveries, and deliveries and readiness answers
// that differ in one way.
func oaDeliveryDeviations(b oaSample) []oaDeviation {
	return []oaDeviation{
		{"a delivery", "GET", b.dlv, 200, oaJSONHeader(), b.delivery(""), true},
		{"a listed delivery with its payload", "GET", "/webhooks/deliveries", 200, oaJSONHeader(), `{"data":[` + b.delivery(`,"payload":{}`) + `],"has_more":false}`, false},
		{"a payload that contradicts its type", "GET", b.dlv, 200, oaJSONHeader(), b.delivery(`,"payload":{"type":"invoice.created","timestamp":"2024-05-01T00:00:00Z","data":` +
			strings.Replace(b.invoice(`,"processed_at":"2024-05-01T00:00:01Z"`), "created", "processed", 1) + `}`), false},
		{"readiness as a problem", "GET", "/readyz", 503, oaProblemHeader("Retry-After", "1"), `{"type":"urn:invoiced:problem:unavailable","title":"Service unavailable","status":503}`, false},
		{"a test event's payload", "GET", b.dlv, 200, oaJSONHeader(), b.delivery(`,"payload":{"type":"invoice.created","timestamp":"2024-05-01T00:00:00Z","test":true,"data":` + b.invoice("") + `}`), true},
		{"a payload saying it is no test", "GET", b.dlv, 200, oaJSONHeader(), b.delivery(`,"payload":{"type":"invoice.created","timestamp":"2024-05-01T00:00:00Z","test":false,"data":` + b.invoice("") + `}`), false},
		{"a storage refusal", "POST", "/invoices", 507, oaProblemHeader("Retry-After", "30"), oaStorageProblem, true},
		{"a storage refusal without Retry-After", "POST", "/invoices", 507, oaProblemHeader(), oaStorageProblem, false},
		{"a storage refusal of a read", "GET", "/invoices", 507, oaProblemHeader("Retry-After", "30"), oaStorageProblem, false},
	}
}

// TestOpenAPIValidationCatchesDeviations makes sure the document, as
// kin-openapi reads it, refuses answers that differ from what the service
// sends in one way each, the OpenAPI 3.1 constructs included, so that the
// replay's passing means something.
func TestOpenAPIValidationCatchesDeviations(t *testing.T) {
	s := loadOASpec(t)
	b := newOASample(uuid.NewString())
	tests := slices.Concat(oaInvoiceDeviations(b), oaProblemDeviations(b), oaCreateAndListDeviations(b),
		oaSubscriptionDeviations(b), oaDeliveryDeviations(b))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.answer(t, tt.method, tt.path, tt.status, tt.header, tt.body)
			switch {
			case tt.valid && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.valid && err == nil:
				t.Fatal("the document accepts it")
			}
		})
	}
}
