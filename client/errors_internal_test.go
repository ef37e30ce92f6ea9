package client

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// TestDecodeError decodes a 400 with fields, a problem without field, a
// page that is no problem, and the Retry-After forms.
func TestDecodeError(t *testing.T) {
	h := http.Header{"X-Request-Id": {"req-1"}, "Retry-After": {"3"}}
	e := decodeError(400, h, []byte(`{"type":"urn:invoiced:problem:invalid-request","title":"The request is invalid","status":400,`+
		`"detail":"amount_cents: must be at least 1","field":"amount_cents","errors":[{"field":"amount_cents","detail":"must be at least 1"},{"field":"currency","detail":"unknown"}]}`))
	if e.Status != 400 || e.Type != ErrInvalidRequest || e.Field != "amount_cents" || len(e.Errors) != 2 || e.RequestID != "req-1" || e.RetryAfter != 3*time.Second {
		t.Fatalf("%+v", e)
	}
	if !errors.Is(e, ErrInvalidRequest) || errors.Is(e, ErrNotFound) {
		t.Fatal("Is")
	}
	want := "invoiced: 400 The request is invalid: amount_cents: must be at least 1 [request req-1]"
	if e.Error() != want {
		t.Fatalf("%q\nwant %q", e.Error(), want)
	}

	e = decodeError(400, http.Header{}, []byte(`{"type":"urn:invoiced:problem:invalid-request","title":"T","status":400,"errors":[{"field":"url","detail":"bad"}]}`))
	if e.Field != "url" || e.Error() != "invoiced: 400 T (url: bad)" {
		t.Fatalf("field from errors: %+v %q", e, e.Error())
	}

	e = decodeError(502, http.Header{}, []byte("\xff"+strings.Repeat("x", 500)))
	if e.Type != "" || e.Title != "Bad Gateway" || !utf8.ValidString(e.Detail) || len(e.Detail) > maxDetail || e.Is(ProblemType("")) {
		t.Fatalf("not a problem: %+v", e)
	}
}

// TestParseRetryAfter reads seconds and HTTP dates, and nothing else.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"1":                             time.Second,
		" 120 ":                         2 * time.Minute,
		"0":                             0,
		"-5":                            0,
		"1.5":                           0,
		"soon":                          0,
		"99999999999999999999":          0,
		"9999999999":                    maxRetryAfter,
		"Fri, 02 Jan 2026 03:04:35 GMT": 30 * time.Second,
		"Fri, 02 Jan 2026 03:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

// TestBackoffGrowsWithJitterAndCap checks each wait against its bounds.
func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	p := retryPolicy{backoff: 100 * time.Millisecond, maxBackoff: time.Second}
	for n, full := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 60: time.Second} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.wait(n)
			if d < full/2 || d > full {
				t.Fatalf("retry %d: %s outside [%s, %s]", n, d, full/2, full)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Fatalf("retry %d: only %d distinct waits", n, len(seen))
		}
	}
	huge := retryPolicy{backoff: time.Second, maxBackoff: 1 << 62}
	if d := huge.wait(200); d < 1<<61 || d > 1<<62 {
		t.Fatalf("a cap near the largest duration: %s", d)
	}
}

// TestRetryable classifies each kind of failure for safe and unsafe calls.
func TestRetryable(t *testing.T) {
	dial := &netError{err: fmt.Errorf("x: %w", &net.OpError{Op: "dial", Err: errors.New("refused")})}
	read := &netError{err: &net.OpError{Op: "read", Err: errors.New("reset")}}
	for _, tc := range []struct {
		err        error
		safe, both bool // retried when safe; retried when not
	}{
		{&Error{Status: 429, Type: ErrRateLimited}, true, true},
		{&Error{Status: 409, Type: ErrRequestInFlight}, true, true},
		{&Error{Status: 409, Type: ErrConflict}, false, false},
		{&Error{Status: 503, Type: ErrUnavailable}, true, false},
		{&Error{Status: 502}, true, false},
		{&Error{Status: 504}, true, false},
		{&Error{Status: 500, Type: ErrInternal}, false, false},
		{&Error{Status: 404, Type: ErrNotFound}, false, false},
		{dial, true, true},
		{read, true, false},
		{errors.New("decoding"), false, false},
	} {
		if got := retryable(tc.err, true) != ""; got != tc.safe {
			t.Errorf("%v, safe call: %v", tc.err, got)
		}
		if got := retryable(tc.err, false) != ""; got != tc.both {
			t.Errorf("%v, unsafe call: %v", tc.err, got)
		}
	}
}

// FuzzDecodeError feeds any status, header and body to decodeError: it
// never panics, keeps the status, and gives a one-line message.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, "1", []byte(`{"type":"urn:invoiced:problem:invalid-request","title":"T","status":400,"detail":"d","field":"f","errors":[{"field":"f","detail":"d"}]}`))
	f.Add(503, "Fri, 02 Jan 2026 03:04:35 GMT", []byte(`{"type":"urn:invoiced:problem:unavailable","title":"Service unavailable","status":503}`))
	f.Add(502, "", []byte("<html>bad gateway</html>"))
	f.Add(404, "x", []byte(`{"type":7,"errors":"no"}`))
	f.Add(500, "-1", []byte(`{"type":"","title":"\u0000"}`))
	f.Fuzz(func(t *testing.T, status int, retryAfter string, body []byte) {
		e := decodeError(status, http.Header{"Retry-After": {retryAfter}}, body)
		if e.Status != status || e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
			t.Fatalf("%+v", e)
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "invoiced: ") {
			t.Fatalf("message %q", msg)
		}
		if e.Type == "" {
			if strings.IndexFunc(e.Detail, unicode.IsControl) >= 0 || !utf8.ValidString(e.Detail) || len(e.Detail) > maxDetail {
				t.Fatalf("detail %q", e.Detail)
			}
		} else if !errors.Is(e, e.Type) {
			t.Fatalf("%+v is not its own type", e)
		}
		if len(e.Errors) > 0 && e.Field == "" && e.Errors[0].Field != "" {
			t.Fatalf("field not taken from errors: %+v", e)
		}
	})
}
