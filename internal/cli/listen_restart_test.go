package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/app"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// gatedStdout is listen's stdout, which refuses every write while closed,
// as a closed pipe does.
type gatedStdout struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	closed  bool
	refused int
}

func (g *gatedStdout) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		g.refused++
		return 0, errors.New("stdout closed")
	}
	return g.buf.Write(p)
}

// setClosed closes or reopens the stdout.
func (g *gatedStdout) setClosed(closed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = closed
}

// printed returns how many times each event (type and invoice) was
// printed, failing the test on a line that is not an event.
func (g *gatedStdout) printed(t testing.TB) map[string]int {
	g.mu.Lock()
	text := g.buf.String()
	g.mu.Unlock()
	counts := map[string]int{}
	for line := range strings.Lines(text) {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Type == "" || ev.Data.ID == "" {
			t.Fatalf("stdout holds %q, not an event", line)
		}
		counts[ev.Type+" "+ev.Data.ID]++
	}
	return counts
}

// TestListenReplaysWhatItMissedAcrossARestart runs listen, printing, under
// a service whose failed deliveries are retried only an hour later. Two
// invoices' webhooks fail while listen's stdout is closed; then the
// service is shut down and started again on the same data and address.
// Listen stays up, says the service went away and came back, and replays
// the missed events from GET /events at once; every event of every
// invoice, before, during and after, is printed exactly once.
func TestListenReplaysWhatItMissedAcrossARestart(t *testing.T) {
	svc, cfg, base := startRestartable(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr := &gatedStdout{}, &calltest.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"listen", "--api", base, "--probe-interval", "50ms"}, stdout, stderr, func(string) string { return "" })
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("listen said:\n%s", stderr.String())
		}
	})
	natstest.Eventually(t, 10*time.Second, "listen is ready", func() bool { return strings.Contains(stderr.String(), "Ready.") })

	var ids []string
	post := func(key string) {
		ids = append(ids, calltest.Field(t, calltest.PostInvoice(t, base, key, calltest.InvoiceBody).Body, "id"))
	}
	allPrinted := func() bool {
		got := stdout.printed(t)
		for _, id := range ids {
			if got["invoice.created "+id] == 0 || got["invoice.processed "+id] == 0 {
				return false
			}
		}
		return true
	}
	post("restart-1")
	natstest.Eventually(t, 20*time.Second, "listen prints the first invoice's events", allPrinted)

	stdout.setClosed(true)
	post("restart-2")
	post("restart-3")
	natstest.Eventually(t, 20*time.Second, "the service records the deliveries to listen failing", func() bool {
		a := calltest.Call(t, http.MethodGet, base+"/events?delivery_success=false&limit=100", "")
		return a.Status == http.StatusOK && strings.Count(string(a.Body), `"status":"failing"`) >= 4
	})
	stdout.setClosed(false)

	restartUnderListen(t, svc, cfg, stderr.String)
	natstest.Eventually(t, 20*time.Second, "listen replays what it missed", func() bool {
		return strings.Contains(stderr.String(), "service back after") && strings.Count(stderr.String(), "  replayed (missed") == 4
	})
	post("restart-4")
	natstest.Eventually(t, 20*time.Second, "listen prints every invoice's events", allPrinted)

	for event, n := range stdout.printed(t) {
		if n != 1 {
			t.Errorf("%s printed %d times", event, n)
		}
	}
	if got := len(stdout.printed(t)); got != 2*len(ids) {
		t.Errorf("printed %d events, want %d", got, 2*len(ids))
	}
	if !strings.Contains(stderr.String(), "replaying 4 events missed since") {
		t.Errorf("listen did not say what it replays:\n%s", stderr.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("listen: %v\n%s", err, stderr.String())
	}
}

// TestListenForwardsWhatItMissedAcrossARestart runs listen forwarding to
// an app that fails for a while, under a service whose failed deliveries
// are retried only an hour later, and restarts the service: once it is
// back, listen has it deliver the missed events again at once, marks them
// replayed, and the app takes every event once.
func TestListenForwardsWhatItMissedAcrossARestart(t *testing.T) {
	svc, cfg, base := startRestartable(t)
	receiver := &appReceiver{status: http.StatusInternalServerError}
	appSrv := httptest.NewServer(receiver)
	t.Cleanup(appSrv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out calltest.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"listen", "--api", base, "--forward-to", appSrv.URL, "--probe-interval", "50ms"}, &out, io.Discard,
			func(string) string { return "" })
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("listen said:\n%s", out.String())
		}
	})
	natstest.Eventually(t, 10*time.Second, "listen is ready", func() bool { return strings.Contains(out.String(), "Ready.") })
	calltest.PostInvoice(t, base, "forward-restart-1", calltest.InvoiceBody)
	natstest.Eventually(t, 20*time.Second, "the app fails both events", func() bool {
		return strings.Count(out.String(), "→ 500 Internal Server Error") == 2
	})
	receiver.mu.Lock()
	receiver.status = 0 // the app takes what comes next
	receiver.mu.Unlock()

	restartUnderListen(t, svc, cfg, out.String)
	natstest.Eventually(t, 20*time.Second, "listen has the missed events delivered again", func() bool {
		return strings.Contains(out.String(), "replaying 2 events missed since") && strings.Count(out.String(), "→ 200 OK") == 2 &&
			strings.Count(out.String(), "(replayed)") == 2
	})
	calltest.PostInvoice(t, base, "forward-restart-2", calltest.InvoiceBody)
	natstest.Eventually(t, 20*time.Second, "the app takes the new invoice's events", func() bool {
		return strings.Count(out.String(), "→ 200 OK") == 4
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("listen: %v\n%s", err, out.String())
	}
}

// startRestartable starts a service on a fixed address whose failed
// deliveries are retried only an hour later, and returns it, its
// configuration, for restartUnderListen, and its base URL.
func startRestartable(t *testing.T) (*app.Service, config.Serve, string) {
	t.Helper()
	addr := freeAddr(t)
	cfg := serveConfig(t, t.TempDir(), "--addr", addr, "--webhook-retry-schedule", "1h")
	svc, err := app.Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return svc, cfg, "http://" + addr
}

// restartUnderListen stops svc, waits until listen, whose output said
// returns, says the service went away, and starts it again as cfg says,
// on the same data and address, until the test ends.
func restartUnderListen(t *testing.T, svc *app.Service, cfg config.Serve, said func() string) {
	t.Helper()
	stopService(t, svc)
	natstest.Eventually(t, 10*time.Second, "listen says the service went away", func() bool {
		return strings.Contains(said(), "service unreachable since")
	})
	again, err := app.Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(func() { stopService(t, again) })
}
