package consume

import (
	"testing"
	"time"
)

func TestExponentialBackoff(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
		n         uint64
		want      time.Duration
	}{
		{"n 0 is base", time.Second, time.Minute, 0, time.Second},
		{"first delivery is base", time.Second, time.Minute, 1, time.Second},
		{"second doubles", time.Second, time.Minute, 2, 2 * time.Second},
		{"third doubles again", time.Second, time.Minute, 3, 4 * time.Second},
		{"sixth", time.Second, time.Minute, 6, 32 * time.Second},
		{"seventh is capped", time.Second, time.Minute, 7, time.Minute},
		{"far beyond stays capped", time.Second, time.Minute, 1_000_000, time.Minute},
		{"cap reached exactly", 100 * time.Millisecond, 800 * time.Millisecond, 4, 800 * time.Millisecond},
		{"just below cap", 100 * time.Millisecond, time.Second, 4, 800 * time.Millisecond},
		{"just above cap", 100 * time.Millisecond, time.Second, 5, time.Second},
		{"base above cap is capped", 10 * time.Second, 5 * time.Second, 1, 5 * time.Second},
		{"base equal to cap", time.Second, time.Second, 9, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExponentialBackoff(tt.base, tt.max)(tt.n); got != tt.want {
				t.Errorf("ExponentialBackoff(%s, %s)(%d) = %s, want %s", tt.base, tt.max, tt.n, got, tt.want)
			}
		})
	}
}
