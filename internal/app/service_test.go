package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// serveConfig returns a test configuration: loopback on free ports, the
// store in dir (a new temporary one when empty), NATS in-process only.
func serveConfig(t testing.TB, dir string, args ...string) config.Serve {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	base := []string{"--addr", "127.0.0.1:0", "--data", dir, "--nats-listen", "off"}
	cfg, err := config.ParseServe(append(base, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startService starts a service and shuts it down when the test ends.
func startService(t testing.TB, cfg config.Serve) *Service {
	t.Helper()
	svc, err := Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { stopService(t, svc) })
	return svc
}

func stopService(t testing.TB, svc *Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	svc := startService(t, serveConfig(t, dir))
	base := "http://" + svc.Addr()
	first := calltest.PostInvoice(t, base, "inv-001", calltest.InvoiceBody)
	if first.Status != http.StatusCreated {
		t.Fatalf("%d %s", first.Status, first.Body)
	}
	id := calltest.Field(t, first.Body, "id")
	calltest.AwaitStatus(t, base, id, "processed")
	stopService(t, svc)

	svc = startService(t, serveConfig(t, dir))
	base = "http://" + svc.Addr()
	again := calltest.PostInvoice(t, base, "inv-001", calltest.InvoiceBody)
	if again.Status != http.StatusCreated || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("after restart: %d %s", again.Status, again.Body)
	}
	if a := calltest.PostInvoice(t, base, "inv-001", `{"customer_id":"cust_123","amount_cents":1}`); a.Status != http.StatusUnprocessableEntity {
		t.Fatalf("changed request after restart: %d %s", a.Status, a.Body)
	}
	got := calltest.AwaitStatus(t, base, id, "processed")
	var list struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(calltest.Call(t, http.MethodGet, base+"/invoices", "").Body, &list); err != nil || len(list.Data) != 1 {
		t.Fatalf("list after restart rebuilt from the stream: %v %d", err, len(list.Data))
	}
	if !bytes.Equal(bytes.TrimSpace(list.Data[0]), bytes.TrimSpace(got)) {
		t.Fatalf("list %s\nget %s", list.Data[0], got)
	}
}

func TestFailedAboveMaxAmount(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--max-amount-cents", "1000"))
	base := "http://" + svc.Addr()
	a := calltest.PostInvoice(t, base, "big", `{"customer_id":"c","amount_cents":1001}`)
	body := calltest.AwaitStatus(t, base, calltest.Field(t, a.Body, "id"), "failed")
	if calltest.Field(t, body, "failure_reason") != "amount_exceeds_limit" {
		t.Fatalf("%s", body)
	}
}

func TestRoles(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	apiOnly := startService(t, serveConfig(t, "", "--nats-url", srv.ClientURL(), "--roles", "api"))
	procOnly := startService(t, serveConfig(t, "", "--nats-url", srv.ClientURL(), "--roles", "processor"))

	if a := calltest.Call(t, http.MethodGet, "http://"+procOnly.Addr()+"/invoices", ""); a.Status != http.StatusNotFound {
		t.Fatalf("processor-only process serves invoices: %d", a.Status)
	}
	for _, svc := range []*Service{apiOnly, procOnly} {
		if a := calltest.Call(t, http.MethodGet, "http://"+svc.Addr()+"/readyz", ""); a.Status != http.StatusOK {
			t.Fatalf("readyz %d %s", a.Status, a.Body)
		}
	}
	base := "http://" + apiOnly.Addr()
	a := calltest.PostInvoice(t, base, "k", calltest.InvoiceBody)
	calltest.AwaitStatus(t, base, calltest.Field(t, a.Body, "id"), "processed") // by the other process
}

func TestConcurrentStartAgainstOneNATS(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc, err := Start(context.Background(), serveConfig(t, "", "--nats-url", srv.ClientURL()), slog.New(slog.DiscardHandler))
			errs[i] = err
			if err == nil {
				t.Cleanup(func() { stopService(t, svc) })
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
}

func TestReadyzFollowsNATS(t *testing.T) {
	dir := t.TempDir()
	srv := natstest.Start(t, natstest.Options{StoreDir: dir})
	url, port := srv.ClientURL(), natstest.Port(t, srv)
	svc := startService(t, serveConfig(t, "", "--nats-url", url))
	base := "http://" + svc.Addr()
	if a := calltest.Call(t, http.MethodGet, base+"/healthz", ""); a.Status != http.StatusOK {
		t.Fatalf("healthz %d", a.Status)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	natstest.Eventually(t, 10*time.Second, "readyz 503 while NATS is down", func() bool {
		a := calltest.Call(t, http.MethodGet, base+"/readyz", "")
		return a.Status == http.StatusServiceUnavailable && a.Header.Get("Retry-After") != ""
	})
	if a := calltest.Call(t, http.MethodGet, base+"/healthz", ""); a.Status != http.StatusOK {
		t.Fatalf("healthz %d while NATS is down", a.Status)
	}
	natstest.Start(t, natstest.Options{StoreDir: dir, Port: port})
	natstest.Eventually(t, 20*time.Second, "readyz 200 once NATS is back", func() bool {
		return calltest.Call(t, http.MethodGet, base+"/readyz", "").Status == http.StatusOK
	})
	a := calltest.PostInvoice(t, base, "after-outage", calltest.InvoiceBody)
	calltest.AwaitStatus(t, base, calltest.Field(t, a.Body, "id"), "processed")
	stopService(t, svc) // while NATS is still up
}

// TestShutdownWhileNATSIsAway stops the service while its NATS server is
// gone: the stop is clean, not an error for what cannot be told to the
// server.
func TestShutdownWhileNATSIsAway(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	svc, err := Start(context.Background(), serveConfig(t, "", "--nats-url", srv.ClientURL()), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown while NATS is away: %v", err)
	}
}

// TestPprofListensApart serves profiles on their own listener only when
// asked, never on the API's.
func TestPprofListensApart(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--pprof-addr", "127.0.0.1:0"))
	if a := calltest.Call(t, http.MethodGet, "http://"+svc.PprofAddr()+"/debug/pprof/cmdline", ""); a.Status != http.StatusOK || len(a.Body) == 0 {
		t.Fatalf("pprof: %d %q", a.Status, a.Body)
	}
	if a := calltest.Call(t, http.MethodGet, "http://"+svc.Addr()+"/debug/pprof/cmdline", ""); a.Status != http.StatusNotFound {
		t.Fatalf("pprof on the API listener: %d", a.Status)
	}
	off := startService(t, serveConfig(t, ""))
	if addr := off.PprofAddr(); addr != "" {
		t.Fatalf("pprof served at %s without --pprof-addr", addr)
	}
}

// TestStartSaysNATSIsUnreachable waits for a NATS server that is not there
// and names that, not the publish buffer it fails on, as the reason.
func TestStartSaysNATSIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://" + ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	svc, err := Start(ctx, serveConfig(t, "", "--nats-url", url), slog.New(slog.DiscardHandler))
	if err == nil {
		stopService(t, svc)
		t.Fatal("started without NATS")
	}
	if !strings.Contains(err.Error(), "not connected to NATS") {
		t.Fatalf("Start = %v, want it to say NATS is not connected", err)
	}
}
