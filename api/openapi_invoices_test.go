package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/events"
)

// oaMinimalInvoice is the smallest valid body of createInvoice.
const oaMinimalInvoice = `{"customer_id":"cust_123","amount_cents":2500}`

// oaCreateInvoice is a POST /invoices of body, with Idempotency-Key key
// unless key is empty.
func oaCreateInvoice(name, key, body string, status int) oaCase {
	c := oaCase{name: name, op: "createInvoice", method: http.MethodPost, path: "/invoices", body: body, status: status, header: oaJSON()}
	if key != "" {
		c.header = oaJSON("Idempotency-Key", key)
	}
	return c
}

// oaCreateInvoiceCases are createInvoice's answers, in the order replayed.
func oaCreateInvoiceCases(t testing.TB, f *oaFixtures) []oaCase {
	t.Helper()
	return slices.Concat(
		oaIdempotentInvoiceCases(t),
		oaInvoiceBodyCases(),
		oaInvoiceFieldCases(t),
		oaInvoiceRefusalCases(f),
	)
}

// oaIdempotentInvoiceCases create an invoice, replay it, create one with
// every field at its limit, and break the rules of Idempotency-Key.
func oaIdempotentInvoiceCases(t testing.TB) []oaCase {
	t.Helper()
	var first oaResult
	return []oaCase{
		oaWith(oaCreateInvoice("201 created", "replay-1", oaMinimalInvoice, http.StatusCreated), func(t testing.TB, r oaResult) {
			var got struct{ ID, Currency string }
			r.decode(t, &got)
			if r.header.Get("Location") != "/invoices/"+got.ID || r.header.Get("Idempotent-Replayed") != "" || got.Currency != "USD" {
				t.Fatalf("%v %s", r.header, r.body)
			}
			first = r
		}),
		oaWith(oaCreateInvoice("201 replayed", "replay-1", `{ "amount_cents": 2500, "currency": "USD", "customer_id": "cust_123" }`, http.StatusCreated),
			func(t testing.TB, r oaResult) {
				if r.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(r.body, first.body) ||
					r.header.Get("Location") != first.header.Get("Location") {
					t.Fatalf("not the first answer: %v %s", r.header, r.body)
				}
			}),
		oaCreateInvoice("201 every field at its limit", "limits", oaLimitsInvoice(t), http.StatusCreated),
		oaInvalid(oaCreateInvoice("400 no Idempotency-Key", "", oaMinimalInvoice, http.StatusBadRequest), "Idempotency-Key"),
		oaInvalid(oaHeaders(oaCreateInvoice("400 empty Idempotency-Key", "", oaMinimalInvoice, http.StatusBadRequest), oaJSON("Idempotency-Key", "")...), "Idempotency-Key"),
		oaInvalid(oaCreateInvoice("400 Idempotency-Key too long", strings.Repeat("k", api.MaxIdempotencyKeyLen+1), oaMinimalInvoice, http.StatusBadRequest), "Idempotency-Key"),
		oaInvalid(oaCreateInvoice("400 Idempotency-Key not ASCII", "clé", oaMinimalInvoice, http.StatusBadRequest), "Idempotency-Key"),
		oaLax(oaHeaders(oaCreateInvoice("400 Idempotency-Key sent twice", "", oaMinimalInvoice, http.StatusBadRequest), oaJSON("Idempotency-Key", "a", "Idempotency-Key", "b")...), "Idempotency-Key"),
	}
}

// oaLimitsInvoice is a createInvoice body with every field at its limit.
func oaLimitsInvoice(t testing.TB) string {
	t.Helper()
	md := map[string]string{}
	for i := range api.MaxMetadataPairs {
		md[fmt.Sprintf("%0*d", api.MaxMetadataKeyLen, i)] = strings.Repeat("ü", api.MaxMetadataValueLen)
	}
	return oaMarshal(t, map[string]any{
		"customer_id":  strings.Repeat("é", api.MaxCustomerIDLen),
		"amount_cents": api.MaxAmountCents,
		"currency":     "XAU",
		"description":  strings.Repeat("tab\tlf\ncr\r", api.MaxDescriptionLen/10),
		"metadata":     md,
	})
}

