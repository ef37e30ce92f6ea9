package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// AuthConfig holds the options of Auth.
type AuthConfig struct {
	// RateLimit is each caller's sustained requests per second; 0 is off.
	RateLimit float64
	// RateBurst is how many requests a caller may make at once; 0 means
	// twice RateLimit, at least 1.
	RateBurst int
	// FailureLimit is how many failed authentications a second one client
	// address may make, sustained; 0 means DefaultFailureLimit.
	FailureLimit float64
	// FailureBurst is how many failed authentications one client address
	// may make at once; 0 means DefaultFailureBurst.
	FailureBurst int
	// Logger receives refusals; nil discards them. Keys are never logged.
	Logger *slog.Logger
}

// Defaults of AuthConfig: a client address that keeps presenting keys
// that are not accepted may try ten at once, then one a second.
const (
	DefaultFailureLimit = 1.0
	DefaultFailureBurst = 10
)

// Validate reports the first invalid option.
func (c AuthConfig) Validate() error {
	if c.RateLimit < 0 || c.RateBurst < 0 || math.IsNaN(c.RateLimit) ||
		c.FailureLimit < 0 || c.FailureBurst < 0 || math.IsNaN(c.FailureLimit) {
		return fmt.Errorf("auth: rate limits and bursts must not be negative")
	}
	return nil
}

// Key is one accepted API key and whom it stands for.
type Key struct {
	// Secret is what a caller presents.
	Secret string
	// Account owns what the key creates; empty makes the key an account of
	// its own, named by KeyAccount.
	Account string
	// Operator keys see and manage every account.
	Operator bool
}

// keyEntry is one accepted API key, kept only as its hash.
type keyEntry struct {
	hash   [sha256.Size]byte
	caller Caller
}

// Auth admits requests that carry an accepted API key ("Authorization:
// Bearer <key>"), holds each account to its rate limit and each client
// address to its budget of failed authentications. With no keys set every
// request is admitted as the DefaultCaller account.
type Auth struct {
	keys     atomic.Pointer[[]keyEntry]
	cfg      AuthConfig
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	failures *failureBudget
}

// NewAuth returns an Auth that accepts keys. It fails when cfg is invalid.
func NewAuth(keys []Key, cfg AuthConfig) (*Auth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = max(1, int(2*cfg.RateLimit))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FailureLimit == 0 {
		cfg.FailureLimit = DefaultFailureLimit
	}
	if cfg.FailureBurst == 0 {
		cfg.FailureBurst = DefaultFailureBurst
	}
	a := &Auth{cfg: cfg, limiters: map[string]*rate.Limiter{},
		failures: newFailureBudget(rate.Limit(cfg.FailureLimit), cfg.FailureBurst)}
	a.SetKeys(keys)
	return a, nil
}

// SetKeys replaces the accepted keys at once; requests under way finish
// with the keys they were admitted with.
func (a *Auth) SetKeys(keys []Key) {
	entries := make([]keyEntry, 0, len(keys))
	for _, k := range keys {
		account := k.Account
		if account == "" {
			account = KeyAccount(k.Secret)
		}
		entries = append(entries, keyEntry{hash: sha256.Sum256([]byte(k.Secret)), caller: Caller{Account: account, Operator: k.Operator}})
	}
	a.keys.Store(&entries)
}

// KeyAccount returns the account of a key that names none: a name derived
// from the key's hash, so the key itself is never stored.
func KeyAccount(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "key_" + hex.EncodeToString(sum[:8])
}

// Middleware admits or refuses each request: 401 without an accepted key,
// 429 over the caller's rate or, before a presented key is checked, from a
// client address that has used up its failed authentications; an admitted
// request carries its caller.
func (a *Auth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := a.admit(r)
		if err != nil {
			if errors.Is(err, ErrUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="invoiced"`)
			}
			a.cfg.Logger.Debug("request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
			writeError(w, r, a.cfg.Logger, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), caller)))
	})
}

// admit returns the caller of r. It fails with ErrUnauthorized without an
// accepted key, and with ErrRateLimited over the caller's rate or when r
// presents a key from an address with no failed authentications left.
// Only a presented key that is refused spends one: a request without any
// is a client that has not signed in, not one guessing.
func (a *Auth) admit(r *http.Request) (Caller, error) {
	presented := r.Header.Get("Authorization") != ""
	if presented {
		if wait, ok := a.failures.left(clientAddress(r)); !ok {
			return Caller{}, withRetryAfter(fmt.Errorf("%w: too many requests with keys that are not accepted from this address", ErrRateLimited), wait)
		}
	}
	caller, err := a.authenticate(r)
	if err != nil {
		if presented {
			a.failures.spend(clientAddress(r))
		}
		return Caller{}, err
	}
	if wait, ok := a.allow(caller.Account); !ok {
		return Caller{}, withRetryAfter(fmt.Errorf("%w: more than %g requests a second", ErrRateLimited, a.cfg.RateLimit), wait)
	}
	return caller, nil
}

// authenticate returns the caller of r. It compares the presented key with
// every accepted one in constant time.
func (a *Auth) authenticate(r *http.Request) (Caller, error) {
	keys := *a.keys.Load()
	if len(keys) == 0 {
		return Caller{Account: DefaultCaller}, nil
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Caller{}, fmt.Errorf("%w: send \"Authorization: Bearer <API key>\"", ErrUnauthorized)
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	var caller Caller
	for _, k := range keys {
		if subtle.ConstantTimeCompare(sum[:], k.hash[:]) == 1 {
			caller = k.caller
		}
	}
	if caller.Account == "" {
		return Caller{}, fmt.Errorf("%w: the API key is not accepted", ErrUnauthorized)
	}
	return caller, nil
}

// allow takes one request from account's budget; when there is none it
// returns how long until there is.
func (a *Auth) allow(account string) (time.Duration, bool) {
	if a.cfg.RateLimit == 0 {
		return 0, true
	}
	a.mu.Lock()
	lim, ok := a.limiters[account]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(a.cfg.RateLimit), a.cfg.RateBurst)
		a.limiters[account] = lim
	}
	a.mu.Unlock()
	res := lim.Reserve()
	if wait := res.Delay(); wait > 0 {
		res.Cancel()
		return max(wait, time.Second), false
	}
	return 0, true
}
