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

	"github.com/invoiced/invoiced/internal/config"
	"github.com/invoiced/invoiced/internal/natstest"
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

type answer struct {
	status int
	header http.Header
	body   []byte
}

func call(t testing.TB, method, url, body string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, b}
}

func postInvoice(t testing.TB, base, key, body string) answer {
	t.Helper()
	return call(t, http.MethodPost, base+"/invoices", body, "Content-Type", "application/json", "Idempotency-Key", key)
}

func field(t testing.TB, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	s, _ := m[name].(string)
	return s
}

func awaitStatus(t testing.TB, base, id, status string) []byte {
	t.Helper()
	var last []byte
	natstest.Eventually(t, 15*time.Second, "invoice "+id+" "+status, func() bool {
		a := call(t, http.MethodGet, base+"/invoices/"+id, "")
		last = a.body
		return a.status == http.StatusOK && field(t, a.body, "status") == status
	})
	return last
}

const journeyBody = `{"customer_id":"cust_123","amount_cents":2500,"currency":"USD"}`

func TestRestartKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	svc := startService(t, serveConfig(t, dir))
	base := "http://" + svc.Addr()
	first := postInvoice(t, base, "inv-001", journeyBody)
	if first.status != http.StatusCreated {
		t.Fatalf("%d %s", first.status, first.body)
	}
	id := field(t, first.body, "id")
	awaitStatus(t, base, id, "processed")
	stopService(t, svc)

	svc = startService(t, serveConfig(t, dir))
	base = "http://" + svc.Addr()
	again := postInvoice(t, base, "inv-001", journeyBody)
	if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("after restart: %d %s", again.status, again.body)
	}
	if a := postInvoice(t, base, "inv-001", `{"customer_id":"cust_123","amount_cents":1}`); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("changed request after restart: %d %s", a.status, a.body)
	}
	got := awaitStatus(t, base, id, "processed")
	var list struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(call(t, http.MethodGet, base+"/invoices", "").body, &list); err != nil || len(list.Data) != 1 {
		t.Fatalf("list after restart rebuilt from the stream: %v %d", err, len(list.Data))
	}
	if !bytes.Equal(bytes.TrimSpace(list.Data[0]), bytes.TrimSpace(got)) {
		t.Fatalf("list %s\nget %s", list.Data[0], got)
	}
}

func TestFailedAboveMaxAmount(t *testing.T) {
	svc := startService(t, serveConfig(t, "", "--max-amount-cents", "1000"))
	base := "http://" + svc.Addr()
	a := postInvoice(t, base, "big", `{"customer_id":"c","amount_cents":1001}`)
	body := awaitStatus(t, base, field(t, a.body, "id"), "failed")
	if field(t, body, "failure_reason") != "amount_exceeds_limit" {
		t.Fatalf("%s", body)
	}
}

func TestRoles(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	apiOnly := startService(t, serveConfig(t, "", "--nats-url", srv.ClientURL(), "--roles", "api"))
	procOnly := startService(t, serveConfig(t, "", "--nats-url", srv.ClientURL(), "--roles", "processor"))

	if a := call(t, http.MethodGet, "http://"+procOnly.Addr()+"/invoices", ""); a.status != http.StatusNotFound {
		t.Fatalf("processor-only process serves invoices: %d", a.status)
	}
	for _, svc := range []*Service{apiOnly, procOnly} {
		if a := call(t, http.MethodGet, "http://"+svc.Addr()+"/readyz", ""); a.status != http.StatusOK {
			t.Fatalf("readyz %d %s", a.status, a.body)
		}
	}
	base := "http://" + apiOnly.Addr()
	a := postInvoice(t, base, "k", journeyBody)
	awaitStatus(t, base, field(t, a.body, "id"), "processed") // by the other process
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
	if a := call(t, http.MethodGet, base+"/healthz", ""); a.status != http.StatusOK {
		t.Fatalf("healthz %d", a.status)
	}
	srv.Shutdown()
	srv.WaitForShutdown()
	natstest.Eventually(t, 10*time.Second, "readyz 503 while NATS is down", func() bool {
		a := call(t, http.MethodGet, base+"/readyz", "")
		return a.status == http.StatusServiceUnavailable && a.header.Get("Retry-After") != ""
	})
	if a := call(t, http.MethodGet, base+"/healthz", ""); a.status != http.StatusOK {
		t.Fatalf("healthz %d while NATS is down", a.status)
	}
	natstest.Start(t, natstest.Options{StoreDir: dir, Port: port})
	natstest.Eventually(t, 20*time.Second, "readyz 200 once NATS is back", func() bool {
		return call(t, http.MethodGet, base+"/readyz", "").status == http.StatusOK
	})
	a := postInvoice(t, base, "after-outage", journeyBody)
	awaitStatus(t, base, field(t, a.body, "id"), "processed")
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
	if a := call(t, http.MethodGet, "http://"+svc.PprofAddr()+"/debug/pprof/cmdline", ""); a.status != http.StatusOK || len(a.body) == 0 {
		t.Fatalf("pprof: %d %q", a.status, a.body)
	}
	if a := call(t, http.MethodGet, "http://"+svc.Addr()+"/debug/pprof/cmdline", ""); a.status != http.StatusNotFound {
		t.Fatalf("pprof on the API listener: %d", a.status)
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