// oaInvoiceBodyCases send createInvoice bodies that are no invoice object.
func oaInvoiceBodyCases() []oaCase {
	return []oaCase{
		oaInvalid(oaCreateInvoice("400 empty body", "k-empty", "", http.StatusBadRequest), ""),
		oaInvalid(oaCreateInvoice("400 malformed JSON", "k-malformed", `{"customer_id":"c",`, http.StatusBadRequest), ""),
		oaLax(oaCreateInvoice("400 not UTF-8", "k-utf8", "{\"customer_id\":\"c\xff\",\"amount_cents\":1}", http.StatusBadRequest), ""),
		oaInvalid(oaCreateInvoice("400 an array", "k-array", `[]`, http.StatusBadRequest), ""),
		oaInvalid(oaCreateInvoice("400 a string", "k-string", `"invoice"`, http.StatusBadRequest), ""),
		oaInvalid(oaCreateInvoice("400 unknown field", "k-unknown", `{"customer_id":"c","amount_cents":1,"note":"x"}`, http.StatusBadRequest), "note"),
		oaInvalid(oaCreateInvoice("400 field name in another case", "k-case", `{"CUSTOMER_ID":"c","amount_cents":1}`, http.StatusBadRequest), "CUSTOMER_ID"),
		oaLax(oaCreateInvoice("400 key repeated", "k-repeat", `{"customer_id":"c","customer_id":"d","amount_cents":1}`, http.StatusBadRequest), "customer_id"),
		oaInvalid(oaCreateInvoice("400 null", "k-null", `{"customer_id":null,"amount_cents":1}`, http.StatusBadRequest), "customer_id"),
	}
}

// oaInvoiceFieldCases break the rules of each field of an invoice.
func oaInvoiceFieldCases(t testing.TB) []oaCase {
	t.Helper()
	tooMany := map[string]string{}
	for i := range api.MaxMetadataPairs + 1 {
		tooMany[fmt.Sprint("k", i)] = "v"
	}
	return []oaCase{
		oaInvalid(oaCreateInvoice("400 amount as a string", "k-amount-string", `{"customer_id":"c","amount_cents":"2500"}`, http.StatusBadRequest), "amount_cents"),
		oaInvalid(oaCreateInvoice("400 amount zero", "k-amount-zero", `{"customer_id":"c","amount_cents":0}`, http.StatusBadRequest), "amount_cents"),
		oaInvalid(oaCreateInvoice("400 amount over the maximum", "k-amount-max", fmt.Sprintf(`{"customer_id":"c","amount_cents":%d}`, api.MaxAmountCents+1), http.StatusBadRequest), "amount_cents"),
		oaLax(oaCreateInvoice("400 amount with a fraction", "k-amount-fraction", `{"customer_id":"c","amount_cents":2500.0}`, http.StatusBadRequest), "amount_cents"),
		oaLax(oaCreateInvoice("400 amount with an exponent", "k-amount-exponent", `{"customer_id":"c","amount_cents":2.5e3}`, http.StatusBadRequest), "amount_cents"),
		oaInvalid(oaCreateInvoice("400 currency in lower case", "k-currency-case", `{"customer_id":"c","amount_cents":1,"currency":"usd"}`, http.StatusBadRequest), "currency"),
		oaInvalid(oaCreateInvoice("400 currency not ISO 4217", "k-currency", `{"customer_id":"c","amount_cents":1,"currency":"ABC"}`, http.StatusBadRequest), "currency"),
		oaInvalid(oaCreateInvoice("400 blank customer", "k-blank", `{"customer_id":" \u00a0\u3000","amount_cents":1}`, http.StatusBadRequest), "customer_id"),
		oaInvalid(oaCreateInvoice("400 customer with a control character", "k-control", `{"customer_id":"cust\u0085","amount_cents":1}`, http.StatusBadRequest), "customer_id"),
		oaInvalid(oaCreateInvoice("400 customer too long", "k-customer-long", oaMarshal(t, map[string]any{"customer_id": strings.Repeat("c", api.MaxCustomerIDLen+1), "amount_cents": 1}), http.StatusBadRequest), "customer_id"),
		oaInvalid(oaCreateInvoice("400 description too long", "k-description-long", oaMarshal(t, map[string]any{"customer_id": "c", "amount_cents": 1, "description": strings.Repeat("d", api.MaxDescriptionLen+1)}), http.StatusBadRequest), "description"),
		oaInvalid(oaCreateInvoice("400 description with a control character", "k-description-control", `{"customer_id":"c","amount_cents":1,"description":"a\u0000b"}`, http.StatusBadRequest), "description"),
		oaInvalid(oaCreateInvoice("400 too many metadata pairs", "k-md-many", oaMarshal(t, map[string]any{"customer_id": "c", "amount_cents": 1, "metadata": tooMany}), http.StatusBadRequest), "metadata"),
		oaInvalid(oaCreateInvoice("400 metadata key too long", "k-md-key", oaMarshal(t, map[string]any{"customer_id": "c", "amount_cents": 1, "metadata": map[string]string{strings.Repeat("k", api.MaxMetadataKeyLen+1): "v"}}), http.StatusBadRequest), "metadata"),
		oaInvalid(oaCreateInvoice("400 metadata key empty", "k-md-empty", `{"customer_id":"c","amount_cents":1,"metadata":{"":"v"}}`, http.StatusBadRequest), "metadata"),
		oaInvalid(oaCreateInvoice("400 metadata value too long", "k-md-value", oaMarshal(t, map[string]any{"customer_id": "c", "amount_cents": 1, "metadata": map[string]string{"k": strings.Repeat("v", api.MaxMetadataValueLen+1)}}), http.StatusBadRequest), "metadata.k"),
		oaInvalid(oaCreateInvoice("400 metadata value not a string", "k-md-type", `{"customer_id":"c","amount_cents":1,"metadata":{"k":1}}`, http.StatusBadRequest), "metadata"),
		oaLax(oaCreateInvoice("400 data after the object", "k-trailing", oaMinimalInvoice+`{}`, http.StatusBadRequest), ""),
		oaWith(oaInvalid(oaCreateInvoice("400 every rule at once", "k-all", `{"customer_id":"","amount_cents":0,"currency":"usd"}`, http.StatusBadRequest), "customer_id"),
			func(t testing.TB, r oaResult) {
				var p struct{ Errors []api.FieldError }
				r.decode(t, &p)
				var fields []string
				for _, e := range p.Errors {
					fields = append(fields, e.Field)
				}
				if !slices.Equal(fields, []string{"customer_id", "amount_cents", "currency"}) {
					t.Fatalf("errors %v", fields)
				}
			}),
	}
}

