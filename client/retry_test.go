package client_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/client"
)

// TestCreateInvoiceRetriesWithOneKey fails a create three ways before it
// succeeds: every attempt carries the same key and body, the in-flight
// answer's Retry-After is waited out, and the replay is reported.
func TestCreateInvoiceRetriesWithOneKey(t *testing.T) {
	s := newScript(t,
		problem(http.StatusServiceUnavailable, client.ErrUnavailable, ""),
		cut,
		problem(http.StatusConflict, client.ErrRequestInFlight, "1"),
		answer(http.StatusCreated, invoiceJSON, "Idempotent-Replayed", "true"),
	)
	var logs bytes.Buffer
	// Without keep-alives the cut is on a new connection, which net/http
	// does not retry by itself: the client sees it.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	c := fastClient(t, s.URL, 4, client.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), client.WithHTTPClient(fresh))
	var info client.ResponseInfo
	start := time.Now()
	inv, err := c.CreateInvoice(testContext(t), client.InvoiceParams{CustomerID: "cust_123", AmountCents: 2500}, client.WithResponseInfo(&info))
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Fatalf("took %s: the in-flight answer's Retry-After of 1s was not honoured", elapsed)
	}
	reqs := s.requests()
	if len(reqs) != 4 || info.Attempts != 4 {
		t.Fatalf("%d requests, %d attempts, want 4", len(reqs), info.Attempts)
	}
	key := reqs[0].header.Get("Idempotency-Key")
	if _, err := uuid.Parse(key); err != nil {
		t.Fatalf("key %q: %v", key, err)
	}
	for i, r := range reqs {
		if r.header.Get("Idempotency-Key") != key || r.body != reqs[0].body || r.method != "POST" || r.path != "/invoices" {
			t.Fatalf("attempt %d: %+v, first %+v", i+1, r, reqs[0])
		}
	}
	if reqs[0].body != `{"customer_id":"cust_123","amount_cents":2500}` {
		t.Fatalf("body %s", reqs[0].body)
	}
	if !inv.Replayed || inv.IdempotencyKey != key || inv.ID != "91733d96-050b-59d1-a68c-89b289e950c3" || inv.Metadata == nil {
		t.Fatalf("invoice %+v", inv)
	}
	if n := strings.Count(logs.String(), "invoiced: retrying"); n != 3 {
		t.Fatalf("%d retries logged:\n%s", n, logs.String())
	}

	s = newScript(t, problem(http.StatusServiceUnavailable, client.ErrUnavailable, ""), answer(http.StatusCreated, invoiceJSON))
	inv, err = fastClient(t, s.URL, 4).CreateInvoice(testContext(t), client.InvoiceParams{CustomerID: "c", AmountCents: 1}, client.WithIdempotencyKey("order-A-17"))
	if err != nil || inv.Replayed || inv.IdempotencyKey != "order-A-17" {
		t.Fatalf("%+v %v", inv, err)
	}
	for _, r := range s.requests() {
		if got := r.header.Values("Idempotency-Key"); len(got) != 1 || got[0] != "order-A-17" {
			t.Fatalf("key sent %q", got)
		}
	}
}

// TestRateLimitHonoursRetryAfter retries a 429 no sooner than its
// Retry-After, even for a call that is not safe to repeat.
func TestRateLimitHonoursRetryAfter(t *testing.T) {
	s := newScript(t, problem(http.StatusTooManyRequests, client.ErrRateLimited, "1"),
		answer(http.StatusCreated, `{"id":"s1","status":"enabled","secret":"whsec_abc"}`))
	start := time.Now()
	sub, err := fastClient(t, s.URL, 3).CreateSubscription(testContext(t), client.SubscriptionParams{URL: "https://example.com/hook"})
	if err != nil || sub.Secret != "whsec_abc" {
		t.Fatalf("%+v %v", sub, err)
	}
	if elapsed := time.Since(start); elapsed < time.Second || len(s.requests()) != 2 {
		t.Fatalf("%d requests in %s", len(s.requests()), elapsed)
	}
}

// TestErrorsThatAreNotRetried answers each kind of final error once.
func TestErrorsThatAreNotRetried(t *testing.T) {
	for _, tc := range []struct {
		status int
		typ    client.ProblemType
	}{
		{400, client.ErrInvalidRequest}, {401, client.ErrUnauthorized}, {404, client.ErrNotFound},
		{409, client.ErrConflict}, {413, client.ErrBodyTooLarge}, {422, client.ErrIdempotencyKeyReused},
		{500, client.ErrInternal},
	} {
		s := newScript(t, problem(tc.status, tc.typ, "1"))
		_, err := fastClient(t, s.URL, 4).GetDelivery(testContext(t), "d1")
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || !errors.Is(err, tc.typ) || apiErr.Status != tc.status || apiErr.RequestID != "req-scripted" ||
			apiErr.RetryAfter != time.Second || apiErr.Detail != "scripted answer" {
			t.Fatalf("%d: %#v", tc.status, err)
		}
		if n := len(s.requests()); n != 1 {
			t.Fatalf("%d %s: %d requests", tc.status, tc.typ, n)
		}
	}
}

