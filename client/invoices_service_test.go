package client_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/client"
)

// TestCreateInvoiceIsIdempotent creates an invoice with a key made by the
// client, replays it with that key, and reuses the key for another request.
func TestCreateInvoiceIsIdempotent(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	params := client.InvoiceParams{CustomerID: "cust_idem", AmountCents: 2500, Currency: "EUR", Metadata: map[string]string{"order": "A-17"}}
	var info client.ResponseInfo
	first, err := c.CreateInvoice(ctx, params, client.WithResponseInfo(&info), client.WithRequestID("client-test-create"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := uuid.Parse(first.IdempotencyKey); err != nil {
		t.Fatalf("made key %q is not a UUID: %v", first.IdempotencyKey, err)
	}
	if first.Replayed || first.ID == "" || first.Status != client.InvoiceCreated || first.AmountCents != 2500 ||
		first.Currency != "EUR" || first.Metadata["order"] != "A-17" || first.Account == "" || first.CreatedAt.IsZero() {
		t.Fatalf("created: %+v", first)
	}
	if info.StatusCode != http.StatusCreated || info.Attempts != 1 || info.RequestID != "client-test-create" ||
		info.Header.Get("Location") != "/invoices/"+first.ID {
		t.Fatalf("response info: %+v", info)
	}

	again, err := c.CreateInvoice(ctx, params, client.WithIdempotencyKey(first.IdempotencyKey))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) || again.IdempotencyKey != first.IdempotencyKey {
		t.Fatalf("replay: %+v, first %+v", again, first)
	}

	params.AmountCents = 9900
	_, err = c.CreateInvoice(ctx, params, client.WithIdempotencyKey(first.IdempotencyKey), client.WithResponseInfo(&info))
	var apiErr *client.Error
	if !errors.Is(err, client.ErrIdempotencyKeyReused) || !errors.As(err, &apiErr) {
		t.Fatalf("key reused for another request: %v", err)
	}
	if apiErr.Status != http.StatusUnprocessableEntity || apiErr.Title == "" || apiErr.Detail == "" || apiErr.RequestID == "" ||
		apiErr.RequestID != info.RequestID || info.Attempts != 1 {
		t.Fatalf("422: %+v, info %+v", apiErr, info)
	}
}

// TestCreateInvoiceReportsEveryFieldAtFault sends three broken fields and
// gets each back in the error.
func TestCreateInvoiceReportsEveryFieldAtFault(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	_, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: " ", AmountCents: 0, Currency: "usd"})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || !errors.Is(err, client.ErrInvalidRequest) {
		t.Fatalf("invalid invoice: %v", err)
	}
	var fields []string
	for _, f := range apiErr.Errors {
		fields = append(fields, f.Field)
	}
	for _, want := range []string{"customer_id", "amount_cents", "currency"} {
		if !slices.Contains(fields, want) {
			t.Errorf("errors %v lack %s", fields, want)
		}
	}
	if apiErr.Status != http.StatusBadRequest || apiErr.Field != apiErr.Errors[0].Field {
		t.Fatalf("400: %+v", apiErr)
	}
}

// TestGetInvoiceFollowsProcessing reads an invoice until it is processed,
// and an unknown one.
func TestGetInvoiceFollowsProcessing(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	created, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: "cust_get", AmountCents: 700})
	if err != nil {
		t.Fatal(err)
	}
	var inv *client.Invoice
	eventually(t, 15*time.Second, "the invoice is processed", func() bool {
		inv, err = c.GetInvoice(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		return inv.Status == client.InvoiceProcessed
	})
	if inv.ID != created.ID || inv.Currency != "USD" || inv.ProcessedAt.IsZero() || !inv.FailedAt.IsZero() || inv.FailureReason != "" {
		t.Fatalf("processed: %+v", inv)
	}

	_, err = c.GetInvoice(ctx, uuid.NewString())
	var apiErr *client.Error
	if !errors.Is(err, client.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Fatalf("unknown invoice: %v", err)
	}
	for _, id := range []string{"", "..", "."} {
		if _, err := c.GetInvoice(ctx, id); !errors.Is(err, client.ErrInvalidID) || errors.As(err, &apiErr) {
			t.Fatalf("GetInvoice(%q) must fail before any request: %v", id, err)
		}
	}
}

