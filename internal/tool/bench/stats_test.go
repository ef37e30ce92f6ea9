package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var l Latencies
	if got := l.Percentile(99); got != 0 {
		t.Fatalf("empty: %v", got)
	}
	for i := 1; i <= 100; i++ {
		l.Add(time.Duration(i) * time.Millisecond)
	}
	for _, tt := range []struct{ p, want float64 }{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := l.Percentile(tt.p); got != tt.want {
			t.Fatalf("p%v = %v, want %v", tt.p, got, tt.want)
		}
	}
	if l.Len() != 100 {
		t.Fatalf("len %d", l.Len())
	}
}
