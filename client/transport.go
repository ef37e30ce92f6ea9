package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// request describes one call to the API.
type request struct {
	method string
	path   string // escaped, from the root of the API
	query  url.Values
	body   any // sent as JSON when not nil
	// safe: repeating the request after it may have reached the service
	// does no harm (a read, an update to given values, a keyed create).
	safe           bool
	idempotencyKey string
}

// answer is the status and headers of the last answer a call got.
type answer struct {
	status int
	header http.Header
}

// do makes the call r, retrying as the Client's policy allows, and decodes
// a 2xx answer's body into out (unless out is nil). It returns an *Error for
// an error answer, and an error wrapping the cause when no answer came or it
// did not decode.
func (c *Client) do(ctx context.Context, r request, cc *callConfig, out any) (answer, error) {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return answer{}, fmt.Errorf("invoiced: encoding the %s %s body: %w", r.method, r.path, err)
		}
	}
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		a, err := c.attempt(ctx, r, target, body, cc, out)
		if cc.info != nil {
			*cc.info = ResponseInfo{StatusCode: a.status, Header: a.header, RequestID: a.header.Get("X-Request-ID"), Attempts: attempt}
		}
		if err == nil {
			return a, nil
		}
		wait, why, again := c.retry.nextWait(ctx, err, r.safe, attempt, start)
		if !again {
			return a, err
		}
		c.log.InfoContext(ctx, "invoiced: retrying", "method", r.method, "path", r.path,
			"attempt", attempt+1, "wait", wait, "reason", why, "err", err)
		if cerr := sleep(ctx, wait); cerr != nil {
			return a, fmt.Errorf("%w (retry cut short: %w)", err, cerr)
		}
	}
}

// attempt makes one request of the call.
func (c *Client) attempt(ctx context.Context, r request, target string, body []byte, cc *callConfig, out any) (answer, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, rd)
	if err != nil {
		return answer{}, fmt.Errorf("invoiced: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	if r.idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.idempotencyKey)
	}
	if cc.requestID != "" {
		req.Header.Set("X-Request-ID", cc.requestID)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return answer{}, &netError{err: fmt.Errorf("invoiced: %w", err)}
	}
	defer res.Body.Close()
	a := answer{status: res.StatusCode, header: res.Header}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		// A body cut short still leaves the status, which is what counts.
		data, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		return a, decodeError(res.StatusCode, res.Header, data)
	}
	if out == nil || res.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, res.Body) // lets the connection be reused
		return a, nil
	}
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return a, &netError{err: fmt.Errorf("invoiced: reading the answer to %s %s: %w", r.method, r.path, err)}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return a, fmt.Errorf("invoiced: decoding the %d answer to %s %s (request %s): %w",
			res.StatusCode, r.method, r.path, res.Header.Get("X-Request-ID"), err)
	}
	return a, nil
}

// ErrInvalidID is returned, wrapped, by a call given an ID that would name
// another resource ("", "." or ".."); no request is sent.
var ErrInvalidID = errors.New("invoiced: not an ID")

// pathOf joins escaped path segments under the API's root, such as
// pathOf("invoices", id). It fails with ErrInvalidID for an empty, "." or
// ".." segment, which would name another resource.
func pathOf(segments ...string) (string, error) {
	var b strings.Builder
	for _, s := range segments {
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("%w: %q", ErrInvalidID, s)
		}
		b.WriteString("/" + url.PathEscape(s))
	}
	return b.String(), nil
}
