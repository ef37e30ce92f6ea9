package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// echoCaller answers with the account the request was admitted as, and
// "+operator" for an operator.
var echoCaller = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c := CallerFrom(r.Context())
	if c.Operator {
		c.Account += "+operator"
	}
	_, _ = w.Write([]byte(c.Account))
})

func authDo(t testing.TB, h http.Handler, path, authorization string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// plainKeys returns secrets as keys that name no account.
func plainKeys(secrets ...string) []Key {
	keys := make([]Key, len(secrets))
	for i, s := range secrets {
		keys[i] = Key{Secret: s}
	}
	return keys
}

func newTestAuth(t testing.TB, keys []string, cfg AuthConfig) *Auth {
	t.Helper()
	a, err := NewAuth(plainKeys(keys...), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthKeys(t *testing.T) {
	a := newTestAuth(t, []string{"alpha-key", "beta-key"}, AuthConfig{})
	h := a.Middleware(echoCaller)
	tests := []struct {
		name, authorization string
		status              int
		caller              string
	}{
		{"no header", "", 401, ""},
		{"basic scheme", "Basic YWxwaGEta2V5Og==", 401, ""},
		{"empty bearer", "Bearer ", 401, ""},
		{"wrong key", "Bearer gamma-key", 401, ""},
		{"a prefix of a key", "Bearer alpha", 401, ""},
		{"first key", "Bearer alpha-key", 200, KeyAccount("alpha-key")},
		{"second key", "Bearer beta-key", 200, KeyAccount("beta-key")},
		{"scheme in lower case", "bearer alpha-key", 200, KeyAccount("alpha-key")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := authDo(t, h, "/invoices", tt.authorization)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 200 && rec.Body.String() != tt.caller {
				t.Fatalf("caller %q, want %q", rec.Body, tt.caller)
			}
			if tt.status == 401 {
				var p problem
				if rec.Header().Get("WWW-Authenticate") == "" || rec.Header().Get("Content-Type") != "application/problem+json" ||
					json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Status != 401 {
					t.Fatalf("401 answer: %v %s", rec.Header(), rec.Body)
				}
			}
		})
	}
	if KeyAccount("alpha-key") == KeyAccount("beta-key") || KeyAccount("alpha-key") == "alpha-key" {
		t.Fatal("callers must differ per key and not be the key")
	}
}

func TestAuthWithoutKeysTrustsEveryone(t *testing.T) {
	h := newTestAuth(t, nil, AuthConfig{}).Middleware(echoCaller)
	if rec := authDo(t, h, "/invoices", ""); rec.Code != 200 || rec.Body.String() != DefaultCaller {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestAuthKeysCanBeReplaced(t *testing.T) {
	a := newTestAuth(t, []string{"old"}, AuthConfig{})
	h := a.Middleware(echoCaller)
	a.SetKeys(plainKeys("new"))
	if rec := authDo(t, h, "/", "Bearer old"); rec.Code != 401 {
		t.Fatalf("old key after reload: %d", rec.Code)
	}
	if rec := authDo(t, h, "/", "Bearer new"); rec.Code != 200 {
		t.Fatalf("new key after reload: %d", rec.Code)
	}
}

func TestRateLimitPerKey(t *testing.T) {
	h := newTestAuth(t, []string{"a", "b"}, AuthConfig{RateLimit: 0.5, RateBurst: 2}).Middleware(echoCaller)
	for i := range 2 {
		if rec := authDo(t, h, "/", "Bearer a"); rec.Code != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, rec.Code)
		}
	}
	rec := authDo(t, h, "/", "Bearer a")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("over the burst: %d", rec.Code)
	}
	if secs, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || secs < 1 || secs > 2 {
		t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	if rec := authDo(t, h, "/", "Bearer b"); rec.Code != 200 {
		t.Fatalf("another key is limited too: %d", rec.Code)
	}
}

func TestHealthNeedsNoKey(t *testing.T) {
	h := NewHandler(Resources{
		Health:        NewHealth(func(context.Context) error { return nil }),
		Auth:          newTestAuth(t, []string{"k"}, AuthConfig{}),
		Subscriptions: &Subscriptions{cfg: SubscriptionsConfig{}},
	})
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/webhooks/subscriptions": 401} {
		if rec := authDo(t, h, path, ""); rec.Code != want {
			t.Fatalf("%s: %d, want %d", path, rec.Code, want)
		}
	}
}

func authFrom(t testing.TB, h http.Handler, remote, authorization string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
	req.RemoteAddr = remote
	req.Header.Set("Authorization", authorization)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFailedAuthenticationsAreLimitedPerClientAddress(t *testing.T) {
	h := newTestAuth(t, []string{"right-key"}, AuthConfig{FailureLimit: 0.01, FailureBurst: 3}).Middleware(echoCaller)
	for i := range 3 {
		if rec := authFrom(t, h, "198.51.100.7:4000", "Bearer wrong-"+strconv.Itoa(i)); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d within the budget: %d", i+1, rec.Code)
		}
	}
	rec := authFrom(t, h, "198.51.100.7:4001", "Bearer right-key")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("a key from an address out of failures, even an accepted one: %d, want 429", rec.Code)
	}
	if secs, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || secs < 1 {
		t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	if rec := authFrom(t, h, "198.51.100.8:4000", "Bearer right-key"); rec.Code != http.StatusOK {
		t.Fatalf("another address: %d", rec.Code)
	}
	for i := range 5 {
		if rec := authFrom(t, h, "198.51.100.9:4000", "Bearer right-key"); rec.Code != http.StatusOK {
			t.Fatalf("successes spend no failures: request %d answered %d", i+1, rec.Code)
		}
	}
}

func TestFailureBudgetStaysBounded(t *testing.T) {
	b := newFailureBudget(1, 2)
	for i := range 3 * maxFailingClients {
		b.spend("client-" + strconv.Itoa(i))
	}
	if n := len(b.clients); n > maxFailingClients {
		t.Fatalf("remembers %d addresses, bound %d", n, maxFailingClients)
	}
	if _, ok := b.left("client-" + strconv.Itoa(3*maxFailingClients-1)); !ok {
		t.Fatal("one failure of two used up the budget")
	}
	b.spend("client-x")
	b.spend("client-x")
	if _, ok := b.left("client-x"); ok {
		t.Fatal("an address with no failures left may still fail")
	}
}

func TestKeysNameAccountsAndOperators(t *testing.T) {
	a, err := NewAuth([]Key{{Secret: "acme-one", Account: "acme"}, {Secret: "acme-two", Account: "acme"},
		{Secret: "ops-key", Account: "ops", Operator: true}}, AuthConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := a.Middleware(echoCaller)
	for key, want := range map[string]string{"acme-one": "acme", "acme-two": "acme", "ops-key": "ops+operator"} {
		if rec := authDo(t, h, "/", "Bearer "+key); rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("%s: %d %q, want %q", key, rec.Code, rec.Body, want)
		}
	}
}

func TestCallerSees(t *testing.T) {
	acme, ops := Caller{Account: "acme"}, Caller{Account: "ops", Operator: true}
	if !acme.Sees("acme") || acme.Sees("globex") || acme.Sees("") || !ops.Sees("globex") {
		t.Fatal("an account sees its own alone; an operator sees all")
	}
	if !(Caller{Account: DefaultCaller}).Sees("") {
		t.Fatal("what names no account is the default account's")
	}
}

func TestAccountAnswersWhomTheKeyStandsFor(t *testing.T) {
	a, err := NewAuth([]Key{{Secret: "acme-key", Account: "acme"}, {Secret: "ops-key", Account: "ops", Operator: true}}, AuthConfig{})
	if err != nil {
		t.Fatal(err)
	}
	withKeys, without := NewHandler(Resources{Auth: a}), NewHandler(Resources{})
	for _, c := range []struct {
		h          http.Handler
		key        string
		status     int
		account    string
		isOperator bool
	}{
		{withKeys, "acme-key", 200, "acme", false},
		{withKeys, "ops-key", 200, "ops", true},
		{withKeys, "", 401, "", false},
		{without, "", 200, DefaultCaller, false},
	} {
		auth := ""
		if c.key != "" {
			auth = "Bearer " + c.key
		}
		rec := authDo(t, c.h, "/account", auth)
		if rec.Code != c.status {
			t.Fatalf("%q: %d, want %d: %s", c.key, rec.Code, c.status, rec.Body)
		}
		if c.status != 200 {
			continue
		}
		var got accountResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got != (accountResponse{Account: c.account, Operator: c.isOperator}) {
			t.Errorf("%q: %s (%v)", c.key, rec.Body, err)
		}
	}
}