// oaInvoiceRefusalCases are createInvoice's answers other than 201 and 400.
func oaInvoiceRefusalCases(f *oaFixtures) []oaCase {
	return []oaCase{
		oaWith(oaCreateInvoice("409 the first request still in flight", f.inFlightKey, f.inFlightBody, http.StatusConflict), oaWantHeader("Retry-After", "1")),
		oaLax(oaCreateInvoice("413 Content-Length over the limit", "k-big", oaPadded(oaMinimalInvoice), http.StatusRequestEntityTooLarge), ""),
		oaLax(oaChunked(oaCreateInvoice("413 chunked body over the limit", "k-big-chunked", oaPadded(oaMinimalInvoice), http.StatusRequestEntityTooLarge)), ""),
		oaInvalid(oaHeaders(oaCreateInvoice("415 text/plain", "", oaMinimalInvoice, http.StatusUnsupportedMediaType), "Content-Type", "text/plain", "Idempotency-Key", "k-text"), ""),
		oaInvalid(oaHeaders(oaCreateInvoice("415 no Content-Type", "", oaMinimalInvoice, http.StatusUnsupportedMediaType), "Idempotency-Key", "k-no-type"), ""),
		oaCreateInvoice("422 key reused with other parameters", "replay-1", `{"customer_id":"cust_123","amount_cents":2501}`, http.StatusUnprocessableEntity),
		oaOn(oaCreateInvoice("422 the key holds what does not decode", f.badKey, oaMinimalInvoice, http.StatusUnprocessableEntity), oaCorrupt),
	}
}

