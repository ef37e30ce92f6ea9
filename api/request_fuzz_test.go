package api

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// decodeSeeds are bodies that exercise each rule of a POST /invoices body.
var decodeSeeds = []string{
	// valid
	validBase,
	`{"customer_id":"cus_42","amount_cents":1000000000000,"currency":"EUR","description":"Consulting\n\tMarch","metadata":{"order":"A-1","empty":""}}`,
	`{"customer_id":"` + strings.Repeat("é", 255) + `","amount_cents":1}`,
	`{"customer_id":"c","amount_cents":5,"currency":null,"description":null,"metadata":null}`,
	`{"metadata":{"b":"2","a":"1"},"amount_cents":7,"customer_id":"\u00e9\ud83d\ude00"}`,
	`{"customer_id":"c","amount_cents":5,"description":"\u2028\u003c/script\u003e"}`,
	// invalid
	``,
	` `,
	`null`,
	`{}`,
	`[]`,
	`"x"`,
	`{"customer_id":"","amount_cents":0,"currency":"usd"}`,
	`{"customer_id":"c","amount_cents":1000000000001}`,
	`{"customer_id":"c","amount_cents":2500.5}`,
	`{"customer_id":"c","amount_cents":"2500"}`,
	`{"customer_id":"c","amount_cents":1e30}`,
	`{"customer_id":"c","amount_cents":5,"currency":"XYZ"}`,
	`{"customer_id":"c","amount_cents":5,"metadata":{"k":1}}`,
	`{"customer_id":"c","amount_cents":5,"metadata":{"":"v"}}`,
	`{"customer_id":"c\u0000","amount_cents":5}`,
	`{"customer_id":"c","amount_cents":5,"extra":true}`,
	`{"customer_id":"c","amount_cents":5}{}`,
	`{"customer_id":"c","amount_cents":5} x`,
	`{"customer_id":"c","amount_cents":`,
	"{\"customer_id\":\"\xff\",\"amount_cents\":5}",
	`{"CUSTOMER_ID":"c","amount_cents":5,"AMOUNT_CENTS":6}`,
}

func FuzzDecodeInvoiceRequest(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeInvoiceRequest(body)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			var v *ValidationError
			if errors.As(err, &v) && len(v.Fields) == 0 {
				t.Fatalf("ValidationError %v lists no fields", err)
			}
			return
		}
		checkRequestLimits(t, req)

		again, err := decodeInvoiceRequest(body)
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("decoding the same body twice: %+v, %v; first %+v", again, err, req)
		}

		enc, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", req, err)
		}
		round, err := decodeInvoiceRequest(enc)
		if err != nil {
			t.Fatalf("decoding the re-encoded request %s: %v", enc, err)
		}
		if !reflect.DeepEqual(round, req) {
			t.Fatalf("round trip changed the request:\n got %+v\nwant %+v", round, req)
		}
		if round.hash() != req.hash() {
			t.Fatalf("round trip changed the hash: %s != %s", round.hash(), req.hash())
		}
	})
}

// checkRequestLimits fails unless req satisfies every rule of a valid
// request.
func checkRequestLimits(t testing.TB, req invoiceRequest) {
	t.Helper()
	checkValidText(t, "customer_id", req.CustomerID, 1, MaxCustomerIDLen)
	if req.AmountCents < 1 || req.AmountCents > MaxAmountCents {
		t.Errorf("amount_cents %d is outside 1..%d", req.AmountCents, int64(MaxAmountCents))
	}
	if !iso4217[req.Currency] {
		t.Errorf("currency %q is not an ISO 4217 code", req.Currency)
	}
	if len(req.Currency) != 3 || strings.ToUpper(req.Currency) != req.Currency {
		t.Errorf("currency %q is not three uppercase letters", req.Currency)
	}
	checkValidText(t, "description", req.Description, 0, MaxDescriptionLen)
	if req.Metadata == nil {
		t.Error("metadata is nil")
	}
	if len(req.Metadata) > MaxMetadataPairs {
		t.Errorf("metadata has %d pairs, more than %d", len(req.Metadata), MaxMetadataPairs)
	}
	for k, v := range req.Metadata {
		if n := utf8.RuneCountInString(k); n < 1 || n > MaxMetadataKeyLen {
			t.Errorf("metadata key %q has %d runes, want 1..%d", k, n, MaxMetadataKeyLen)
		}
		if !utf8.ValidString(k) || strings.ContainsFunc(k, unicode.IsControl) {
			t.Errorf("metadata key %q is not valid UTF-8 free of control characters", k)
		}
		checkValidText(t, "metadata."+k, v, 0, MaxMetadataValueLen)
	}
}

func checkValidText(t testing.TB, field, s string, minLen, maxLen int) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s %q is not valid UTF-8", field, s)
	}
	if n := utf8.RuneCountInString(s); n < minLen || n > maxLen {
		t.Errorf("%s has %d runes, want %d..%d", field, n, minLen, maxLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			t.Errorf("%s %q holds control character %U", field, s, r)
		}
	}
}
