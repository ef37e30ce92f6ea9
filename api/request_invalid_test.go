package api

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// invalidRequestCase is a body decodeInvoiceRequest must refuse.
type invalidRequestCase struct {
	name string
	body []byte
	// fields are the fields the error must name, in order; nil means the
	// body as a whole is at fault and no field may be named.
	fields []string
}

// invalidRequestCases are bodies that break one rule or another.
func invalidRequestCases(t testing.TB) []invalidRequestCase {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	return []invalidRequestCase{
		// customer_id
		{"customer_id missing", bodyWith(t, nil, "customer_id"), []string{"customer_id"}},
		{"customer_id null", bodyWith(t, map[string]any{"customer_id": nil}), []string{"customer_id"}},
		{"customer_id empty", bodyWith(t, map[string]any{"customer_id": ""}), []string{"customer_id"}},
		{"customer_id 256 ASCII characters", bodyWith(t, map[string]any{"customer_id": strings.Repeat("a", 256)}), []string{"customer_id"}},
		{"customer_id 256 multi-byte runes", bodyWith(t, map[string]any{"customer_id": strings.Repeat("é", 256)}), []string{"customer_id"}},
		{"customer_id NUL", bodyWith(t, map[string]any{"customer_id": "cus\x001"}), []string{"customer_id"}},
		{"customer_id BEL", bodyWith(t, map[string]any{"customer_id": "cus\a1"}), []string{"customer_id"}},
		{"customer_id DEL", bodyWith(t, map[string]any{"customer_id": "cus\x7f1"}), []string{"customer_id"}},
		{"customer_id C1 control", bodyWith(t, map[string]any{"customer_id": "cus\u00851"}), []string{"customer_id"}},
		{"customer_id number", bodyWith(t, map[string]any{"customer_id": 42}), []string{"customer_id"}},
		// amount_cents
		{"amount_cents missing", bodyWith(t, nil, "amount_cents"), []string{"amount_cents"}},
		{"amount_cents null", bodyWith(t, map[string]any{"amount_cents": nil}), []string{"amount_cents"}},
		{"amount_cents 0", bodyWith(t, map[string]any{"amount_cents": 0}), []string{"amount_cents"}},
		{"amount_cents -1", bodyWith(t, map[string]any{"amount_cents": -1}), []string{"amount_cents"}},
		{"amount_cents 10^12+1", bodyWith(t, map[string]any{"amount_cents": raw("1000000000001")}), []string{"amount_cents"}},
		{"amount_cents fraction", bodyWith(t, map[string]any{"amount_cents": raw("2500.5")}), []string{"amount_cents"}},
		{"amount_cents string", bodyWith(t, map[string]any{"amount_cents": "2500"}), []string{"amount_cents"}},
		{"amount_cents 1e30", bodyWith(t, map[string]any{"amount_cents": raw("1e30")}), []string{"amount_cents"}},
		{"amount_cents beyond int64", bodyWith(t, map[string]any{"amount_cents": raw("9223372036854775808")}), []string{"amount_cents"}},
		{"amount_cents bool", bodyWith(t, map[string]any{"amount_cents": true}), []string{"amount_cents"}},
		// currency
		{"currency lowercase", bodyWith(t, map[string]any{"currency": "usd"}), []string{"currency"}},
		{"currency two letters", bodyWith(t, map[string]any{"currency": "US"}), []string{"currency"}},
		{"currency not ISO 4217", bodyWith(t, map[string]any{"currency": "XYZ"}), []string{"currency"}},
		{"currency empty", bodyWith(t, map[string]any{"currency": ""}), []string{"currency"}},
		{"currency four letters", bodyWith(t, map[string]any{"currency": "USDX"}), []string{"currency"}},
		{"currency padded", bodyWith(t, map[string]any{"currency": " USD"}), []string{"currency"}},
		{"currency number", bodyWith(t, map[string]any{"currency": 840}), []string{"currency"}},
		// description
		{"description 1001 characters", bodyWith(t, map[string]any{"description": strings.Repeat("d", 1001)}), []string{"description"}},
		{"description 1001 multi-byte runes", bodyWith(t, map[string]any{"description": strings.Repeat("ü", 1001)}), []string{"description"}},
		{"description control character", bodyWith(t, map[string]any{"description": "bad\x1bcolor"}), []string{"description"}},
		{"description number", bodyWith(t, map[string]any{"description": 5}), []string{"description"}},
		// metadata
		{"metadata 21 pairs", bodyWith(t, map[string]any{"metadata": metadataOf(21)}), []string{"metadata"}},
		{"metadata key of 41 characters", bodyWith(t, map[string]any{"metadata": map[string]string{strings.Repeat("k", 41): "v"}}), []string{"metadata"}},
		{"metadata empty key", bodyWith(t, map[string]any{"metadata": map[string]string{"": "v"}}), []string{"metadata"}},
		{"metadata key with control character", bodyWith(t, map[string]any{"metadata": map[string]string{"a\tb": "v"}}), []string{"metadata"}},
		{"metadata value of 501 characters", bodyWith(t, map[string]any{"metadata": map[string]string{"k": strings.Repeat("v", 501)}}), []string{"metadata.k"}},
		{"metadata value with control character", bodyWith(t, map[string]any{"metadata": map[string]string{"k": "v\x00"}}), []string{"metadata.k"}},
		{"metadata non-string value", bodyWith(t, map[string]any{"metadata": map[string]any{"k": 1}}), []string{"metadata"}},
		{"metadata nested object value", bodyWith(t, map[string]any{"metadata": map[string]any{"k": map[string]string{}}}), []string{"metadata"}},
		{"metadata array", bodyWith(t, map[string]any{"metadata": []string{"a"}}), []string{"metadata"}},
		{"metadata string", bodyWith(t, map[string]any{"metadata": "a=b"}), []string{"metadata"}},
		// several rules at once are all reported, in field order
		{"several fields", []byte(`{"customer_id":"","amount_cents":0,"currency":"usd","description":"` + strings.Repeat("d", 1001) + `","metadata":{"k":"` + strings.Repeat("v", 501) + `"}}`),
			[]string{"customer_id", "amount_cents", "currency", "description", "metadata.k"}},
		{"metadata problems in key order", bodyWith(t, map[string]any{"metadata": map[string]string{"b": strings.Repeat("v", 501), "a": "\x01"}}),
			[]string{"metadata.a", "metadata.b"}},
		{"null body", []byte(`null`), []string{"customer_id", "amount_cents"}},
		{"empty object", []byte(`{}`), []string{"customer_id", "amount_cents"}},
		// shape of the body
		{"unknown top-level field", bodyWith(t, map[string]any{"amount": 1}), []string{"amount"}},
		{"case-variant name", []byte(`{"CUSTOMER_ID":"a","amount_cents":5}`), []string{"CUSTOMER_ID"}},
		{"case-variant overriding", []byte(`{"customer_id":"a","amount_cents":5,"AMOUNT_CENTS":7}`), []string{"AMOUNT_CENTS"}},
		{"duplicate key", []byte(`{"customer_id":"a","amount_cents":5,"amount_cents":7}`), []string{"amount_cents"}},
		{"duplicate metadata key", []byte(`{"customer_id":"a","amount_cents":5,"metadata":{"k":"1","k":"2"}}`), []string{"metadata.k"}},
		{"empty top-level key", []byte(`{"customer_id":"a","amount_cents":5,"":1}`), []string{"(empty key)"}},
		{"customer_id with tab", []byte(`{"customer_id":"a\tb","amount_cents":5}`), []string{"customer_id"}},
		{"customer_id with newline", []byte(`{"customer_id":"a\nb","amount_cents":5}`), []string{"customer_id"}},
		{"blank customer_id", []byte(`{"customer_id":"   ","amount_cents":5}`), []string{"customer_id"}},
		{"null currency", []byte(`{"customer_id":"a","amount_cents":5,"currency":null}`), []string{"currency"}},
		{"null description", []byte(`{"customer_id":"a","amount_cents":5,"description":null}`), []string{"description"}},
		{"null metadata", []byte(`{"customer_id":"a","amount_cents":5,"metadata":null}`), []string{"metadata"}},
		{"null metadata value", []byte(`{"customer_id":"a","amount_cents":5,"metadata":{"k":null}}`), []string{"metadata.k"}},
		{"unknown field status", bodyWith(t, map[string]any{"status": "processed"}), []string{"status"}},
		{"malformed JSON", []byte(`{"customer_id":"cus_1","amount_cents":}`), nil},
		{"missing colon", []byte(`{"customer_id" "cus_1"}`), nil},
		{"truncated JSON", []byte(`{"customer_id":"cus_1","amount_cents":25`), nil},
		{"single quotes", []byte(`{'customer_id':'cus_1'}`), nil},
		{"empty body", nil, nil},
		{"zero-length body", []byte{}, nil},
		{"whitespace body", []byte(" \t\r\n "), nil},
		{"JSON array", []byte(`[` + validBase + `]`), nil},
		{"empty JSON array", []byte(`[]`), nil},
		{"JSON string", []byte(`"cus_1"`), nil},
		{"JSON number", []byte(`2500`), nil},
		{"trailing object", []byte(validBase + `{}`), nil},
		{"trailing object after space", []byte(validBase + "\n{}"), nil},
		{"trailing garbage", []byte(validBase + ` x`), nil},
		{"trailing number", []byte(validBase + ` 1`), nil},
		{"trailing close brace", []byte(validBase + `}`), nil},
		{"invalid UTF-8 in a value", []byte(`{"customer_id":"cus_` + "\xff\xfe" + `","amount_cents":2500}`), nil},
		{"invalid UTF-8 in a key", []byte(`{"customer_id":"cus_1","amount_cents":2500,"metadata":{"` + "\xc3" + `":"v"}}`), nil},
		{"invalid UTF-8 outside strings", []byte(validBase + " \xff"), nil},
		{"UTF-8 encoded surrogate", []byte(`{"customer_id":"` + "\xed\xa0\x80" + `","amount_cents":2500}`), nil},
	}
}