// oaListInvoicesCases are listInvoices's answers.
func oaListInvoicesCases(f *oaFixtures) []oaCase {
	list := func(name, query string, status int) oaCase {
		return oaCase{name: name, op: "listInvoices", method: http.MethodGet, path: "/invoices" + query, status: status}
	}
	return []oaCase{
		list("200 every invoice", "", http.StatusOK),
		oaWith(list("200 one customer's processed invoices", "?customer_id=cust-hooks&status=processed", http.StatusOK), oaIDs(f.processed)),
		oaWith(list("200 failed invoices", "?status=failed", http.StatusOK), oaIDs(f.failed)),
		oaWith(list("200 a page", "?limit=1", http.StatusOK), oaWant("has_more", true)),
		list("200 the next page", "?limit=1&cursor="+f.invoicesCursor, http.StatusOK),
		oaLax(list("400 unknown parameter", "?customer=c", http.StatusBadRequest), "customer"),
		oaLax(list("400 repeated parameter", "?status=created&status=failed", http.StatusBadRequest), "status"),
		oaInvalid(list("400 unknown status", "?status=paid", http.StatusBadRequest), "status"),
		oaInvalid(list("400 limit 0", "?limit=0", http.StatusBadRequest), "limit"),
		oaInvalid(list("400 limit over the maximum", fmt.Sprintf("?limit=%d", api.MaxListLimit+1), http.StatusBadRequest), "limit"),
		oaInvalid(list("400 limit not a number", "?limit=ten", http.StatusBadRequest), "limit"),
		oaInvalid(list("400 malformed cursor", "?cursor=%25%25", http.StatusBadRequest), "cursor"),
		oaLax(list("400 another list's cursor", "?cursor="+f.deliveriesCursor, http.StatusBadRequest), "cursor"),
		oaInvalid(list("400 blank customer", "?customer_id=%20", http.StatusBadRequest), "customer_id"),
		oaInvalid(list("400 empty customer", "?customer_id=", http.StatusBadRequest), "customer_id"),
		oaOn(oaWith(list("200 an unreadable outcome is left out", "?customer_id=cust-corrupt", http.StatusOK),
			oaStatuses("created")), oaCorrupt),
		oaWith(list("200 created after an hour ago", "?customer_id=cust-hooks&status=processed&created_after="+f.since, http.StatusOK), oaIDs(f.processed)),
		oaWith(list("200 created before an hour ago", "?created_before="+f.since, http.StatusOK), oaIDs()),
		oaWith(list("200 a window, a page", "?limit=1&created_after="+f.since+"&created_before="+oaInAnHour(), http.StatusOK), oaWant("has_more", true)),
		list("200 a window, the next page", "?limit=1&cursor="+f.invoicesCursor+"&created_after="+f.since, http.StatusOK),
		oaWith(list("200 an offset, its + escaped", "?customer_id=cust-hooks&status=failed&created_after="+strings.Replace(oaOffset(f.since), "+", "%2B", 1), http.StatusOK),
			oaIDs(f.failed)),
		oaInvalid(list("400 created_after not a time", "?created_after=yesterday", http.StatusBadRequest), "created_after"),
		oaInvalid(list("400 an offset's + sent as is", "?created_after="+oaOffset(f.since), http.StatusBadRequest), "created_after"),
		oaInvalid(list("400 created_before empty", "?created_before=", http.StatusBadRequest), "created_before"),
		oaLax(list("400 created_before not after created_after", "?created_after="+f.since+"&created_before="+f.since, http.StatusBadRequest), "created_before"),
	}
}

// oaInAnHour is an hour from now, in RFC 3339.
func oaInAnHour() string { return time.Now().UTC().Add(time.Hour).Format(time.RFC3339) }

// oaOffset is the RFC 3339 time at, written with a +02:00 offset.
func oaOffset(at string) string {
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		panic(err)
	}
	return t.In(time.FixedZone("", 2*60*60)).Format(time.RFC3339)
}

// oaGetInvoiceCases are getInvoice's answers.
func oaGetInvoiceCases(f *oaFixtures) []oaCase {
	return []oaCase{
		oaWith(oaGet("200 created", "getInvoice", "/invoices/"+f.created, http.StatusOK), oaWant("status", "created")),
		oaWith(oaGet("200 processed", "getInvoice", "/invoices/"+f.processed, http.StatusOK), oaWant("status", "processed")),
		oaWith(oaGet("200 failed", "getInvoice", "/invoices/"+f.failed, http.StatusOK), oaWant("failure_reason", events.ReasonAmountExceedsLimit)),
		oaGet("404 unknown", "getInvoice", "/invoices/"+uuid.NewString(), http.StatusNotFound),
		oaInvalid(oaGet("404 not a UUID", "getInvoice", "/invoices/inv_123", http.StatusNotFound), ""),
		oaOn(oaGet("404 only what does not decode", "getInvoice", "/invoices/"+f.badInvoice, http.StatusNotFound), oaCorrupt),
	}
}
