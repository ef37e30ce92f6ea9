package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

type page struct {
	Data       []invoice `json:"data"`
	HasMore    bool      `json:"has_more"`
	NextCursor string    `json:"next_cursor"`
}

func (e *env) list(t testing.TB, query url.Values) page {
	t.Helper()
	r := e.do(t, http.MethodGet, "/invoices?"+query.Encode(), nil)
	if r.status != http.StatusOK {
		t.Fatalf("list %v: %d %s", query, r.status, r.body)
	}
	var p page
	r.json(t, &p)
	if p.HasMore != (p.NextCursor != "") {
		t.Fatalf("has_more %v with cursor %q", p.HasMore, p.NextCursor)
	}
	return p
}

// createN creates n invoices for customer and returns their IDs in order.
func (e *env) createN(t testing.TB, n int, customer string) []string {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		r := e.post(t, fmt.Sprintf("%s-%d", customer, i), fmt.Sprintf(`{"customer_id":%q,"amount_cents":%d}`, customer, i+1))
		if r.status != http.StatusCreated {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var inv invoice
		r.json(t, &inv)
		ids[i] = inv.ID
	}
	return ids
}

func TestListNewestFirstWithStableCursor(t *testing.T) {
	e := newEnv(t, envOptions{})
	ids := e.createN(t, 25, "cust_a")

	first := e.list(t, url.Values{"limit": {"10"}})
	if len(first.Data) != 10 || !first.HasMore {
		t.Fatalf("first page: %d items, has_more %v", len(first.Data), first.HasMore)
	}
	// Invoices arriving between pages must not shift the next pages.
	e.createN(t, 3, "cust_late")

	var got []string
	p := first
	for {
		for _, inv := range p.Data {
			got = append(got, inv.ID)
		}
		if !p.HasMore {
			break
		}
		p = e.list(t, url.Values{"limit": {"10"}, "cursor": {p.NextCursor}})
	}
	if len(got) != len(ids) {
		t.Fatalf("walked %d invoices, want %d", len(got), len(ids))
	}
	for i, id := range got {
		if want := ids[len(ids)-1-i]; id != want {
			t.Fatalf("item %d is %s, want %s (newest first)", i, id, want)
		}
	}
	if newest := e.list(t, url.Values{"limit": {"1"}}); newest.Data[0].CustomerID != "cust_late" {
		t.Fatalf("newest is %+v", newest.Data[0])
	}
}

func TestListFilters(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.createN(t, 3, "cust_a")
	e.createN(t, 4, "cust_b")

	onlyA := e.list(t, url.Values{"customer_id": {"cust_a"}})
	if len(onlyA.Data) != 3 || onlyA.Data[0].ID != a[2] {
		t.Fatalf("customer filter: %+v", onlyA.Data)
	}
	for _, inv := range onlyA.Data {
		if inv.CustomerID != "cust_a" {
			t.Fatalf("customer filter let through %+v", inv)
		}
	}
	if n := len(e.list(t, url.Values{"status": {"created"}}).Data); n != 7 {
		t.Fatalf("%d created, want 7", n)
	}
	if n := len(e.list(t, url.Values{"status": {"processed"}}).Data); n != 0 {
		t.Fatalf("%d processed, want 0 (no processor runs here)", n)
	}
	if n := len(e.list(t, url.Values{"customer_id": {"nobody"}}).Data); n != 0 {
		t.Fatalf("%d for an unknown customer", n)
	}
	if p := e.list(t, url.Values{}); len(p.Data) != 7 || p.HasMore {
		t.Fatalf("default page: %d items, has_more %v", len(p.Data), p.HasMore)
	}
}

func TestListRejectsBadParameters(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, tt := range []struct{ query, field string }{
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"limit=ten", "limit"},
		{"status=paid", "status"},
		{"cursor=garbage", "cursor"},
		{"sort=asc", "sort"},
		{"limit=1&limit=2", "limit"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			wantProblem(t, e.do(t, http.MethodGet, "/invoices?"+tt.query, nil), http.StatusBadRequest, tt.field)
		})
	}
}
