package config_test

import (
	"io"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/config"
)

func TestParseBenchRefusesBadLoads(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ok   bool
	}{
		{name: "defaults", ok: true},
		{name: "open loop", args: []string{"--rate", "2500"}, ok: true},
		{name: "highest rate", args: []string{"--rate", "1000000"}, ok: true},
		{name: "negative rate", args: []string{"--rate", "-1"}},
		{name: "rate too high to pace", args: []string{"--rate", "2e9"}},
		{name: "infinite rate", args: []string{"--rate", "Inf"}},
		{name: "not a number", args: []string{"--rate", "NaN"}},
		{name: "no clients", args: []string{"--concurrency", "0"}},
		{name: "no duration", args: []string{"--duration", "0s"}},
		{name: "unknown fsync", args: []string{"--fsync", "never"}},
		{name: "ordered per invoice", args: []string{"--ordering", "per_invoice"}, ok: true},
		{name: "unknown ordering", args: []string{"--ordering", "per_customer"}},
		{name: "both events, unordered", args: []string{"--event-types", "invoice.created,invoice.processed"}, ok: true},
		{name: "no outcome to time", args: []string{"--event-types", "invoice.created"}},
		{name: "an event bench makes none of", args: []string{"--event-types", "invoice.processed,invoice.failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.ParseBench(tt.args, io.Discard)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseBench(%q) error %v, want ok %v", tt.args, err, tt.ok)
			}
		})
	}
}

func TestBenchEventTypesFollowTheOrdering(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "invoice.processed"},
		{[]string{"--ordering", "per_invoice"}, "invoice.created,invoice.processed"},
		{[]string{"--ordering", "per_invoice", "--event-types", "invoice.processed"}, "invoice.processed"},
	} {
		b, err := config.ParseBench(tt.args, io.Discard)
		if got := strings.Join(b.EventTypes, ","); err != nil || got != tt.want {
			t.Errorf("%q: event types %q (%v), want %q", tt.args, got, err, tt.want)
		}
	}
}
