package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/client/webhook"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
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
	var out calltest.SyncBuffer
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

	calltest.PostInvoice(t, base, "listen-1", calltest.InvoiceBody)
	natstest.Eventually(t, 20*time.Second, "the app gets the webhook", func() bool { return app.count() == 1 })
	app.mu.Lock()
	req, body := app.got[0], app.bodies[0]
	app.status = http.StatusInternalServerError // the next one fails
	app.mu.Unlock()
	if _, err := webhook.Verify(secret, req.Header, body, time.Minute); err != nil || req.Header.Get(webhook.HeaderEventType) != "invoice.processed" {
		t.Fatalf("the app got %v, %v", req.Header, err)
	}
	natstest.Eventually(t, 10*time.Second, "listen prints it", func() bool {
		return strings.Contains(out.String(), "invoice.processed") && strings.Contains(out.String(), "verified  → 200 OK")
	})

	calltest.PostInvoice(t, base, "listen-2", calltest.InvoiceBody)
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
	if a := calltest.Call(t, http.MethodGet, base+"/webhooks/subscriptions/"+subID, ""); a.Status != http.StatusNotFound {
		t.Fatalf("the subscription is still there: %d", a.Status)
	}
}

func TestListenRefusesBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--forward-to", "localhost:3000"}, "--forward-to must be"},
		{[]string{"--api", "127.0.0.1:8080"}, "--api must be"},
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

// TestListenPrintsVerifiedWebhooks runs listen with no --forward-to, its
// API given by INVOICED_API: each verified webhook's body is one JSON line
// on stdout, where nothing else goes, and a forged one is refused and
// reported on stderr, not printed.
func TestListenPrintsVerifiedWebhooks(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	relay := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr calltest.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"listen", "--events", "invoice.processed", "--listen", relay}, &stdout, &stderr,
			func(name string) string { return map[string]string{"INVOICED_API": base}[name] })
	}()
	var subID string
	ready := regexp.MustCompile(`subscription (\S+), signing secret whsec_`)
	natstest.Eventually(t, 10*time.Second, "listen is ready", func() bool {
		m := ready.FindStringSubmatch(stderr.String())
		if m != nil {
			subID = m[1]
		}
		return m != nil
	})

	forged := calltest.Call(t, http.MethodPost, "http://"+relay+"/webhook", `{"type":"invoice.processed"}`, "Content-Type", "application/json",
		webhook.HeaderID, "msg_forged", webhook.HeaderTimestamp, strconv.FormatInt(time.Now().Unix(), 10), webhook.HeaderSignature, "v1,Zm9yZ2Vk")
	if forged.Status != http.StatusBadRequest || !strings.Contains(stderr.String(), "msg_forged  NOT VERIFIED") {
		t.Fatalf("a forged webhook: %d, stderr:\n%s", forged.Status, stderr.String())
	}

	id := calltest.Field(t, calltest.PostInvoice(t, base, "listen-print", calltest.InvoiceBody).Body, "id")
	var line map[string]any
	natstest.Eventually(t, 20*time.Second, "listen prints the webhook", func() bool {
		return json.Unmarshal([]byte(stdout.String()), &line) == nil
	})
	data, _ := line["data"].(map[string]any)
	if line["type"] != "invoice.processed" || data["id"] != id || data["status"] != "processed" {
		t.Fatalf("printed %v, want invoice %s processed", line, id)
	}
	if out := stdout.String(); strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "}\n") {
		t.Fatalf("stdout holds more than the one JSON line:\n%s", out)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("listen: %v\n%s", err, stderr.String())
	}
	if a := calltest.Call(t, http.MethodGet, base+"/webhooks/subscriptions/"+subID, ""); a.Status != http.StatusNotFound {
		t.Fatalf("the subscription is still there: %d", a.Status)
	}
	if !strings.Contains(stderr.String(), "subscription "+subID+" removed") {
		t.Fatalf("stderr:\n%s", stderr.String())
	}
}

// TestListenReusesItsSubscription runs listen on a fixed address whose
// subscription exists already: it is used (with a new secret) and left in
// place at the end.
func TestListenReusesItsSubscription(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	addr := freeAddr(t)
	pre := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"http://`+addr+`/webhook"}`, "Content-Type", "application/json")
	if pre.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", pre.Status, pre.Body)
	}
	id, oldSecret := calltest.Field(t, pre.Body, "id"), calltest.Field(t, pre.Body, "secret")
	ctx, cancel := context.WithCancel(context.Background())
	var out calltest.SyncBuffer
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
	if a := calltest.Call(t, http.MethodGet, base+"/webhooks/subscriptions/"+id, ""); a.Status != http.StatusOK {
		t.Fatalf("the subscription that was there before is gone: %d", a.Status)
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
