package calltest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// Receiver counts the webhooks it is sent per webhook-id.
type Receiver struct {
	*httptest.Server
	mu  sync.Mutex
	ids map[string]int
}

// NewReceiver returns a Receiver that listens until the test ends.
func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{ids: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.ids[req.Header.Get("webhook-id")]++
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

// Counts returns a copy of the counts and their total.
func (r *Receiver) Counts() (map[string]int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, total := map[string]int{}, 0
	for k, v := range r.ids {
		out[k], total = v, total+v
	}
	return out, total
}

// AwaitTotal waits until the receiver has had n webhooks and returns the
// counts; more than n fails the test.
func (r *Receiver) AwaitTotal(t testing.TB, n int) map[string]int {
	t.Helper()
	natstest.Eventually(t, 20*time.Second, "webhooks arrive", func() bool { _, total := r.Counts(); return total >= n })
	got, total := r.Counts()
	if total != n {
		t.Fatalf("%d webhooks, want %d: %v", total, n, got)
	}
	return got
}

// SignedReceiver verifies every webhook against the secret set for its
// path, as a subscriber would, and counts those that verify.
type SignedReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	secrets  map[string]string // path → secret
	verified map[string]int    // path → webhooks that verified
}

// NewSignedReceiver returns a SignedReceiver that listens until the test
// ends.
func NewSignedReceiver(t testing.TB) *SignedReceiver {
	t.Helper()
	r := &SignedReceiver{secrets: map[string]string{}, verified: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := webhook.Verify(r.secrets[req.URL.Path], req.Header, body, time.Now(), time.Minute); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		r.verified[req.URL.Path]++
	}))
	t.Cleanup(r.Close)
	return r
}

// Expect sets the secret the webhooks to path are signed with.
func (r *SignedReceiver) Expect(path, secret string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secrets[path] = secret
}

// AwaitVerified waits until n webhooks to path have verified.
func (r *SignedReceiver) AwaitVerified(t testing.TB, path string, n int) {
	t.Helper()
	natstest.Eventually(t, 20*time.Second, "webhooks to "+path+" verify", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.verified[path] >= n
	})
}

// Subscribe subscribes url at the service at base and returns the
// subscription's ID and the secret the API revealed.
func Subscribe(t testing.TB, base, url string) (id, secret string) {
	t.Helper()
	a := Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+url+`"}`, "Content-Type", "application/json")
	if a.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", a.Status, a.Body)
	}
	return Field(t, a.Body, "id"), Field(t, a.Body, "secret")
}
