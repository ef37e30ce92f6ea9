package client

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryPolicy says how often and how patiently a call is retried.
type retryPolicy struct {
	maxAttempts int
	maxElapsed  time.Duration // 0: no bound but the context's
	backoff     time.Duration
	maxBackoff  time.Duration
}

// wait returns the jittered wait before retry number n (1 for the first
// retry): between half and all of backoff·2ⁿ⁻¹, capped at maxBackoff.
func (p retryPolicy) wait(n int) time.Duration {
	d := p.backoff
	for i := 1; i < n; i++ {
		if d > p.maxBackoff/2 {
			d = p.maxBackoff // and no doubling that could overflow
			break
		}
		d *= 2
	}
	d = min(d, p.maxBackoff)
	half := d / 2
	return half + rand.N(d-half+1)
}

// retryable reports why a failed attempt may be repeated, or "" when it
// may not. Rate limiting and an Idempotency-Key in flight are answered
// before anything is done, so they are retried for every call; a 502, 503
// or 504 and a network error may come after the service acted, so they are
// retried only for a call that is safe to repeat; a connection that could
// not be made is retried for every call, as nothing was sent.
func retryable(err error, safe bool) string {
	var e *Error
	if errors.As(err, &e) {
		switch {
		case e.Status == http.StatusTooManyRequests:
			return "rate limited"
		case e.Status == http.StatusConflict && e.Type == ErrRequestInFlight:
			return "request in flight"
		case safe && (e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout):
			return "service unavailable"
		}
		return ""
	}
	var ne *netError
	if !errors.As(err, &ne) {
		return "" // an answer that did not decode, or a request that could not be made
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return "connection failed"
	}
	if safe {
		return "network error"
	}
	return ""
}

// netError marks an error of the transport: no answer, or a cut-off one.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// nextWait returns how long to wait before attempt number attempt+1 of a
// call that started at start and whose last attempt failed with err, and
// false when it is not to be retried: the error is not transient, the
// attempts or the time budget are spent, or ctx ends before the wait would.
func (p retryPolicy) nextWait(ctx context.Context, err error, safe bool, attempt int, start time.Time) (time.Duration, string, bool) {
	why := retryable(err, safe)
	if why == "" || attempt >= p.maxAttempts || ctx.Err() != nil {
		return 0, why, false
	}
	d := p.wait(attempt)
	var e *Error
	if errors.As(err, &e) && e.RetryAfter > d {
		d = e.RetryAfter
	}
	if p.maxElapsed > 0 && time.Since(start)+d > p.maxElapsed {
		return 0, why, false
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < d {
		return 0, why, false
	}
	return d, why, true
}

// sleep waits for d or until ctx ends, whichever is first, and returns
// ctx's error in the second case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxRetryAfter caps a Retry-After, so that a wild value cannot overflow.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter returns the wait a Retry-After value asks for, in
// seconds or as an HTTP date, relative to now; 0 for none or a malformed
// one.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}
