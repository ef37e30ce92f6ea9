package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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

func TestDecodeInvoiceRequestValid(t *testing.T) {
	full := `{
		"customer_id": "cus_42",
		"amount_cents": 1000000000000,
		"currency": "EUR",
		"description": "Consulting, March\n\tline two",
		"metadata": {"order": "A-1", "empty": ""}
	}`
	tests := []struct {
		name string
		body []byte
		want invoiceRequest
	}{
		{
			name: "minimal body gets defaults",
			body: []byte(validBase),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 2500, Currency: "USD", Description: "", Metadata: map[string]string{}},
		},
		{
			name: "full body",
			body: []byte(full),
			want: invoiceRequest{
				CustomerID: "cus_42", AmountCents: MaxAmountCents, Currency: "EUR",
				Description: "Consulting, March\n\tline two",
				Metadata:    map[string]string{"order": "A-1", "empty": ""},
			},
		},
		{
			name: "surrounding whitespace",
			body: []byte(" \n\t" + validBase + "\r\n "),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 2500, Currency: "USD", Metadata: map[string]string{}},
		},
		{
			name: "customer_id of 255 multi-byte runes",
			body: bodyWith(t, map[string]any{"customer_id": strings.Repeat("é", 255)}),
			want: invoiceRequest{CustomerID: strings.Repeat("é", 255), AmountCents: 2500, Currency: "USD", Metadata: map[string]string{}},
		},
		{
			name: "customer_id of 255 ASCII characters",
			body: bodyWith(t, map[string]any{"customer_id": strings.Repeat("a", 255)}),
			want: invoiceRequest{CustomerID: strings.Repeat("a", 255), AmountCents: 2500, Currency: "USD", Metadata: map[string]string{}},
		},
		{
			name: "customer_id of one character",
			body: bodyWith(t, map[string]any{"customer_id": "x"}),
			want: invoiceRequest{CustomerID: "x", AmountCents: 2500, Currency: "USD", Metadata: map[string]string{}},
		},
		{
			name: "amount of 1 cent",
			body: bodyWith(t, map[string]any{"amount_cents": 1}),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 1, Currency: "USD", Metadata: map[string]string{}},
		},
		{
			name: "amount of 10^12 cents",
			body: bodyWith(t, map[string]any{"amount_cents": json.RawMessage("1000000000000")}),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 1_000_000_000_000, Currency: "USD", Metadata: map[string]string{}},
		},
		{
			name: "currency EUR",
			body: bodyWith(t, map[string]any{"currency": "EUR"}),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 2500, Currency: "EUR", Metadata: map[string]string{}},
		},
		{
			name: "currency XAU (precious metal)",
			body: bodyWith(t, map[string]any{"currency": "XAU"}),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 2500, Currency: "XAU", Metadata: map[string]string{}},
		},
		{
			name: "description of 1000 multi-byte runes",
			body: bodyWith(t, map[string]any{"description": strings.Repeat("ü", 1000)}),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 2500, Currency: "USD", Description: strings.Repeat("ü", 1000), Metadata: map[string]string{}},
		},
		{
			name: "metadata of 20 pairs",
			body: bodyWith(t, map[string]any{"metadata": metadataOf(20)}),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 2500, Currency: "USD", Metadata: metadataOf(20)},
		},
		{
			name: "metadata key of 40 runes and value of 500 runes",
			body: bodyWith(t, map[string]any{"metadata": map[string]string{strings.Repeat("ķ", 40): strings.Repeat("ß", 500)}}),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 2500, Currency: "USD", Metadata: map[string]string{strings.Repeat("ķ", 40): strings.Repeat("ß", 500)}},
		},
		{
			name: "metadata value with tab and line breaks",
			body: bodyWith(t, map[string]any{"metadata": map[string]string{"note": "a\tb\r\nc"}}),
			want: invoiceRequest{CustomerID: "cus_1", AmountCents: 2500, Currency: "USD", Metadata: map[string]string{"note": "a\tb\r\nc"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustDecode(t, tt.body)
			if got.Metadata == nil {
				t.Error("Metadata is nil, want a non-nil map")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decodeInvoiceRequest =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeInvoiceRequestInvalid(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tests := []struct {
		name string
		body []byte
		// fields are the fields the error must name, in order; nil means
		// the body as a whole is at fault and no field may be named.
		fields []string
	}{
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
	for _, tt := range tests {
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

func TestRequestHash(t *testing.T) {
	tests := []struct {
		name  string
		a, b  string
		equal bool
	}{
		{"key order", `{"customer_id":"c","amount_cents":5,"currency":"EUR","description":"d","metadata":{"x":"1","y":"2"}}`,
			`{"metadata":{"y":"2","x":"1"},"description":"d","currency":"EUR","amount_cents":5,"customer_id":"c"}`, true},
		{"explicit default currency", `{"customer_id":"c","amount_cents":5,"currency":"USD"}`, `{"customer_id":"c","amount_cents":5}`, true},
		{"empty description", `{"customer_id":"c","amount_cents":5,"description":""}`, `{"customer_id":"c","amount_cents":5}`, true},
		{"empty metadata", `{"customer_id":"c","amount_cents":5,"metadata":{}}`, `{"customer_id":"c","amount_cents":5}`, true},
		{"whitespace", `{ "customer_id" : "c" , "amount_cents" : 5 }`, `{"customer_id":"c","amount_cents":5}`, true},
		{"escaped characters", `{"customer_id":"\u0063","amount_cents":5}`, `{"customer_id":"c","amount_cents":5}`, true},
		{"different amount", `{"customer_id":"c","amount_cents":5}`, `{"customer_id":"c","amount_cents":6}`, false},
		{"different customer", `{"customer_id":"c","amount_cents":5}`, `{"customer_id":"d","amount_cents":5}`, false},
		{"different currency", `{"customer_id":"c","amount_cents":5}`, `{"customer_id":"c","amount_cents":5,"currency":"EUR"}`, false},
		{"different description", `{"customer_id":"c","amount_cents":5}`, `{"customer_id":"c","amount_cents":5,"description":" "}`, false},
		{"different metadata value", `{"customer_id":"c","amount_cents":5,"metadata":{"x":"1"}}`, `{"customer_id":"c","amount_cents":5,"metadata":{"x":"2"}}`, false},
		{"empty metadata value", `{"customer_id":"c","amount_cents":5,"metadata":{"x":""}}`, `{"customer_id":"c","amount_cents":5}`, false},
		{"field values swapped", `{"customer_id":"c","amount_cents":5,"description":"x","metadata":{"description":""}}`,
			`{"customer_id":"c","amount_cents":5,"description":"","metadata":{"description":"x"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ha := mustDecode(t, []byte(tt.a)).hash()
			hb := mustDecode(t, []byte(tt.b)).hash()
			for _, h := range []string{ha, hb} {
				hexPart, ok := strings.CutPrefix(h, "sha256:")
				if !ok || len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
					t.Errorf("hash %q is not sha256:<64 lowercase hex digits>", h)
				}
			}
			if (ha == hb) != tt.equal {
				t.Errorf("hash equal = %v, want %v\n a: %s -> %s\n b: %s -> %s", ha == hb, tt.equal, tt.a, ha, tt.b, hb)
			}
		})
	}
}

func TestProblemFor(t *testing.T) {
	const secret = "dial tcp 10.0.0.7:4222: password=hunter2"
	tests := []struct {
		name       string
		err        error
		status     int
		slug       string
		field      string
		retryAfter time.Duration
	}{
		{"invalid", fmt.Errorf("%w: the body is empty", ErrInvalid), http.StatusBadRequest, "invalid-request", "", 0},
		{"validation error", invalidField("amount_cents", "is required"), http.StatusBadRequest, "invalid-request", "amount_cents", 0},
		{"wrapped validation error", fmt.Errorf("decode: %w", invalidField("currency", "bad")), http.StatusBadRequest, "invalid-request", "currency", 0},
		{"not found", fmt.Errorf("%w: no invoice %q", ErrNotFound, "x"), http.StatusNotFound, "not-found", "", 0},
		{"method not allowed", ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method-not-allowed", "", 0},
		{"in flight", fmt.Errorf("%w: retry shortly", ErrInFlight), http.StatusConflict, "request-in-flight", "", 0},
		{"in flight with retry", withRetryAfter(fmt.Errorf("%w: retry shortly", ErrInFlight), time.Second), http.StatusConflict, "request-in-flight", "", time.Second},
		{"too large", ErrTooLarge, http.StatusRequestEntityTooLarge, "body-too-large", "", 0},
		{"unsupported media type", ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, "unsupported-media-type", "", 0},
		{"key reused", ErrKeyReused, http.StatusUnprocessableEntity, "idempotency-key-reused", "", 0},
		{"unavailable defaults to one second", fmt.Errorf("%w: store: %w", ErrUnavailable, errors.New("timeout")), http.StatusServiceUnavailable, "unavailable", "", time.Second},
		{"unavailable with retry", withRetryAfter(ErrUnavailable, 3*time.Second), http.StatusServiceUnavailable, "unavailable", "", 3 * time.Second},
		{"unknown", errors.New(secret), http.StatusInternalServerError, "internal", "", 0},
		{"wrapped unknown", fmt.Errorf("load: %w", io.ErrUnexpectedEOF), http.StatusInternalServerError, "internal", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := problemFor(tt.err)
			if p.Status != tt.status {
				t.Errorf("Status = %d, want %d", p.Status, tt.status)
			}
			if want := problemTypeBase + tt.slug; p.Type != want {
				t.Errorf("Type = %q, want %q", p.Type, want)
			}
			if p.Title == "" {
				t.Error("Title is empty")
			}
			if p.Field != tt.field {
				t.Errorf("Field = %q, want %q", p.Field, tt.field)
			}
			if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
				t.Errorf("Errors = %+v, want the first to name %q", p.Errors, tt.field)
			}
			if tt.field == "" && len(p.Errors) != 0 {
				t.Errorf("Errors = %+v, want none", p.Errors)
			}
			if p.retryAfter != tt.retryAfter {
				t.Errorf("retryAfter = %v, want %v", p.retryAfter, tt.retryAfter)
			}
			if tt.status != http.StatusInternalServerError && p.Detail != tt.err.Error() {
				t.Errorf("Detail = %q, want %q", p.Detail, tt.err.Error())
			}
		})
	}
}

func TestProblemWriteError(t *testing.T) {
	const secret = "password=hunter2"
	tests := []struct {
		name       string
		err        error
		status     int
		slug       string
		retryAfter string // the Retry-After header; empty means absent
		detail     bool   // whether the detail is shown
		logged     bool   // whether the failure is logged server-side
	}{
		{"400", invalidField("customer_id", "is required"), 400, "invalid-request", "", true, false},
		{"404", fmt.Errorf("%w: no invoice", ErrNotFound), 404, "not-found", "", true, false},
		{"405", ErrMethodNotAllowed, 405, "method-not-allowed", "", true, false},
		{"409", withRetryAfter(fmt.Errorf("%w: retry shortly", ErrInFlight), time.Second), 409, "request-in-flight", "1", true, false},
		{"413", ErrTooLarge, 413, "body-too-large", "", true, false},
		{"415", ErrUnsupportedMediaType, 415, "unsupported-media-type", "", true, false},
		{"422", ErrKeyReused, 422, "idempotency-key-reused", "", true, false},
		{"503", fmt.Errorf("%w: read stream state", ErrUnavailable), 503, "unavailable", "1", true, true},
		{"503 rounds retry up", withRetryAfter(ErrUnavailable, 1500*time.Millisecond), 503, "unavailable", "2", true, true},
		{"500 hides detail", fmt.Errorf("ledger: %s", secret), 500, "internal", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/invoices", nil)
			writeError(rec, req, log, tt.err)

			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", res.StatusCode, tt.status)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			if got := res.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			raw := rec.Body.Bytes()
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", raw, err)
			}
			if body["type"] != problemTypeBase+tt.slug {
				t.Errorf("type = %v, want %q", body["type"], problemTypeBase+tt.slug)
			}
			if title, _ := body["title"].(string); title == "" {
				t.Errorf("title = %v, want a non-empty string", body["title"])
			}
			if body["status"] != float64(tt.status) {
				t.Errorf("status field = %v, want %d", body["status"], tt.status)
			}
			if _, has := body["detail"]; has != tt.detail {
				t.Errorf("detail present = %v, want %v (body %s)", has, tt.detail, raw)
			}
			wantDetail := tt.err.Error()
			if tt.status >= 500 {
				wantDetail = publicDetail[tt.status] // causes are logged, not shown
			}
			if tt.detail && body["detail"] != wantDetail {
				t.Errorf("detail = %v, want %q", body["detail"], wantDetail)
			}
			if !tt.detail && bytes.Contains(raw, []byte(secret)) {
				t.Errorf("body %s leaks the internal error", raw)
			}
			if got := strings.Contains(logs.String(), tt.err.Error()); got != tt.logged {
				t.Errorf("error logged = %v, want %v (log %q)", got, tt.logged, logs.String())
			}
		})
	}
}

func TestProblemWriteErrorValidationFields(t *testing.T) {
	_, err := decodeInvoiceRequest([]byte(`{"customer_id":"","amount_cents":0}`))
	rec := httptest.NewRecorder()
	writeError(rec, httptest.NewRequest(http.MethodPost, "/invoices", nil), slog.New(slog.NewTextHandler(io.Discard, nil)), err)
	var body struct {
		Status int          `json:"status"`
		Field  string       `json:"field"`
		Errors []FieldError `json:"errors"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q is not JSON: %v", rec.Body.Bytes(), err)
	}
	if body.Status != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", body.Status)
	}
	if body.Field != "customer_id" {
		t.Errorf("field = %q, want customer_id", body.Field)
	}
	var fields []string
	for _, f := range body.Errors {
		fields = append(fields, f.Field)
	}
	if want := []string{"customer_id", "amount_cents"}; !slices.Equal(fields, want) {
		t.Errorf("errors name %q, want %q", fields, want)
	}
}
