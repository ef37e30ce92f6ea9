package dispatcher

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/netguard"
	"github.com/invoiced/invoiced/internal/infra/tracing"
)

// result is one attempt and what the receiver asked of the next one.
type result struct {
	attempt    webhook.Attempt
	retryAfter time.Duration // from a 429 or 503 Retry-After, else 0
}

func (r result) ok() bool { return r.attempt.HTTPStatus >= 200 && r.attempt.HTTPStatus < 300 }

// send makes one attempt at task to sub: a signed POST of the task's body,
// answered within the timeout; it keeps the first MaxResponseBody bytes of
// the answer.
func (d *Dispatcher) send(ctx context.Context, sub webhook.Subscription, task webhook.Task, number int) (res result) {
	start := d.cfg.Now()
	res = result{attempt: webhook.Attempt{Number: number, Trigger: task.Trigger, StartedAt: start.UTC(), URL: sub.URL}}
	defer func() { res.attempt.DurationMS = d.cfg.Now().Sub(start).Milliseconds() }()

	if d.cfg.RequireHTTPS && !strings.HasPrefix(sub.URL, "https://") {
		res.attempt.Error = "blocked: plain http is refused on this service"
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(task.Body))
	if err != nil {
		res.attempt.Error = netguard.DescribeError(err, d.cfg.Timeout)
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.cfg.UserAgent)
	req.Header.Set("X-Event-Type", task.EventType)
	req.Header.Set("X-Delivery-ID", task.DeliveryID)
	req.Header.Set("X-Attempt", strconv.Itoa(number))
	tracing.InjectHTTP(ctx, req.Header)
	secrets, err := sub.ActiveSecrets(start, d.cfg.Secrets)
	if err != nil {
		// Nothing is sent unsigned: the attempt fails and is retried, and
		// succeeds once the process has the key (a reload or restart).
		d.cfg.Logger.Error("webhook not sent: a signing secret does not open; every api and dispatcher process needs the same secrets key file",
			"subscription", sub.ID, "delivery", task.DeliveryID, "err", err)
		res.attempt.Error = "the signing secret cannot be opened: " + err.Error()
		return res
	}
	if err := webhook.SetHeaders(req.Header, task.EventID, start, task.Body, secrets...); err != nil {
		res.attempt.Error = err.Error()
		return res
	}
	answer, err := d.cfg.Client.Do(req)
	if err != nil {
		res.attempt.Error = netguard.DescribeError(err, d.cfg.Timeout)
		return res
	}
	defer answer.Body.Close()
	body, err := io.ReadAll(io.LimitReader(answer.Body, webhook.MaxResponseBody))
	res.attempt.HTTPStatus, res.attempt.ResponseBody = answer.StatusCode, string(body)
	switch {
	case answer.StatusCode < 200 || answer.StatusCode > 299:
		res.attempt.Error = fmt.Sprintf("receiver answered %s", answer.Status)
	case err != nil:
		res.attempt.Error = "reading the answer: " + netguard.DescribeError(err, d.cfg.Timeout)
	}
	if answer.StatusCode == http.StatusTooManyRequests || answer.StatusCode == http.StatusServiceUnavailable {
		res.retryAfter = parseRetryAfter(answer.Header.Get("Retry-After"), start)
	}
	return res
}

// parseRetryAfter reads a Retry-After of seconds or an HTTP date; 0 when
// absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
