package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// createInvoiceBody is the POST /invoices payload as encoding/json decodes
// it; pointers tell a missing field from a zero one.
type createInvoiceBody struct {
	CustomerID  *string           `json:"customer_id"`
	AmountCents *int64            `json:"amount_cents"`
	Currency    *string           `json:"currency"`
	Description *string           `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

// fields converts b for validation.
func (b createInvoiceBody) fields() invoiceFields {
	f := invoiceFields{Metadata: b.Metadata}
	f.CustomerID, f.HasCustomerID = deref(b.CustomerID)
	f.AmountCents, f.HasAmountCents = deref(b.AmountCents)
	f.Currency, f.HasCurrency = deref(b.Currency)
	f.Description, f.HasDescription = deref(b.Description)
	return f
}

// deref returns what p points to and whether it points anywhere.
func deref[T any](p *T) (T, bool) {
	if p == nil {
		var zero T
		return zero, false
	}
	return *p, true
}

// decodeInvoiceRequestStrict is the reference for decodeInvoiceRequest: the
// generic strict decoder into a createInvoiceBody, then validate.
func decodeInvoiceRequestStrict(body []byte) (invoiceRequest, error) {
	var in createInvoiceBody
	if err := decodeStrict(body, &in); err != nil {
		return invoiceRequest{}, err
	}
	return in.fields().validate()
}

// hashByMarshal is the reference for invoiceRequest.hash.
func hashByMarshal(r invoiceRequest) string {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// errorFields returns the fields a ValidationError in err names, or nil.
func errorFields(err error) []string {
	var v *ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	fields := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		fields[i] = f.Field
	}
	return fields
}

// nest wraps inner in depth arrays.
func nest(depth int, inner string) string {
	return strings.Repeat("[", depth) + inner + strings.Repeat("]", depth)
}

// parseEdgeBodies are bodies on which a hand-written parser most easily
// parts from encoding/json.
var parseEdgeBodies = []string{
	// amount_cents as encoding/json decodes an int64
	`{"customer_id":"c","amount_cents":1.0}`,
	`{"customer_id":"c","amount_cents":1e3}`,
	`{"customer_id":"c","amount_cents":1E+3}`,
	`{"customer_id":"c","amount_cents":-0}`,
	`{"customer_id":"c","amount_cents":-1}`,
	`{"customer_id":"c","amount_cents":9223372036854775807}`,
	`{"customer_id":"c","amount_cents":9223372036854775808}`,
	`{"customer_id":"c","amount_cents":-9223372036854775808}`,
	`{"customer_id":"c","amount_cents":-9223372036854775809}`,
	`{"customer_id":"c","amount_cents":100000000000000000000}`,
	`{"customer_id":"c","amount_cents":1e-400}`,
	`{"customer_id":"c","amount_cents":01}`,
	`{"customer_id":"c","amount_cents":-}`,
	`{"customer_id":"c","amount_cents":1.}`,
	`{"customer_id":"c","amount_cents":.5}`,
	`{"customer_id":"c","amount_cents":+1}`,
	`{"customer_id":"c","amount_cents":1e}`,
	`{"customer_id":"c","amount_cents":1e+}`,
	`{"customer_id":"c","amount_cents":true}`,
	`{"customer_id":"c","amount_cents":{"a":null}}`,
	`{"customer_id":"c","amount_cents":[1,{"a":1,"a":2}]}`,
	// a number beyond float64 ends the key and null checks
	`{"customer_id":"c","amount_cents":1e400,"amount_cents":5}`,
	`{"customer_id":"c","amount_cents":1e400,"extra":null}`,
	`{"customer_id":"c","metadata":{"k":1e400,"k":null},"CUSTOMER_ID":"d"}`,
	`{"description":[` + strings.Repeat("9", 400) + `],"description":null}`,
	`[1e400,null]`,
	`{"customer_id":"c","amount_cents":1e400,"x":}`,
	// strings and escapes
	`{"customer_id":"\u00e9\ud83d\ude00","amount_cents":1}`,
	`{"customer_id":"a\ud83d","amount_cents":1}`,
	`{"customer_id":"a\ude00b","amount_cents":1}`,
	`{"customer_id":"a\ud83d\u0041","amount_cents":1}`,
	`{"customer_id":"a\ud83d\ud83d\ude00","amount_cents":1}`,
	`{"customer_id":"a\ud83d\uZZZZ","amount_cents":1}`,
	`{"customer_id":"a\ud83d\","amount_cents":1}`,
	`{"customer_id":"a\u12","amount_cents":1}`,
	`{"customer_id":"a\x","amount_cents":1}`,
	`{"customer_id":"a\'","amount_cents":1}`,
	`{"customer_id":"a\/\"\\\b\f\n\r\t","amount_cents":1}`,
	"{\"customer_id\":\"a\tb\",\"amount_cents\":1}",
	`{"customer_id":"<&>\u2028\u2029","amount_cents":1}`,
	`{"customer\u005fid":"c","amount_cents":1}`,
	`{"customer_id":"c","customer\u005fid":"d","amount_cents":1}`,
	`{"customer_id":"c","amount_cents":1,"metadata":{"\u006b":"1","k":"2"}}`,
	`{"customer_id":"c","amount_cents":1,"\u0000":1}`,
	// keys, nulls and duplicates at every depth
	`{"extra"`,
	`{"customer_id":"c","customer_id"`,
	`{"customer_id":"c","amount_cents":1,"metadata":{"":null}}`,
	`{"customer_id":"c","amount_cents":1,"metadata":{"k":{"a":null}}}`,
	`{"customer_id":"c","amount_cents":1,"metadata":{"k":[1,null]}}`,
	`{"customer_id":"c","amount_cents":1,"metadata":{"k":{"a":1,"a":2}}}`,
	`{"customer_id":"c","amount_cents":1,"metadata":{"k":{"a":1,"b":2,"a":3}}}`,
	`{"customer_id":"c","amount_cents":1,"metadata":{"k":1,"k":"v"}}`,
	`{"customer_id":{"a":null}}`,
	`{"customer_id":[{"":1,"":2}]}`,
	`{"customer_id":[[],{},[{}]],"amount_cents":1}`,
	`{"metadata":[null]}`,
	`{"Customer_ID":"c","amount_cents":1}`,
	`{"customer_id":"c","amount_cents":1,"":1}`,
	`[null]`,
	`[{"a":1,"a":2}]`,
	`[{"":{"a":null}}]`,
	`[[null]]`,
	`[1,2,{"a":[{"b":null}]}]`,
	// the shape of the body
	`true`, `truex`, `tru`, `nullx`, `null null`, `null`, ` null `, `"x"`, `"x"y`, `1x`, `-`, `[]x`,
	`{}x`, `{} `, `{}`, "\u00a0{}", "\ufeff{}", "\u0085", `{"a" 1}`, `{"customer_id":"c",}`, `{,}`,
	`{"customer_id":"c" "amount_cents":1}`, `{"customer_id":"c"]`, `{"customer_id":"c","amount_cents":1]`,
	`{ "customer_id" : "c" , "amount_cents" : 5 , "metadata" : { "a" : "b" , "c" : "d" } }`,
}

// deepBodies nest as deeply as encoding/json allows, and deeper. They are
// too large to seed the fuzzer with.
var deepBodies = []string{
	nest(10000, ""),
	nest(10001, ""),
	nest(10001, "null"),
	nest(10001, `{"a":1,"a":2}`),
	`{"metadata":{"k":` + nest(9998, "") + `}}`,
	`{"metadata":{"k":` + nest(9999, "") + `}}`,
	`{"metadata":{"k":` + nest(9999, "null") + `}}`,
	`{"description":` + nest(10000, "") + `,"extra":1}`,
}

// differentialBodies returns every body the tests of this package decode,
// and the edge cases above but the deep ones.
func differentialBodies(t testing.TB) map[string][]byte {
	bodies := map[string][]byte{}
	for i, s := range decodeSeeds {
		bodies["seed/"+strconv.Itoa(i)] = []byte(s)
	}
	for i, s := range parseEdgeBodies {
		bodies["edge/"+strconv.Itoa(i)] = []byte(s)
	}
	for _, c := range invalidRequestCases(t) {
		bodies["invalid/"+c.name] = c.body
	}
	for _, c := range validRequestCases(t) {
		bodies["valid/"+c.name] = c.body
	}
	bodies["bench"] = []byte(benchRequestBody)
	return bodies
}

// compareDecoders fails unless decodeInvoiceRequest and the reference
// decoder agree on body: the same request, or the same error.
func compareDecoders(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := decodeInvoiceRequest(body)
	want, wantErr := decodeInvoiceRequestStrict(body)
	switch {
	case (gotErr == nil) != (wantErr == nil):
		t.Fatalf("body %.200q:\n parser: %+v, %v\n strict: %+v, %v", body, got, gotErr, want, wantErr)
	case gotErr != nil:
		if !errors.Is(gotErr, ErrInvalid) {
			t.Fatalf("body %.200q: error %v does not match ErrInvalid", body, gotErr)
		}
		if gotErr.Error() != wantErr.Error() {
			t.Fatalf("body %.200q:\n parser error %q\n strict error %q", body, gotErr, wantErr)
		}
		if g, w := errorFields(gotErr), errorFields(wantErr); !slices.Equal(g, w) {
			t.Fatalf("body %.200q: parser names fields %q, strict %q", body, g, w)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("body %.200q:\n parser %+v\n strict %+v", body, got, want)
	}
	compareRequestEncoding(t, got)
}

// compareRequestEncoding fails unless r's hash and encoding are those of
// json.Marshal.
func compareRequestEncoding(t *testing.T, r invoiceRequest) {
	t.Helper()
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("json.Marshal(%+v): %v", r, err)
	}
	if got := r.appendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("appendJSON(%+v):\n got %s\nwant %s", r, got, want)
	}
	if got, want := r.hash(), hashByMarshal(r); got != want {
		t.Fatalf("hash(%+v) = %s, want %s", r, got, want)
	}
}

func TestDecodeInvoiceRequestMatchesStrict(t *testing.T) {
	bodies := differentialBodies(t)
	for i, s := range deepBodies {
		bodies["deep/"+strconv.Itoa(i)] = []byte(s)
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			compareDecoders(t, body)
		})
	}
}

// FuzzDecodeInvoiceRequestDifferential compares decodeInvoiceRequest with
// the generic strict decoder it replaces, and the request hash with that of
// json.Marshal.
func FuzzDecodeInvoiceRequestDifferential(f *testing.F) {
	for _, body := range differentialBodies(f) {
		f.Add(body)
	}
	f.Fuzz(compareDecoders)
}
