package api

import (
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