// TestUnsafeCallsAreNotRepeated gives calls that would act twice a 503 and
// a cut connection: neither is retried, while a read is.
func TestUnsafeCallsAreNotRepeated(t *testing.T) {
	ctx := testContext(t)
	unsafe := map[string]func(c *client.Client) error{
		"create subscription": func(c *client.Client) error {
			_, err := c.CreateSubscription(ctx, client.SubscriptionParams{URL: "https://example.com"})
			return err
		},
		"rotate secret": func(c *client.Client) error { _, err := c.RotateSubscriptionSecret(ctx, "s1"); return err },
		"test event": func(c *client.Client) error {
			_, err := c.SendTestEvent(ctx, "s1", client.TestEventParams{})
			return err
		},
	}
	for name, call := range unsafe {
		for _, fail := range []step{problem(http.StatusServiceUnavailable, client.ErrUnavailable, ""), cut} {
			s := newScript(t, fail)
			if err := call(fastClient(t, s.URL, 4)); err == nil {
				t.Fatalf("%s: no error", name)
			}
			if n := len(s.requests()); n != 1 {
				t.Fatalf("%s: %d requests", name, n)
			}
		}
	}
	s := newScript(t, cut, plain(http.StatusBadGateway, "<html>bad gateway</html>"), answer(http.StatusOK, `{"id":"d1","status":"dead"}`))
	d, err := fastClient(t, s.URL, 4).GetDelivery(ctx, "d1")
	if err != nil || d.Status != client.DeliveryDead || len(s.requests()) != 3 {
		t.Fatalf("read after a cut and a 502: %+v %v, %d requests", d, err, len(s.requests()))
	}
}

// TestConnectionRefusedIsRetried calls a closed port: nothing was sent, so
// even a create is tried again, up to the attempts allowed.
func TestConnectionRefusedIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var info client.ResponseInfo
	_, err = fastClient(t, "http://"+addr, 3).CreateSubscription(testContext(t), client.SubscriptionParams{URL: "https://example.com"}, client.WithResponseInfo(&info))
	var apiErr *client.Error
	var opErr *net.OpError
	if err == nil || errors.As(err, &apiErr) || !errors.As(err, &opErr) || info.Attempts != 3 || info.StatusCode != 0 {
		t.Fatalf("%v after %d attempts, status %d", err, info.Attempts, info.StatusCode)
	}
}

// TestRetriesStop checks each bound on retrying: the attempts, the elapsed
// budget, the context's deadline and its cancellation.
func TestRetriesStop(t *testing.T) {
	unavailable := problem(http.StatusServiceUnavailable, client.ErrUnavailable, "")
	s := newScript(t, unavailable)
	_, err := fastClient(t, s.URL, 3).GetInvoice(testContext(t), "i1")
	if !errors.Is(err, client.ErrUnavailable) || len(s.requests()) != 3 {
		t.Fatalf("attempts: %v, %d requests", err, len(s.requests()))
	}

	long := problem(http.StatusServiceUnavailable, client.ErrUnavailable, "60")
	s = newScript(t, long)
	start := time.Now()
	c, _ := client.New(s.URL, client.WithRetry(5, 5*time.Second))
	_, err = c.GetInvoice(testContext(t), "i1")
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.RetryAfter != time.Minute || len(s.requests()) != 1 || time.Since(start) > 5*time.Second {
		t.Fatalf("Retry-After beyond the budget: %v, %d requests in %s", err, len(s.requests()), time.Since(start))
	}

	s = newScript(t, long)
	ctx, cancel := context.WithTimeout(testContext(t), 2*time.Second)
	defer cancel()
	c, _ = client.New(s.URL, client.WithRetry(5, 0))
	_, err = c.GetInvoice(ctx, "i1")
	if !errors.Is(err, client.ErrUnavailable) || len(s.requests()) != 1 || ctx.Err() != nil {
		t.Fatalf("Retry-After beyond the deadline: %v, %d requests, ctx %v", err, len(s.requests()), ctx.Err())
	}

	s = newScript(t, problem(http.StatusServiceUnavailable, client.ErrUnavailable, "30"))
	ctx, cancel = context.WithCancel(testContext(t))
	c, _ = client.New(s.URL, client.WithRetry(5, 0), client.WithLogger(slog.New(onLog(cancel)))) // cancels as the wait begins
	_, err = c.GetInvoice(ctx, "i1")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, client.ErrUnavailable) || len(s.requests()) != 1 {
		t.Fatalf("cancelled while waiting: %v, %d requests", err, len(s.requests()))
	}
}

// TestAnswersThatAreNotProblems turns a proxy's page and a body that does
// not decode into errors.
func TestAnswersThatAreNotProblems(t *testing.T) {
	s := newScript(t, plain(http.StatusInternalServerError, "<html><body>\n  upstream   crashed\n</body></html>"))
	_, err := fastClient(t, s.URL, 4).GetInvoice(testContext(t), "i1")
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 500 || apiErr.Type != "" || apiErr.Title != "Internal Server Error" ||
		apiErr.Detail != "<html><body> upstream crashed </body></html>" || len(s.requests()) != 1 || errors.Is(err, client.ErrInternal) {
		t.Fatalf("%#v, %d requests", err, len(s.requests()))
	}

	s = newScript(t, answer(http.StatusOK, `{"id":`))
	_, err = fastClient(t, s.URL, 4).GetInvoice(testContext(t), "i1")
	if err == nil || errors.As(err, &apiErr) || len(s.requests()) != 1 {
		t.Fatalf("truncated body: %v, %d requests", err, len(s.requests()))
	}
}

// onLog is a slog.Handler that calls itself for every record.
type onLog func()

func (f onLog) Enabled(context.Context, slog.Level) bool  { return true }
func (f onLog) Handle(context.Context, slog.Record) error { f(); return nil }
func (f onLog) WithAttrs([]slog.Attr) slog.Handler        { return f }
func (f onLog) WithGroup(string) slog.Handler             { return f }
