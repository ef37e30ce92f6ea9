package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/api"
)

// oaCases are the requests replayed against the main, corrupt and broken
// servers: each operation's answers, success and every error, in the order
// they are replayed, which matters: later cases see what earlier ones did.
func oaCases(t testing.TB, f *oaFixtures, etag string) []oaCase {
	t.Helper()
	return slices.Concat(
		oaCreateInvoiceCases(t, f),
		oaListInvoicesCases(f),
		oaGetInvoiceCases(f),
		oaEventCases(f),
		oaSigningCases(f),
		oaOrderingCases(f),
		oaCreateSubscriptionCases(t, f),
		oaReadSubscriptionCases(f),
		oaUpdateSubscriptionCases(f),
		oaDeleteAndRotateCases(f),
		oaRecoverCases(f),
		oaTestEventCases(f),
		oaReadDeliveryCases(f),
		oaRetryCases(f),
		oaQueryCases(),
		oaPortCases(f),
		oaOpenCases(etag),
		oaAccountCases(),
	)
}

// oaInvalid marks c as breaking the document; its problem names field.
func oaInvalid(c oaCase, field string) oaCase { c.invalid, c.field = true, field; return c }

// oaLax marks c as refused for a rule stated in prose only; its problem
// names field.
func oaLax(c oaCase, field string) oaCase { c.lax, c.field = true, field; return c }

// oaOn sends c to server s.
func oaOn(c oaCase, s oaServer) oaCase { c.on = s; return c }

// oaWith checks c's answer with check too.
func oaWith(c oaCase, check func(testing.TB, oaResult)) oaCase { c.check = check; return c }

// oaOpen sends c without an API key.
func oaOpen(c oaCase) oaCase { c.auth = "-"; return c }

// oaHeaders sends c with header, name and value pairs, alone.
func oaHeaders(c oaCase, header ...string) oaCase { c.header = header; return c }

// oaChunked sends c's body without a Content-Length.
func oaChunked(c oaCase) oaCase { c.chunked = true; return c }

// oaGet is a GET of path, which routes to op.
func oaGet(name, op, path string, status int) oaCase {
	return oaCase{name: name, op: op, method: http.MethodGet, path: path, status: status}
}

// oaJSON is the Content-Type header of a JSON body, and more headers.
func oaJSON(header ...string) []string {
	return append([]string{"Content-Type", "application/json"}, header...)
}

// oaMarshal encodes v, which cannot fail.
func oaMarshal(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// oaPadded is body with white space after it, past the body limit.
func oaPadded(body string) string {
	return body + strings.Repeat(" ", api.MaxBodyBytes+1-len(body))
}

// oaWant checks that a JSON answer has field with value want.
func oaWant(field string, want any) func(testing.TB, oaResult) {
	return func(t testing.TB, r oaResult) {
		t.Helper()
		var m map[string]any
		r.decode(t, &m)
		if got := m[field]; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s is %v, want %v: %s", field, got, want, r.body)
		}
	}
}

// oaWantHeader checks that an answer has header name with value want.
func oaWantHeader(name, want string) func(testing.TB, oaResult) {
	return func(t testing.TB, r oaResult) {
		t.Helper()
		if got := r.header.Get(name); got != want {
			t.Fatalf("%s %q, want %q", name, got, want)
		}
	}
}

// oaStatuses checks that a page lists records with exactly these statuses.
func oaStatuses(statuses ...string) func(testing.TB, oaResult) {
	return func(t testing.TB, r oaResult) {
		t.Helper()
		var p struct{ Data []struct{ Status string } }
		r.decode(t, &p)
		var got []string
		for _, d := range p.Data {
			got = append(got, d.Status)
		}
		if !slices.Equal(got, statuses) {
			t.Fatalf("listed statuses %v, want %v", got, statuses)
		}
	}
}

// oaIDs checks that a page lists exactly the invoices ids.
func oaIDs(ids ...string) func(testing.TB, oaResult) {
	return func(t testing.TB, r oaResult) {
		t.Helper()
		var p struct{ Data []struct{ ID string } }
		r.decode(t, &p)
		var got []string
		for _, d := range p.Data {
			got = append(got, d.ID)
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("listed %v, want %v", got, ids)
		}
	}
}
