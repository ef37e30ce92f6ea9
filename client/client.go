package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Version is this package's version, sent in the User-Agent header.
const Version = "0.1.0"

// Defaults a Client starts from; its options change them.
const (
	// DefaultMaxAttempts is how many times a call is tried in all, the
	// first attempt included.
	DefaultMaxAttempts = 4
	// DefaultMaxElapsed bounds the time a call spends retrying: no retry
	// starts, and no Retry-After is waited out, past it.
	DefaultMaxElapsed = 30 * time.Second
	// DefaultBackoff is the wait before the first retry; it doubles, with
	// jitter, for each retry after that, up to DefaultMaxBackoff.
	DefaultBackoff = 250 * time.Millisecond
	// DefaultMaxBackoff caps the computed wait between two attempts. A
	// longer Retry-After is still honoured, within the elapsed budget.
	DefaultMaxBackoff = 8 * time.Second
	// DefaultAttemptTimeout bounds one attempt of the default HTTP client,
	// so that a stalled connection is given up on (and, where that is
	// safe, retried) while the call's context still has time.
	DefaultAttemptTimeout = 30 * time.Second
)

// Client calls the invoiced REST API. It is safe for concurrent use; make
// one and share it.
type Client struct {
	base      string // scheme, host and path prefix, without a trailing slash
	http      *http.Client
	apiKey    string
	userAgent string
	retry     retryPolicy
	log       *slog.Logger
}

// Option configures a Client in New.
type Option func(*Client) error

// New returns a Client for the service at baseURL, such as
// "http://127.0.0.1:8080" or "https://invoiced.example.com/api". It fails
// when baseURL is not an absolute http or https URL without query or
// fragment, or when an option is invalid.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("invoiced: base URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("invoiced: base URL %q is not an absolute http or https URL", baseURL)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("invoiced: base URL %q must not carry a query, fragment or user", baseURL)
	}
	c := &Client{
		base:      strings.TrimRight(u.String(), "/"),
		http:      &http.Client{Timeout: DefaultAttemptTimeout},
		userAgent: "invoiced-go/" + Version,
		retry: retryPolicy{
			maxAttempts: DefaultMaxAttempts, maxElapsed: DefaultMaxElapsed,
			backoff: DefaultBackoff, maxBackoff: DefaultMaxBackoff,
		},
		log: slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// WithAPIKey sends key as "Authorization: Bearer <key>" on every request.
// A service started with API keys answers 401 without one.
func WithAPIKey(key string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(key, "\r\n") {
			return errors.New("invoiced: the API key holds a line break")
		}
		c.apiKey = key
		return nil
	}
}

// WithHTTPClient makes the Client send its requests through hc: to set
// timeouts, proxies or TLS, or to reach a handler in the same process
// through a custom Transport. hc.Timeout bounds each attempt, not the call;
// bound the call with its context. It fails for a nil hc.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) error {
		if hc == nil {
			return errors.New("invoiced: WithHTTPClient(nil)")
		}
		c.http = hc
		return nil
	}
}

// WithRetry sets how hard a call tries: at most maxAttempts attempts in all
// (1 turns retries off), and no retry that would start more than
// maxElapsed after the first attempt (0 for no such bound; the context
// still ends the call). It fails when maxAttempts is below 1 or maxElapsed
// is negative.
func WithRetry(maxAttempts int, maxElapsed time.Duration) Option {
	return func(c *Client) error {
		if maxAttempts < 1 || maxElapsed < 0 {
			return fmt.Errorf("invoiced: WithRetry(%d, %s): need at least 1 attempt and a non-negative duration", maxAttempts, maxElapsed)
		}
		c.retry.maxAttempts, c.retry.maxElapsed = maxAttempts, maxElapsed
		return nil
	}
}

// WithBackoff sets the wait before the first retry, which doubles with each
// further retry, and the cap on that wait. Each wait is jittered between
// half and all of its value, and never shorter than a Retry-After the
// service sent. It fails unless 0 < initial <= maxWait.
func WithBackoff(initial, maxWait time.Duration) Option {
	return func(c *Client) error {
		if initial <= 0 || maxWait < initial {
			return fmt.Errorf("invoiced: WithBackoff(%s, %s): need 0 < initial <= maxWait", initial, maxWait)
		}
		c.retry.backoff, c.retry.maxBackoff = initial, maxWait
		return nil
	}
}

// WithUserAgent puts product (such as "billing-sync/2.1") before the
// client's own token in the User-Agent header, so the service's logs name
// the program calling it.
func WithUserAgent(product string) Option {
	return func(c *Client) error {
		if strings.ContainsAny(product, "\r\n") {
			return errors.New("invoiced: the user agent holds a line break")
		}
		if product = strings.TrimSpace(product); product != "" {
			c.userAgent = product + " invoiced-go/" + Version
		}
		return nil
	}
}

// WithLogger makes the Client log each retry it makes, at Info level, with
// the request, the attempt, the wait and the reason. By default it logs
// nothing. It fails for a nil logger.
func WithLogger(log *slog.Logger) Option {
	return func(c *Client) error {
		if log == nil {
			return errors.New("invoiced: WithLogger(nil)")
		}
		c.log = log
		return nil
	}
}

// CallOption configures one call.
type CallOption func(*callConfig)

type callConfig struct {
	idempotencyKey string
	requestID      string
	info           *ResponseInfo
}

func newCallConfig(opts []CallOption) *callConfig {
	cc := &callConfig{}
	for _, opt := range opts {
		opt(cc)
	}
	return cc
}

// WithIdempotencyKey makes CreateInvoice send key as its Idempotency-Key
// instead of a random one. Give the key your own record of the invoice has
// (an order number, say) so that a retry after a crash, from any process,
// creates no second invoice. Other calls ignore it.
func WithIdempotencyKey(key string) CallOption {
	return func(cc *callConfig) { cc.idempotencyKey = key }
}

// WithRequestID sends id as X-Request-ID on every attempt of the call; the
// service names it in its logs and echoes it in the answer. It must be 1 to
// 64 letters, digits, '.', '_' or '-', or the service makes its own.
func WithRequestID(id string) CallOption {
	return func(cc *callConfig) { cc.requestID = id }
}

// WithResponseInfo fills info with what the last attempt of the call got
// back, whether the call succeeds or fails.
func WithResponseInfo(info *ResponseInfo) CallOption {
	return func(cc *callConfig) { cc.info = info }
}

// ResponseInfo is what WithResponseInfo records of a call.
type ResponseInfo struct {
	// StatusCode is the HTTP status of the last answer; 0 when none came.
	StatusCode int
	// Header holds the last answer's headers.
	Header http.Header
	// RequestID is the last answer's X-Request-ID, which names the
	// request in the service's logs.
	RequestID string
	// Attempts is how many requests the call made.
	Attempts int
}
