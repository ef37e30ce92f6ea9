package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// validRequestCase is a body decodeInvoiceRequest must accept, and the
// request it must decode to.
type validRequestCase struct {
	name string
	body []byte
	want invoiceRequest
}

// validRequestCases are bodies that keep every rule, some at its limits.
func validRequestCases(t testing.TB) []validRequestCase {
	full := `{
		"customer_id": "cus_42",
		"amount_cents": 1000000000000,
		"currency": "EUR",
		"description": "Consulting, March\n\tline two",
		"metadata": {"order": "A-1", "empty": ""}
	}`
	return []validRequestCase{
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
}

func TestDecodeInvoiceRequestValid(t *testing.T) {
	for _, tt := range validRequestCases(t) {
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
