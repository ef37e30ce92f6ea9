package webhook

import (
	"strings"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	s, err := ParseSchedule(DefaultSchedule)
	if err != nil || len(s) != 7 || s[1] != 5*time.Minute || s.String() != "5s,5m0s,30m0s,2h0m0s,5h0m0s,10h0m0s,10h0m0s" {
		t.Fatalf("%v %v", s, err)
	}
	for _, bad := range []string{"", "5s,", "5s,-1s", "soon", "0s"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	tests := []struct {
		failed int
		rnd    float64
		want   time.Duration
		ok     bool
	}{
		{0, 0.5, 0, false},
		{1, 0.5, 5 * time.Second, true},
		{1, 0, 4 * time.Second, true},
		{1, 1, 6 * time.Second, true},
		{7, 0.5, 10 * time.Hour, true},
		{8, 0.5, 0, false},
	}
	for _, tt := range tests {
		got, ok := s.Next(tt.failed, func() float64 { return tt.rnd })
		if got != tt.want || ok != tt.ok {
			t.Fatalf("Next(%d, %v) = %v %v, want %v %v", tt.failed, tt.rnd, got, ok, tt.want, tt.ok)
		}
	}
	for _, tt := range []struct{ ra, sched, want time.Duration }{
		{time.Second, 10 * time.Second, 10 * time.Second},
		{15 * time.Second, 10 * time.Second, 15 * time.Second},
		{time.Hour, 10 * time.Second, 20 * time.Second},
	} {
		if got := ClampRetryAfter(tt.ra, tt.sched); got != tt.want {
			t.Fatalf("ClampRetryAfter(%v, %v) = %v", tt.ra, tt.sched, got)
		}
	}
}

func TestScheduleLimits(t *testing.T) {
	long := strings.TrimSuffix(strings.Repeat("1s,", MaxRetries+1), ",")
	for _, s := range []string{long, "6d", "100h,100h"} {
		if _, err := ParseSchedule(strings.ReplaceAll(s, "6d", "144h")); err == nil {
			t.Fatalf("%q accepted", s)
		}
	}
	if _, err := ParseSchedule(strings.TrimSuffix(strings.Repeat("1s,", MaxRetries), ",")); err != nil {
		t.Fatalf("%d delays refused: %v", MaxRetries, err)
	}
}
