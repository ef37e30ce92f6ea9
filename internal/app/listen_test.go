package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/natstest"
	"github.com/invoiced/invoiced/internal/webhook"
)

// appReceiver is a developer's app: it answers 200, or status when set,
// and keeps each webhook it got.
type appReceiver struct {
	mu     sync.Mutex
	got    []*http.Request
	bodies [][]byte
	status int
}

func (a *appReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got, a.bodies = append(a.got, r), append(a.bodies, body)
	if a.status != 0 {
		w.WriteHeader(a.status)
	}
}

func (a *appReceiver) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.got)
}

func TestListenForwardsVerifiedWebhooksAndCleansUp(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--webhook-retry-schedule", "50ms,100ms"))
	base := "http://" + svc.Addr()
	app := &appReceiver{}
	appSrv := httptest.NewServer(app)
	t.Cleanup(appSrv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"listen", "--api", base, "--forward-to", appSrv.URL, "--events", "invoice.processed"},
			&out, io.Discard, func(string) string { return "" })
	}()
	var secret, subID string
	ready := regexp.MustCompile(`subscription (\S+), signing secret (whsec_\S+)`)
	natstest.Eventually(t, 10*time.Second, "listen is ready", func() bool {
		m := ready.FindStringSubmatch(out.String())
		if m != nil {
			subID, secret = m[1], m[2]
		}
		return m != nil
	})

	postInvoice(t, base, "listen-1", journeyBody)
	natstest.Eventually(t, 20*time.Second, "the app gets the webhook", func() bool { return app.count() == 1 })
	app.mu.Lock()
	req, body := app.got[0], app.bodies[0]
	app.status = http.StatusInternalServerError // the next one fails
	app.mu.Unlock()
	if err := webhook.Verify(secret, req.Header, body, time.Now(), time.Minute); err != nil || req.Header.Get("X-Event-Type") != "invoice.processed" {
		t.Fatalf("the app got %v, %v", req.Header, err)
	}
	natstest.Eventually(t, 10*time.Second, "listen prints it", func() bool {
		return strings.Contains(out.String(), "invoice.processed") && strings.Contains(out.String(), "verified  → 200 OK")
	})

	postInvoice(t, base, "listen-2", journeyBody)
	natstest.Eventually(t, 20*time.Second, "the app's failure is retried", func() bool { return app.count() >= 3 })
	if !strings.Contains(out.String(), "→ 500 Internal Server Error") {
		t.Fatalf("the app's answer is not shown:\n%s", out.String())
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("listen: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("listen did not stop")
	}
	if a := call(t, http.MethodGet, base+"/webhooks/subscriptions/"+subID, ""); a.status != http.StatusNotFound {
		t.Fatalf("the subscription is still there: %d", a.status)
	}
}

func TestListenRefusesBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "--forward-to"},
		{[]string{"--forward-to", "localhost:3000"}, "--forward-to must be"},
		{[]string{"--forward-to", "http://127.0.0.1:3000", "--events", "invoice.paid"}, "unknown event type"},
		{[]string{"--forward-to", "http://127.0.0.1:3000", "--listen", "3000"}, "--listen"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			err := Run(context.Background(), append([]string{"listen"}, tt.args...), &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("listen %v = %v, want a usage error about %q", tt.args, err, tt.want)
			}
		})
	}
}

// TestListenReusesItsSubscription runs listen on a fixed address whose
// subscription exists already: it is used (with a new secret) and left in
// place at the end.
func TestListenReusesItsSubscription(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	addr := freeAddr(t)
	pre := call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"http://`+addr+`/webhook"}`, "Content-Type", "application/json")
	if pre.status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", pre.status, pre.body)
	}
	id, oldSecret := field(t, pre.body, "id"), field(t, pre.body, "secret")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"listen", "--api", base, "--forward-to", "http://127.0.0.1:9/none", "--listen", addr},
			&out, io.Discard, func(string) string { return "" })
	}()
	natstest.Eventually(t, 10*time.Second, "listen is ready", func() bool { return strings.Contains(out.String(), "Ready.") })
	if !strings.Contains(out.String(), "subscription "+id+",") || strings.Contains(out.String(), oldSecret) {
		t.Fatalf("listen did not reuse %s with a new secret:\n%s", id, out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if a := call(t, http.MethodGet, base+"/webhooks/subscriptions/"+id, ""); a.status != http.StatusOK {
		t.Fatalf("the subscription that was there before is gone: %d", a.status)
	}
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
