package api

import (
	"strconv"
	"strings"
	"testing"
)

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

// hashRequests are requests whose encoding escapes in each way
// encoding/json does, including ones no valid body decodes to.
func hashRequests() map[string]invoiceRequest {
	reqs := map[string]invoiceRequest{
		"minimal":      {CustomerID: "c", AmountCents: 5, Currency: "USD", Metadata: map[string]string{}},
		"nil metadata": {CustomerID: "c", AmountCents: 5, Currency: "USD"},
		"many pairs":   {CustomerID: "c", AmountCents: -1 << 63, Currency: "EUR", Metadata: metadataOf(MaxMetadataPairs + 3)},
	}
	for i, s := range responseStrings {
		reqs["strings "+strconv.Itoa(i)] = invoiceRequest{
			CustomerID: s, AmountCents: 1<<63 - 1, Currency: s, Description: s,
			Metadata: map[string]string{s: s, "<" + s: "&", "\u2029": s},
		}
	}
	return reqs
}

func TestRequestAppendJSONMatchesMarshal(t *testing.T) {
	for name, req := range hashRequests() {
		t.Run(name, func(t *testing.T) { compareRequestEncoding(t, req) })
	}
}

// TestRequestHashStable pins the hash of a few requests: it is stored in
// events and compared on retries, so it must never change.
func TestRequestHashStable(t *testing.T) {
	tests := []struct {
		name string
		req  invoiceRequest
		want string
	}{
		{"minimal", invoiceRequest{CustomerID: "cus_1", AmountCents: 2500, Currency: "USD", Metadata: map[string]string{}},
			"sha256:2494b1af71a27fac9181e97cde1fbf4766a0be0b25e1c5ff536953ce2cee89a4"},
		{"full", invoiceRequest{
			CustomerID: "cus_é😀", AmountCents: MaxAmountCents, Currency: "EUR",
			Description: "<b>Consulting</b> & \"more\"\n\tline\u2028two",
			Metadata:    map[string]string{"order": "A-1", "empty": "", "<k>": "\u2029&"},
		}, "sha256:a32d15958369926de7bc6fb7acfac15ac88a786f268e82d7b57cf403f824dc53"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.req.hash(); got != tt.want {
				t.Errorf("hash = %s, want %s", got, tt.want)
			}
		})
	}
}

// FuzzRequestHash compares the request encoding and hash with those of
// json.Marshal on arbitrary requests.
func FuzzRequestHash(f *testing.F) {
	for _, req := range hashRequests() {
		f.Add(req.CustomerID, req.AmountCents, req.Currency, req.Description, "k", req.Description)
	}
	f.Fuzz(func(t *testing.T, customerID string, amount int64, currency, description, key, value string) {
		req := invoiceRequest{
			CustomerID: customerID, AmountCents: amount, Currency: currency, Description: description,
			Metadata: map[string]string{key: value, value: key, customerID: description},
		}
		compareRequestEncoding(t, req)
	})
}
