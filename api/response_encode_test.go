package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
)

// responseTimes are times with and without sub-second precision, in and out
// of UTC, and some that RFC 3339 cannot represent.
var responseTimes = []struct {
	name string
	t    time.Time
}{
	{"whole second", time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)},
	{"half second", time.Date(2025, 3, 1, 12, 0, 0, 500_000_000, time.UTC)},
	{"microseconds", time.Date(2025, 3, 1, 12, 0, 0, 123_456_000, time.UTC)},
	{"one microsecond", time.Date(2025, 3, 1, 12, 0, 0, 1_000, time.UTC)},
	{"nanoseconds", time.Date(2025, 3, 1, 12, 0, 0, 123_456_789, time.UTC)},
	{"positive offset", time.Date(2025, 3, 1, 12, 0, 0, 10_000_000, time.FixedZone("IST", 5*3600+1800))},
	{"negative offset", time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("PST", -8*3600))},
	{"offset with seconds", time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("", 3600+17))},
	{"zero", time.Time{}},
	{"year 9999", time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)},
	{"monotonic reading", time.Unix(1_700_000_000, 42).Add(time.Nanosecond)},
	{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"negative year", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)},
	{"offset of 24 hours", time.Date(2025, 3, 1, 12, 0, 0, 0, time.FixedZone("", 24*3600))},
}

// responseStrings are strings that encoding/json escapes in one way or
// another.
var responseStrings = []string{
	"", "plain", `<script>&amp;</script>`, "line\u2028para\u2029", `quote " backslash \ slash /`,
	"\x00\x01\b\f\n\r\t\x1f\x7f", "bad \xff\xfe UTF-8 \xed\xa0\x80", "é😀 ünïcödé", "\ufffd",
}

// responseInvoices returns invoices that cover every field of the response
// and each way of encoding it.
func responseInvoices() map[string]events.Invoice {
	base := events.Invoice{
		ID: "3f1e5a4c-9d2b-5e7f-8a6b-1c2d3e4f5a6b", Status: events.StatusCreated,
		CustomerID: "cus_1", AmountCents: 2500, Currency: "USD",
		CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 123_456_000, time.UTC),
	}
	out := map[string]events.Invoice{"nil metadata": base}
	with := func(name string, edit func(*events.Invoice)) {
		inv := base
		edit(&inv)
		out[name] = inv
	}
	with("empty metadata", func(inv *events.Invoice) { inv.Metadata = map[string]string{} })
	with("metadata of many pairs", func(inv *events.Invoice) { inv.Metadata = metadataOf(MaxMetadataPairs + 5) })
	with("negative amount", func(inv *events.Invoice) { inv.AmountCents = -1 << 63 })
	with("failed", func(inv *events.Invoice) {
		at := base.CreatedAt.Add(time.Second)
		inv.Status, inv.FailedAt, inv.FailureReason = events.StatusFailed, &at, "card <declined> & \"refused\""
	})
	for i, s := range responseStrings {
		with("strings "+strconv.Itoa(i), func(inv *events.Invoice) {
			inv.ID, inv.Status, inv.CustomerID, inv.Currency = s, events.Status(s), s, s
			inv.Description, inv.FailureReason = s, s
			inv.Metadata = map[string]string{s: s, "k" + s: "v", "<": s, "a": "\u2028"}
		})
	}
	for _, tt := range responseTimes {
		with("created "+tt.name, func(inv *events.Invoice) { inv.CreatedAt = tt.t })
		with("processed "+tt.name, func(inv *events.Invoice) { inv.Status, inv.ProcessedAt = events.StatusProcessed, &tt.t })
		with("failed "+tt.name, func(inv *events.Invoice) { inv.FailedAt = &tt.t })
		with("processed and failed "+tt.name, func(inv *events.Invoice) { inv.ProcessedAt, inv.FailedAt = &base.CreatedAt, &tt.t })
	}
	return out
}

// compareResponse fails unless appendInvoiceResponse encodes inv as
// json.Marshal does, or fails where it fails.
func compareResponse(t *testing.T, inv events.Invoice) {
	t.Helper()
	want, wantErr := json.Marshal(newInvoiceResponse(inv))
	got, err := appendInvoiceResponse([]byte("prefix"), inv)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("appendInvoiceResponse(%+v) error %v, json.Marshal error %v", inv, err, wantErr)
	case err != nil:
		return
	case !bytes.Equal(got, append([]byte("prefix"), want...)):
		t.Fatalf("appendInvoiceResponse(%+v):\n got %s\nwant prefix%s", inv, got, want)
	}
}

func TestAppendInvoiceResponseMatchesMarshal(t *testing.T) {
	for name, inv := range responseInvoices() {
		t.Run(name, func(t *testing.T) { compareResponse(t, inv) })
	}
}

func TestWriteInvoiceMatchesWriteJSON(t *testing.T) {
	for name, inv := range responseInvoices() {
		t.Run(name, func(t *testing.T) {
			got, want := httptest.NewRecorder(), httptest.NewRecorder()
			writeInvoice(got, http.StatusCreated, inv)
			writeJSON(want, http.StatusCreated, newInvoiceResponse(inv))
			if got.Code != want.Code {
				t.Errorf("status %d, want %d", got.Code, want.Code)
			}
			if !reflect.DeepEqual(got.Header(), want.Header()) {
				t.Errorf("headers %v, want %v", got.Header(), want.Header())
			}
			if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) {
				t.Errorf("body\n %s\nwant\n %s", got.Body, want.Body)
			}
		})
	}
}

// FuzzInvoiceResponse compares appendInvoiceResponse with json.Marshal on
// arbitrary invoices.
func FuzzInvoiceResponse(f *testing.F) {
	for _, s := range responseStrings {
		for _, tt := range responseTimes {
			_, offset := tt.t.Zone()
			f.Add(s, s, int64(42), s, tt.t.Unix(), int64(tt.t.Nanosecond()), offset, true, false)
		}
	}
	f.Fuzz(func(t *testing.T, text, key string, amount int64, reason string, secs, nanos int64, offset int, processed, failed bool) {
		at := time.Unix(secs, nanos).In(time.FixedZone("", offset))
		inv := events.Invoice{
			ID: text, Status: events.Status(reason), CustomerID: text, AmountCents: amount,
			Currency: key, Description: text, FailureReason: reason, CreatedAt: at,
			Metadata: map[string]string{key: text, text: reason, reason: key},
		}
		if processed {
			inv.ProcessedAt = &at
		}
		if failed {
			later := at.Add(time.Duration(nanos))
			inv.FailedAt = &later
		}
		compareResponse(t, inv)
	})
}