func TestDecodeInvoiceRequestInvalid(t *testing.T) {
	for _, tt := range invalidRequestCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeInvoiceRequest(tt.body)
			got := fieldsOf(t, err)
			if !slices.Equal(got, tt.fields) {
				t.Errorf("error %q names fields %q, want %q", err, got, tt.fields)
			}
		})
	}
}

func TestDecodeInvoiceRequestFieldDetail(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		detail string // a substring the first field's detail must hold
	}{
		{"required", bodyWith(t, nil, "customer_id"), "required"},
		{"empty", bodyWith(t, map[string]any{"customer_id": ""}), "empty"},
		{"too long counts runes", bodyWith(t, map[string]any{"customer_id": strings.Repeat("é", 256)}), "not 256"},
		{"amount range", bodyWith(t, map[string]any{"amount_cents": 0}), "between 1 and 1000000000000"},
		{"wrong type", bodyWith(t, map[string]any{"amount_cents": "2500"}), "integer"},
		{"currency echoes value", bodyWith(t, map[string]any{"currency": "XYZ"}), `"XYZ"`},
		{"unknown field", bodyWith(t, map[string]any{"extra": 1}), "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeInvoiceRequest(tt.body)
			var v *ValidationError
			if !errors.As(err, &v) || len(v.Fields) == 0 {
				t.Fatalf("error %v is not a ValidationError with fields", err)
			}
			if d := v.Fields[0].Detail; !strings.Contains(d, tt.detail) {
				t.Errorf("detail %q does not contain %q", d, tt.detail)
			}
			if !strings.Contains(err.Error(), v.Fields[0].Field+": ") {
				t.Errorf("Error() = %q does not name field %q", err.Error(), v.Fields[0].Field)
			}
		})
	}
}
