package api

import (
	"fmt"
	"slices"
	"testing"

	"github.com/invoiced/invoiced/events"
)

func TestIndexPageFilters(t *testing.T) {
	f := newIndexFixture(t)
	a1 := f.request("cus_a")
	b1 := f.request("cus_b")
	a2 := f.request("cus_a")
	c1 := f.request("cus_c")
	a3 := f.request("cus_a")
	b2 := f.request("cus_b")
	a4 := f.request("cus_a")
	f.process(a1)
	f.fail(a3)
	f.process(b2)
	f.fail(c1)

	tests := []struct {
		name   string
		filter ListFilter
		want   []string // oldest first
	}{
		{"all", ListFilter{}, []string{a1, b1, a2, c1, a3, b2, a4}},
		{"customer a", ListFilter{CustomerID: "cus_a"}, []string{a1, a2, a3, a4}},
		{"customer b", ListFilter{CustomerID: "cus_b"}, []string{b1, b2}},
		{"unknown customer", ListFilter{CustomerID: "cus_z"}, nil},
		{"customer is exact", ListFilter{CustomerID: "CUS_A"}, nil},
		{"created", ListFilter{Status: events.StatusCreated}, []string{b1, a2, a4}},
		{"processed", ListFilter{Status: events.StatusProcessed}, []string{a1, b2}},
		{"failed", ListFilter{Status: events.StatusFailed}, []string{c1, a3}},
		{"customer a created", ListFilter{CustomerID: "cus_a", Status: events.StatusCreated}, []string{a2, a4}},
		{"customer a processed", ListFilter{CustomerID: "cus_a", Status: events.StatusProcessed}, []string{a1}},
		{"customer a failed", ListFilter{CustomerID: "cus_a", Status: events.StatusFailed}, []string{a3}},
		{"customer b failed", ListFilter{CustomerID: "cus_b", Status: events.StatusFailed}, nil},
		{"customer c failed", ListFilter{CustomerID: "cus_c", Status: events.StatusFailed}, []string{c1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := f.lasts(tt.want...)
			lasts, next := f.x.Page(tt.filter, 0, 100)
			if !slices.Equal(lasts, want) {
				t.Errorf("Page = %v, want %v", lasts, want)
			}
			if next != 0 {
				t.Errorf("next = %d, want 0", next)
			}
			for _, limit := range []int{1, 2, 3} {
				all, _ := walk(t, f.x, tt.filter, limit)
				if !slices.Equal(all, want) {
					t.Errorf("walk with limit %d = %v, want %v", limit, all, want)
				}
			}
		})
	}
}

func TestIndexStatusChanges(t *testing.T) {
	f := newIndexFixture(t)
	ids := f.requestMany("cus_a", 3)
	created := ListFilter{Status: events.StatusCreated}
	if lasts, _ := f.x.Page(created, 0, 10); !slices.Equal(lasts, []uint64{3, 2, 1}) {
		t.Fatalf("created = %v, want [3 2 1]", lasts)
	}

	processedAt := f.process(ids[1])
	if lasts, _ := f.x.Page(created, 0, 10); !slices.Equal(lasts, []uint64{3, 1}) {
		t.Errorf("created after processing = %v, want [3 1]", lasts)
	}
	if lasts, _ := f.x.Page(ListFilter{Status: events.StatusProcessed}, 0, 10); !slices.Equal(lasts, []uint64{processedAt}) {
		t.Errorf("processed = %v, want [%d]", lasts, processedAt)
	}
	// The list order stays by request; only the newest-event sequence moves.
	if lasts, _ := f.x.Page(ListFilter{}, 0, 10); !slices.Equal(lasts, []uint64{3, processedAt, 1}) {
		t.Errorf("all = %v, want [3 %d 1]", lasts, processedAt)
	}

	failedAt := f.fail(ids[0])
	if lasts, _ := f.x.Page(ListFilter{Status: events.StatusFailed}, 0, 10); !slices.Equal(lasts, []uint64{failedAt}) {
		t.Errorf("failed = %v, want [%d]", lasts, failedAt)
	}
	if lasts, _ := f.x.Page(ListFilter{}, 0, 10); !slices.Equal(lasts, []uint64{3, processedAt, failedAt}) {
		t.Errorf("all = %v, want [3 %d %d]", lasts, processedAt, failedAt)
	}
	if lasts, _ := f.x.Page(created, 0, 10); !slices.Equal(lasts, []uint64{3}) {
		t.Errorf("created = %v, want [3]", lasts)
	}
}

func TestStatusParse(t *testing.T) {
	tests := []struct {
		in      string
		want    events.Status
		wantErr bool
	}{
		{"", "", false},
		{"created", events.StatusCreated, false},
		{"processed", events.StatusProcessed, false},
		{"failed", events.StatusFailed, false},
		{"CREATED", "", true},
		{"Processed", "", true},
		{"pending", "", true},
		{" created", "", true},
		{"created,failed", "", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := parseStatus(tt.in)
			if tt.wantErr {
				if f := fieldsOf(t, err); !slices.Equal(f, []string{"status"}) {
					t.Errorf("error %v names %q, want [status]", err, f)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseStatus(%q) = %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseStatus(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