// TestListInvoicesFollowsCursors lists five invoices two at a time, newest
// first, by iterator and page by page.
func TestListInvoicesFollowsCursors(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	customer := "cust_list_" + uuid.NewString()
	for amount := int64(1); amount <= 5; amount++ {
		if _, err := c.CreateInvoice(ctx, client.InvoiceParams{CustomerID: customer, AmountCents: amount}); err != nil {
			t.Fatal(err)
		}
	}
	params := client.InvoiceListParams{CustomerID: customer, Limit: 2}
	var amounts []int64
	for inv, err := range c.ListInvoices(ctx, params) {
		if err != nil {
			t.Fatal(err)
		}
		amounts = append(amounts, inv.AmountCents)
	}
	if !slices.Equal(amounts, []int64{5, 4, 3, 2, 1}) {
		t.Fatalf("listed %v, want 5 4 3 2 1", amounts)
	}

	var pages []int
	for {
		page, err := c.ListInvoicesPage(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, len(page.Data))
		if page.HasMore != (page.NextCursor != "") {
			t.Fatalf("page %d: has_more %v, next_cursor %q", len(pages), page.HasMore, page.NextCursor)
		}
		if !page.HasMore {
			break
		}
		params.Cursor = page.NextCursor
	}
	if !slices.Equal(pages, []int{2, 2, 1}) {
		t.Fatalf("page sizes %v", pages)
	}

	seen := 0
	for _, err := range c.ListInvoices(ctx, client.InvoiceListParams{CustomerID: customer, Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen++; seen == 3 {
			break
		}
	}
	if seen != 3 {
		t.Fatalf("stopped after %d", seen)
	}

	eventually(t, 15*time.Second, "every invoice listed as processed", func() bool {
		n := 0
		for _, err := range c.ListInvoices(ctx, client.InvoiceListParams{CustomerID: customer, Status: client.InvoiceProcessed}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n == 5
	})
}

// TestListInvoicesYieldsOneError asks for an oversized page: the iterator
// yields the 400 once and ends.
func TestListInvoicesYieldsOneError(t *testing.T) {
	c, ctx := newClient(t), testContext(t)
	var errs []error
	for inv, err := range c.ListInvoices(ctx, client.InvoiceListParams{Limit: 1000}) {
		if err == nil {
			t.Fatalf("listed %+v", inv)
		}
		errs = append(errs, err)
	}
	var apiErr *client.Error
	if len(errs) != 1 || !errors.As(errs[0], &apiErr) || apiErr.Field != "limit" || !errors.Is(errs[0], client.ErrInvalidRequest) {
		t.Fatalf("errors %v", errs)
	}
	if _, err := c.ListInvoicesPage(ctx, client.InvoiceListParams{Cursor: "not-a-cursor"}); !errors.Is(err, client.ErrInvalidRequest) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// TestAPIKeyIsRequired calls without a key and with a wrong one.
func TestAPIKeyIsRequired(t *testing.T) {
	ctx := testContext(t)
	for name, opts := range map[string][]client.Option{"none": nil, "wrong": {client.WithAPIKey("wrong-key-0123456789abcdef0123456789")}} {
		c, err := client.New(baseURL, opts...)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetInvoice(ctx, uuid.NewString())
		var apiErr *client.Error
		if !errors.Is(err, client.ErrUnauthorized) || !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
			t.Fatalf("%s key: %v", name, err)
		}
		for _, err := range c.ListSubscriptions(ctx, client.SubscriptionListParams{}) {
			if !errors.Is(err, client.ErrUnauthorized) {
				t.Fatalf("%s key, subscriptions: %v", name, err)
			}
		}
	}
}
