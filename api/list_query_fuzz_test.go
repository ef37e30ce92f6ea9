package api

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
)

// FuzzListQueries sends arbitrary query strings to the parsers of the
// three lists. Each either refuses the query as a 400 problem naming a
// field, or returns a filter that keeps the rules: IDs are canonical
// UUIDs, a time bound is what the query gave, created_after is before
// created_before, the page size is 1 to MaxListLimit.
func FuzzListQueries(f *testing.F) {
	for _, seed := range []string{
		"", "limit=1", "created_after=2024-05-01T00:00:00Z", "created_before=2024-05-01T00:00:00Z",
		"created_after=2024-05-01T00:00:00Z&created_before=2024-05-01T00:00:00Z",
		"created_after=2024-05-01T00:00:01Z&created_before=2024-05-01T00:00:00Z",
		"created_after=2024-05-01T00:00:00.123456789%2B02:00", "created_after=2024-05-01T00:00:00+02:00",
		"created_before=0001-01-01T00:00:00Z", "created_after=0001-01-01T00:00:00Z&created_before=0001-01-01T00:00:00Z",
		"created_after=9999-12-31T23:59:59Z", "created_after=2024-13-01T00:00:00Z", "created_after=", "created_before=now",
		"created_after=2024-05-01t00:00:00z", "created_after=2024-05-01T24:00:00Z", "created_after=2024-05-01T00:00:00-00:00",
		"invoice_id=6f1c4c52-3c2e-4a8f-9d5e-6e6f0c1a2b3c", "invoice_id=6F1C4C523C2E4A8F9D5E6E6F0C1A2B3C",
		"event_id={6f1c4c52-3c2e-4a8f-9d5e-6e6f0c1a2b3c}", "event_id=urn:uuid:6f1c4c52-3c2e-4a8f-9d5e-6e6f0c1a2b3c",
		"invoice_id=inv_1", "event_id=", "invoice_id=%00", "subscription_id=x&invoice_id=y&event_id=z",
		"cursor=" + encodeTimeCursor(subscriptionCursorPrefix, time.Unix(1, 2), "id"), "cursor=" + encodeCursor(7),
		"cursor=" + encodeTimeCursor(deliveryCursorPrefix, time.Unix(1, 2), "id"), "account=default", "account=A",
		"status=failed&status=dead", "limit=0", "limit=101", "x=1", ";", "%zz",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{URL: &url.URL{RawQuery: raw}}
		q, parseErr := url.ParseQuery(raw)
		check := func(list string, limit int, err error) bool {
			t.Helper()
			if err != nil {
				var v *ValidationError
				p := problemFor(err)
				if !errors.Is(err, ErrInvalid) || p.Status != http.StatusBadRequest || (errors.As(err, &v) && (len(v.Fields) == 0 || p.Field == "")) {
					t.Fatalf("%s ?%s: %v answers %+v", list, raw, err, p)
				}
				return false
			}
			if parseErr != nil {
				t.Fatalf("%s ?%s: a query that does not parse is taken", list, raw)
			}
			if limit < 1 || limit > MaxListLimit {
				t.Fatalf("%s ?%s: limit %d", list, raw, limit)
			}
			return true
		}
		df, _, limit, err := parseDeliveryQuery(r)
		if check("deliveries", limit, err) {
			for name, id := range map[string]string{"subscription_id": df.SubscriptionID, "invoice_id": df.InvoiceID, "event_id": df.EventID} {
				if u, err := uuid.Parse(id); q.Has(name) && (err != nil || u.String() != id) {
					t.Fatalf("?%s: %s %q is not a canonical UUID", raw, name, id)
				}
			}
			checkRange(t, raw, q, df.CreatedAfter, df.CreatedBefore)
		}
		inf, _, limit, err := parseListQuery(r)
		if check("invoices", limit, err) {
			checkRange(t, raw, q, inf.CreatedAfter, inf.CreatedBefore)
		}
		_, _, limit, err = parseSubscriptionQuery(r)
		check("subscriptions", limit, err)
	})
}

// checkRange checks the creation bounds a parser took from q.
func checkRange(t *testing.T, raw string, q url.Values, after, before time.Time) {
	t.Helper()
	given := func(name string) time.Time {
		v, err := time.Parse(time.RFC3339, q.Get(name))
		if q.Has(name) && err != nil {
			t.Fatalf("?%s: %s %q is not RFC 3339, yet taken", raw, name, q.Get(name))
		}
		return v
	}
	if a := given(createdAfterParam); !a.Equal(after) {
		t.Fatalf("?%s: created_after %v, given %v", raw, after, a)
	}
	b := given(createdBeforeParam)
	switch {
	case !q.Has(createdBeforeParam) && !before.IsZero():
		t.Fatalf("?%s: a created_before %v that was not given", raw, before)
	case q.Has(createdBeforeParam) && (before.IsZero() || before.Before(b) || before.Sub(b) > time.Nanosecond):
		t.Fatalf("?%s: created_before %v, given %v", raw, before, b)
	case q.Has(createdAfterParam) && q.Has(createdBeforeParam) && !after.Before(b):
		t.Fatalf("?%s: created_after %v is not before created_before %v", raw, after, b)
	}
}
