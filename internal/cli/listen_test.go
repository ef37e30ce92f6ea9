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
		{[]string{"--signing", "rsa"}, "--signing must be hmac or ed25519"},
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
	addr, pre := subscribeListenAddr(t, base)
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

// TestListenVerifiesEd25519WithPublicKeys runs listen with --signing
// ed25519: its subscription signs with ed25519, each webhook verifies with
// the public key the start line shows and is forwarded; after a rotation
// with a 1ms overlap, a webhook signed with the new key alone makes listen
// fetch the public keys again and verify it; a forged one is not verified.
func TestListenVerifiesEd25519WithPublicKeys(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--webhook-retry-schedule", "50ms,100ms,200ms", "--webhook-secret-overlap", "1ms"))
	base := "http://" + svc.Addr()
	app := &appReceiver{}
	appSrv := httptest.NewServer(app)
	t.Cleanup(appSrv.Close)
	relay := freeAddr(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out calltest.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"listen", "--api", base, "--forward-to", appSrv.URL, "--events", "invoice.processed", "--listen", relay,
			"--signing", "ed25519"}, &out, io.Discard, func(string) string { return "" })
	}()
	var subID, oldKey string
	ready := regexp.MustCompile(`webhooks signed with ed25519\.\n  subscription (\S+), public keys (whpk_\S+) \(kid `)
	natstest.Eventually(t, 10*time.Second, "listen is ready", func() bool {
		m := ready.FindStringSubmatch(out.String())
		if m != nil {
			subID, oldKey = m[1], m[2]
		}
		return m != nil
	})
	if strings.Contains(out.String(), "whsec_") || strings.Contains(out.String(), "whsk_") {
		t.Fatalf("listen shows a secret:\n%s", out.String())
	}
	if a := calltest.Call(t, http.MethodGet, base+"/webhooks/subscriptions/"+subID, ""); calltest.Field(t, a.Body, "signing") != "ed25519" {
		t.Fatalf("the subscription: %s", a.Body)
	}

	calltest.PostInvoice(t, base, "listen-ed-1", calltest.InvoiceBody)
	natstest.Eventually(t, 20*time.Second, "the app gets the webhook", func() bool { return app.count() == 1 })
	app.mu.Lock()
	req, body := app.got[0], app.bodies[0]
	app.mu.Unlock()
	if _, err := webhook.Verify(oldKey, req.Header, body, time.Minute); err != nil || !strings.HasPrefix(req.Header.Get(webhook.HeaderSignature), "v1a,") {
		t.Fatalf("the app got %v, %v", req.Header, err)
	}
	natstest.Eventually(t, 10*time.Second, "listen prints it verified", func() bool {
		return strings.Count(out.String(), "verified  → 200 OK") == 1
	})

	rotated := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions/"+subID+"/rotate-secret", "")
	var keys struct {
		PublicKeys []struct{ Key string } `json:"public_keys"`
	}
	if err := json.Unmarshal(rotated.Body, &keys); err != nil || rotated.Status != http.StatusOK || len(keys.PublicKeys) == 0 || keys.PublicKeys[0].Key == oldKey {
		t.Fatalf("rotate: %d %s", rotated.Status, rotated.Body)
	}
	newKey := keys.PublicKeys[0].Key
	// The dispatcher signs with the new key once it has seen the rotation:
	// invoices go until one such webhook has reached listen.
	n := 1
	natstest.Eventually(t, 30*time.Second, "listen fetches the rotated key", func() bool {
		if strings.Contains(out.String(), "fetched again (rotated): "+newKey) {
			return true
		}
		if app.count() == n {
			n++
			calltest.PostInvoice(t, base, "listen-ed-"+strconv.Itoa(n), calltest.InvoiceBody)
		}
		return false
	})
	natstest.Eventually(t, 20*time.Second, "the app gets it", func() bool { return app.count() == n })
	app.mu.Lock()
	req, body = app.got[n-1], app.bodies[n-1]
	app.mu.Unlock()
	if _, err := webhook.Verify(newKey, req.Header, body, time.Minute); err != nil {
		t.Fatalf("the newest webhook does not verify with the new key: %v", err)
	}
	if _, err := webhook.Verify(oldKey, req.Header, body, time.Minute); err == nil {
		t.Fatal("the newest webhook still verifies with the old key: no rotation was tested")
	}
	natstest.Eventually(t, 10*time.Second, "listen prints each verified", func() bool {
		return strings.Count(out.String(), "verified  → 200 OK") == n
	})

	forged := calltest.Call(t, http.MethodPost, "http://"+relay+"/webhook", `{"type":"invoice.processed"}`, "Content-Type", "application/json",
		webhook.HeaderID, "msg_forged", webhook.HeaderTimestamp, strconv.FormatInt(time.Now().Unix(), 10),
		webhook.HeaderSignature, "v1a,"+strings.Repeat("A", 86)+"==")
	if forged.Status != http.StatusOK || !strings.Contains(out.String(), "msg_forged  NOT VERIFIED") {
		t.Fatalf("a forged webhook: %d, output:\n%s", forged.Status, out.String())
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("listen: %v\n%s", err, out.String())
	}
	if a := calltest.Call(t, http.MethodGet, base+"/webhooks/subscriptions/"+subID, ""); a.Status != http.StatusNotFound {
		t.Fatalf("the subscription is still there: %d", a.Status)
	}
}

