package api

import (
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"testing"
)

// validBase is the smallest body that passes validation.
const validBase = `{"customer_id":"cus_1","amount_cents":2500}`

// bodyWith returns validBase with the given top-level fields set (a value of
// type json.RawMessage is sent as is) and the named fields removed.
func bodyWith(t testing.TB, set map[string]any, remove ...string) []byte {
	t.Helper()
	m := map[string]any{"customer_id": "cus_1", "amount_cents": 2500}
	maps.Copy(m, set)
	for _, k := range remove {
		delete(m, k)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("marshal body: %v", err)
	}
	return b
}

// metadataOf returns n distinct metadata pairs.
func metadataOf(n int) map[string]string {
	md := make(map[string]string, n)
	for i := range n {
		md["k"+strconv.Itoa(i)] = "v" + strconv.Itoa(i)
	}
	return md
}

// mustDecode decodes a body that must be valid.
func mustDecode(t testing.TB, body []byte) invoiceRequest {
	t.Helper()
	req, err := decodeInvoiceRequest(body)
	if err != nil {
		t.Fatalf("decodeInvoiceRequest(%.80q) = %v, want no error", body, err)
	}
	return req
}

// fieldsOf checks that err is an invalid-request error and returns the
// fields its ValidationError names, or nil when it has none.
func fieldsOf(t testing.TB, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("got no error, want one matching ErrInvalid")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v does not match ErrInvalid", err)
	}
	var v *ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	if len(v.Fields) == 0 {
		t.Fatalf("ValidationError %v lists no fields", err)
	}
	fields := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		if f.Detail == "" {
			t.Errorf("field %q has an empty detail", f.Field)
		}
		fields[i] = f.Field
	}
	return fields
}
