package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// schema returns the components' schema name.
func (s *oaSpec) schema(t testing.TB, name string) *openapi3.Schema {
	t.Helper()
	ref := s.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		t.Fatalf("no schema %s", name)
	}
	return ref.Value
}

// param returns the schema of the components' parameter name.
func (s *oaSpec) param(t testing.TB, name string) *openapi3.Schema {
	t.Helper()
	ref := s.doc.Components.Parameters[name]
	if ref == nil || ref.Value == nil || ref.Value.Schema == nil {
		t.Fatalf("no parameter %s", name)
	}
	return ref.Value.Schema.Value
}

// oaMaxLen is sc's maxLength, or -1.
func oaMaxLen(sc *openapi3.Schema) int {
	if sc.MaxLength == nil {
		return -1
	}
	return int(*sc.MaxLength)
}

// oaMaxProps is sc's maxProperties, or -1.
func oaMaxProps(sc *openapi3.Schema) int {
	if sc.MaxProps == nil {
		return -1
	}
	return int(*sc.MaxProps)
}

// oaMaxItems is sc's maxItems, or -1.
func oaMaxItems(sc *openapi3.Schema) int {
	if sc.MaxItems == nil {
		return -1
	}
	return int(*sc.MaxItems)
}

// oaStrings formats each of values.
func oaStrings(values []any) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = fmt.Sprint(v)
	}
	return out
}

// oaLimit is a limit or an enumeration: what the document states, and what
// the code enforces.
type oaLimit struct {
	name      string
	got, want any
}

// oaLimits are the limits and enumerations the document states, each with
// the code's.
func oaLimits(t testing.TB, s *oaSpec) []oaLimit {
	t.Helper()
	create := s.schema(t, "InvoiceCreate").Properties
	md := create["metadata"].Value
	fields := s.schema(t, "DeliveryFields").Properties
	attempt := s.schema(t, "Attempt").Properties
	limit := s.param(t, "Limit")
	return []oaLimit{
		{"customer_id length", oaMaxLen(s.schema(t, "CustomerID")), api.MaxCustomerIDLen},
		{"amount_cents maximum", *create["amount_cents"].Value.Max, float64(api.MaxAmountCents)},
		{"currency default", create["currency"].Value.Default, api.DefaultCurrency},
		{"description length", oaMaxLen(create["description"].Value), api.MaxDescriptionLen},
		{"metadata pairs", oaMaxProps(md), api.MaxMetadataPairs},
		{"metadata key length", oaMaxLen(md.PropertyNames.Value), api.MaxMetadataKeyLen},
		{"metadata value length", oaMaxLen(md.AdditionalProperties.Schema.Value), api.MaxMetadataValueLen},
		{"Idempotency-Key length", oaMaxLen(s.param(t, "IdempotencyKey")), api.MaxIdempotencyKeyLen},
		{"limit maximum", *limit.Max, float64(api.MaxListLimit)},
		{"limit default", limit.Default, float64(api.DefaultListLimit)},
		{"url length", oaMaxLen(s.schema(t, "SubscriptionURL")), api.MaxURLLen},
		{"subscription description length", oaMaxLen(s.schema(t, "SubscriptionDescription")), api.MaxSubscriptionDescriptionLen},
		{"event types", oaStrings(s.schema(t, "EventType").Enum), webhook.EventTypes},
		{"delivery statuses", oaStrings(s.schema(t, "DeliveryStatus").Enum), webhook.DeliveryStatuses},
		{"attempts kept", oaMaxItems(fields["attempts"].Value), webhook.MaxAttempts},
		{"attempt triggers", oaStrings(attempt["trigger"].Value.Enum), []string{webhook.TriggerScheduled, webhook.TriggerManual}},
		{"response body kept", oaMaxLen(attempt["response_body"].Value), webhook.MaxResponseBody},
		{"invoice statuses", oaStrings(s.schema(t, "InvoiceStatus").Enum),
			[]string{string(events.StatusCreated), string(events.StatusProcessed), string(events.StatusFailed)}},
		{"body limit in prose", strings.Contains(*s.doc.Components.Responses["BodyTooLarge"].Value.Description, fmt.Sprint(api.MaxBodyBytes)), true},
		{"secret sizes in prose", strings.Contains(s.schema(t, "SubscriptionCreate").Properties["secret"].Value.Description,
			fmt.Sprintf("%d to %d random bytes", webhook.MinSecretBytes, webhook.MaxSecretBytes)), true},
	}
}

// TestOpenAPIStatesTheLimits compares the limits and enumerations the
// document states with the ones the code enforces, so neither changes
// alone.
func TestOpenAPIStatesTheLimits(t *testing.T) {
	s := loadOASpec(t)
	for _, tt := range oaLimits(t, s) {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: the document says %v, the code %v", tt.name, tt.got, tt.want)
		}
	}
	oaCheckCurrencies(t, oaStrings(s.schema(t, "InvoiceCreate").Properties["currency"].Value.Enum))
}

// oaCheckCurrencies checks that every currency the document lists, codes,
// is one the service takes.
func oaCheckCurrencies(t testing.TB, codes []string) {
	t.Helper()
	e := newEnv(t, envOptions{})
	if len(codes) < 150 || !slices.Contains(codes, api.DefaultCurrency) {
		t.Fatalf("currencies %v", codes)
	}
	for _, code := range codes {
		r := e.post(t, "currency-"+code, fmt.Sprintf(`{"customer_id":"c","amount_cents":1,"currency":%q}`, code))
		if r.status != http.StatusCreated {
			t.Errorf("currency %s: %d %s", code, r.status, r.body)
		}
	}
}