// TestListenPrintsEd25519Webhooks runs listen printing, with
// INVOICED_SIGNING=ed25519: each verified webhook's body is printed.
func TestListenPrintsEd25519Webhooks(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr calltest.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"listen", "--events", "invoice.processed"}, &stdout, &stderr,
			func(name string) string {
				return map[string]string{"INVOICED_API": base, "INVOICED_SIGNING": "ed25519"}[name]
			})
	}()
	natstest.Eventually(t, 10*time.Second, "listen is ready", func() bool {
		return strings.Contains(stderr.String(), "webhooks signed with ed25519.\n  subscription ")
	})
	id := calltest.Field(t, calltest.PostInvoice(t, base, "listen-ed-print", calltest.InvoiceBody).Body, "id")
	var line map[string]any
	natstest.Eventually(t, 20*time.Second, "listen prints the webhook", func() bool {
		return json.Unmarshal([]byte(stdout.String()), &line) == nil
	})
	if data, _ := line["data"].(map[string]any); line["type"] != "invoice.processed" || data["id"] != id {
		t.Fatalf("printed %v, want invoice %s", line, id)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("listen: %v\n%s", err, stderr.String())
	}
}

// TestListenRefusesASubscriptionSignedOtherwise runs listen with --signing
// ed25519 where an hmac subscription of its address is: listen says so and
// leaves it.
func TestListenRefusesASubscriptionSignedOtherwise(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	addr, pre := subscribeListenAddr(t, base)
	id := calltest.Field(t, pre.Body, "id")
	err := Run(context.Background(), []string{"listen", "--api", base, "--listen", addr, "--signing", "ed25519"}, io.Discard, io.Discard,
		func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "subscription "+id) || !strings.Contains(err.Error(), "signed with hmac, not ed25519") {
		t.Fatalf("listen = %v, want a refusal naming %s", err, id)
	}
	if a := calltest.Call(t, http.MethodGet, base+"/webhooks/subscriptions/"+id, ""); a.Status != http.StatusOK {
		t.Fatalf("the subscription that was there is gone: %d", a.Status)
	}
}

// subscribeListenAddr subscribes, at the service at base, the webhook URL
// listen serves on a free address, as an earlier listen would have, and
// returns the address and the answer.
func subscribeListenAddr(t *testing.T, base string) (string, calltest.Answer) {
	t.Helper()
	addr := freeAddr(t)
	pre := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"http://`+addr+`/webhook"}`, "Content-Type", "application/json")
	if pre.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", pre.Status, pre.Body)
	}
	return addr, pre
}
