package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
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
	// Logger receives refusals; nil discards them. Keys are never logged.
	Logger *slog.Logger
}

// Validate reports the first invalid option.
func (c AuthConfig) Validate() error {
	if c.RateLimit < 0 || c.RateBurst < 0 || math.IsNaN(c.RateLimit) {
		return fmt.Errorf("auth: rate limit and burst must not be negative")
	}
	return nil
}

// keyEntry is one accepted API key, kept only as its hash.
type keyEntry struct {
	hash   [sha256.Size]byte
	caller string
}

// Auth admits requests that carry an accepted API key ("Authorization:
// Bearer <key>") and holds each caller to its rate limit. With no keys set
// every request is admitted as DefaultCaller.
type Auth struct {
	keys     atomic.Pointer[[]keyEntry]
	cfg      AuthConfig
	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// NewAuth returns an Auth that accepts keys. It fails when cfg is invalid.
func NewAuth(keys []string, cfg AuthConfig) (*Auth, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = max(1, int(2*cfg.RateLimit))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Auth{cfg: cfg, limiters: map[string]*rate.Limiter{}}
	a.SetKeys(keys)
	return a, nil
}

// SetKeys replaces the accepted keys at once; requests under way finish
// with the keys they were admitted with.
func (a *Auth) SetKeys(keys []string) {
	entries := make([]keyEntry, 0, len(keys))
	for _, k := range keys {
		sum := sha256.Sum256([]byte(k))
		entries = append(entries, keyEntry{hash: sum, caller: Caller(k)})
	}
	a.keys.Store(&entries)
}

// Caller returns the caller a key stands for: a name derived from the
// key's hash, so idempotency keys are scoped per API key without the key
// itself ever being stored.
func Caller(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "key_" + hex.EncodeToString(sum[:8])
}

// Middleware admits or refuses each request: 401 without an accepted key,
// 429 over the caller's rate; an admitted request carries its caller.
func (a *Auth) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := a.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="invoiced"`)
			a.cfg.Logger.Debug("request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
			writeError(w, r, a.cfg.Logger, err)
			return
		}
		if wait, ok := a.allow(caller); !ok {
			writeError(w, r, a.cfg.Logger, withRetryAfter(fmt.Errorf("%w: more than %g requests a second", ErrRateLimited, a.cfg.RateLimit), wait))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), caller)))
	})
}

// authenticate returns the caller of r. It compares the presented key with
// every accepted one in constant time.
func (a *Auth) authenticate(r *http.Request) (string, error) {
	keys := *a.keys.Load()
	if len(keys) == 0 {
		return DefaultCaller, nil
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", fmt.Errorf("%w: send \"Authorization: Bearer <API key>\"", ErrUnauthorized)
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	caller := ""
	for _, k := range keys {
		if subtle.ConstantTimeCompare(sum[:], k.hash[:]) == 1 {
			caller = k.caller
		}
	}
	if caller == "" {
		return "", fmt.Errorf("%w: the API key is not accepted", ErrUnauthorized)
	}
	return caller, nil
}

// allow takes one request from caller's budget; when there is none it
// returns how long until there is.
func (a *Auth) allow(caller string) (time.Duration, bool) {
	if a.cfg.RateLimit == 0 {
		return 0, true
	}
	a.mu.Lock()
	lim, ok := a.limiters[caller]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(a.cfg.RateLimit), a.cfg.RateBurst)
		a.limiters[caller] = lim
	}
	a.mu.Unlock()
	res := lim.Reserve()
	if wait := res.Delay(); wait > 0 {
		res.Cancel()
		return max(wait, time.Second), false
	}
	return 0, true
}
