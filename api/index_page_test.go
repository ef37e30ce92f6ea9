package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestIndexPageNewestFirst(t *testing.T) {
	f := newIndexFixture(t)
	if lasts, next := f.x.Page(ListFilter{}, 0, 10); len(lasts) != 0 || next != 0 {
		t.Fatalf("empty index: Page = %v, %d; want nothing", lasts, next)
	}
	ids := f.requestMany("cus_a", 5)
	if got := entriesLen(f.x); got != 5 {
		t.Errorf("Len = %d, want 5", got)
	}
	lasts, next := f.x.Page(ListFilter{}, 0, 10)
	if want := []uint64{5, 4, 3, 2, 1}; !slices.Equal(lasts, want) {
		t.Errorf("Page = %v, want %v", lasts, want)
	}
	if want := f.lasts(ids...); !slices.Equal(lasts, want) {
		t.Errorf("Page = %v, want %v", lasts, want)
	}
	if next != 0 {
		t.Errorf("next = %d, want 0 (no more)", next)
	}
}

func TestIndexPageWalk(t *testing.T) {
	f := newIndexFixture(t)
	var ids []string
	for i := range 10 {
		ids = append(ids, f.request(fmt.Sprintf("cus_%d", i%3)))
		if i%4 == 0 {
			f.other("$JS.EVENT.noise") // leave gaps in the sequence
		}
	}
	want := f.lasts(ids...)
	tests := []struct {
		limit, pages int
	}{
		{1, 10}, {2, 5}, {3, 4}, {4, 3}, {7, 2}, {9, 2}, {10, 1}, {11, 1}, {100, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit %d", tt.limit), func(t *testing.T) {
			all, pages := walk(t, f.x, ListFilter{}, tt.limit)
			if !slices.Equal(all, want) {
				t.Errorf("walk = %v, want each invoice once, newest first: %v", all, want)
			}
			if pages != tt.pages {
				t.Errorf("pages = %d, want %d", pages, tt.pages)
			}
		})
	}
}

func TestIndexPageNextCursor(t *testing.T) {
	f := newIndexFixture(t)
	ids := f.requestMany("cus_a", 5)
	lasts, next := f.x.Page(ListFilter{}, 0, 2)
	if want := f.lasts(ids[3:]...); !slices.Equal(lasts, want) {
		t.Errorf("first page = %v, want %v", lasts, want)
	}
	if next != f.req[ids[3]] {
		t.Errorf("next = %d, want the requested sequence %d of the last one returned", next, f.req[ids[3]])
	}
	lasts, _ = f.x.Page(ListFilter{}, next, 2)
	if want := f.lasts(ids[1:3]...); !slices.Equal(lasts, want) {
		t.Errorf("second page = %v, want %v", lasts, want)
	}
	// A cursor beyond the newest invoice lists from the newest.
	lasts, _ = f.x.Page(ListFilter{}, f.seq+100, 1)
	if want := f.lasts(ids[4]); !slices.Equal(lasts, want) {
		t.Errorf("page before %d = %v, want %v", f.seq+100, lasts, want)
	}
	// A cursor at the oldest invoice lists nothing.
	lasts, next = f.x.Page(ListFilter{}, f.req[ids[0]], 10)
	if len(lasts) != 0 || next != 0 {
		t.Errorf("page before the oldest = %v, %d; want nothing", lasts, next)
	}
}

func TestIndexPageCursorStable(t *testing.T) {
	f := newIndexFixture(t)
	old := f.requestMany("cus_a", 6)
	first, next := f.x.Page(ListFilter{}, 0, 2)
	if next == 0 {
		t.Fatal("first page has no next cursor")
	}
	// New invoices, and an outcome of an old one, arrive between pages.
	added := f.requestMany("cus_a", 3)
	f.process(old[5]) // on the first page already
	f.process(old[1]) // on a later page: its newest sequence changes

	seen := slices.Clone(first)
	for before := next; before != 0; {
		var lasts []uint64
		lasts, before = f.x.Page(ListFilter{}, before, 2)
		seen = append(seen, lasts...)
	}
	want := append(slices.Clone(first), f.lasts(old[:4]...)...)
	if !slices.Equal(seen, want) {
		t.Errorf("walk across new invoices = %v, want %v", seen, want)
	}
	fresh, _ := walk(t, f.x, ListFilter{}, 4)
	if want := f.lasts(append(slices.Clone(old), added...)...); !slices.Equal(fresh, want) {
		t.Errorf("fresh walk = %v, want %v", fresh, want)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, seq := range []uint64{1, 2, 9, 10, 42, 1 << 32, math.MaxUint64} {
		t.Run(fmt.Sprint(seq), func(t *testing.T) {
			c := encodeCursor(seq)
			if c == "" || strings.ContainsAny(c, "+/=") {
				t.Errorf("encodeCursor(%d) = %q, want a non-empty URL-safe string", seq, c)
			}
			got, err := decodeCursor(c)
			if err != nil {
				t.Fatalf("decodeCursor(%q) = %v", c, err)
			}
			if got != seq {
				t.Errorf("decodeCursor(encodeCursor(%d)) = %d", seq, got)
			}
		})
	}
	if encodeCursor(1) == encodeCursor(2) {
		t.Error("different sequences give the same cursor")
	}
}

func TestCursorRejectsGarbage(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct{ name, cursor string }{
		{"empty", ""},
		{"not base64", "!!!"},
		{"plain text", "v1.5"},
		{"padded standard base64", base64.StdEncoding.EncodeToString([]byte("v1.5"))},
		{"zero", b64("v1.0")},
		{"other version", b64("v2.5")},
		{"no prefix", b64("5")},
		{"no digits", b64("v1.")},
		{"letters", b64("v1.abc")},
		{"negative", b64("v1.-1")},
		{"fraction", b64("v1.1.5")},
		{"spaces", b64("v1. 5")},
		{"overflow", b64("v1.18446744073709551616")},
		{"trailing junk", encodeCursor(5) + "!"},
		{"truncated", encodeCursor(123456)[:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq, err := decodeCursor(tt.cursor)
			if err == nil {
				t.Fatalf("decodeCursor(%q) = %d, want an error", tt.cursor, seq)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			var v *ValidationError
			if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != "cursor" {
				t.Errorf("error %v does not name the cursor field", err)
			}
		})
	}
}

func TestLimitParse(t *testing.T) {
	const def, maxLimit = 20, 100
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", def, false},
		{"1", 1, false},
		{"50", 50, false},
		{"100", 100, false},
		{"0", 0, true},
		{"101", 0, true},
		{"-1", 0, true},
		{"abc", 0, true},
		{"1.5", 0, true},
		{" 5", 0, true},
		{"5 ", 0, true},
		{"1e2", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := parseLimit(tt.in, def, maxLimit)
			if tt.wantErr {
				if f := fieldsOf(t, err); !slices.Equal(f, []string{"limit"}) {
					t.Errorf("error %v names %q, want [limit]", err, f)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseLimit(%q) = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseLimit(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}
