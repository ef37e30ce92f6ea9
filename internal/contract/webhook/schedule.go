package webhook

import (
	"fmt"
	"strings"
	"time"
)

// DefaultSchedule is the default retry schedule: the delays before the
// second to eighth attempts, as Svix spaces them.
const DefaultSchedule = "5s,5m,30m,2h,5h,10h,10h"

// Jitter is the fraction by which a scheduled delay varies either way.
const Jitter = 0.2

// Schedule is the list of delays before each retry; a delivery gets
// len(Schedule)+1 scheduled attempts.
type Schedule []time.Duration

// Limits of a schedule: the retries fit in the delivery log with room for
// manual attempts, and all of them happen while the stream keeps tasks.
const (
	MaxRetries   = 50
	MaxRetrySpan = 6 * 24 * time.Hour
)

// ParseSchedule reads a comma-separated list of positive durations. It
// fails on an empty list, a bad duration, more than MaxRetries delays or
// delays that add up to more than MaxRetrySpan (jitter included).
func ParseSchedule(s string) (Schedule, error) {
	var out Schedule
	var total time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("retry schedule %q: %q is not a positive duration", s, part)
		}
		out, total = append(out, d), total+d
	}
	if len(out) > MaxRetries || float64(total)*(1+Jitter) > float64(MaxRetrySpan) {
		return nil, fmt.Errorf("retry schedule %q: at most %d delays adding up to %s with jitter", s, MaxRetries, MaxRetrySpan)
	}
	return out, nil
}

// String returns the schedule as ParseSchedule reads it.
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// Next returns the delay before the next scheduled attempt after failed
// scheduled attempts, jittered by ±Jitter using rnd (uniform in [0,1)), and
// false when the schedule is exhausted.
func (s Schedule) Next(failed int, rnd func() float64) (time.Duration, bool) {
	if failed < 1 || failed > len(s) {
		return 0, false
	}
	base := s[failed-1]
	return time.Duration(float64(base) * (1 - Jitter + 2*Jitter*rnd())), true
}

// ClampRetryAfter returns the delay a receiver's Retry-After asks for,
// kept between the scheduled delay and twice it.
func ClampRetryAfter(retryAfter, scheduled time.Duration) time.Duration {
	return min(max(retryAfter, scheduled), 2*scheduled)
}
