package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/events"
)

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
