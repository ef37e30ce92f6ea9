package app

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/seal"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// rolesServer starts a JetStream server whose only users are those of
// deploy/nats/roles.conf, and returns its address.
func rolesServer(t *testing.T, passwords map[string]string) string {
	t.Helper()
	for role, pw := range passwords {
		t.Setenv("INVOICED_"+strings.ToUpper(role)+"_NATS_PASSWORD", pw)
	}
	opts, err := server.ProcessConfigFile(filepath.Join("..", "..", "deploy", "nats", "roles.conf"))
	if err != nil {
		t.Fatal(err)
	}
	opts.Host, opts.Port, opts.JetStream, opts.StoreDir, opts.NoSigs, opts.NoLog = "127.0.0.1", server.RANDOM_PORT, true, t.TempDir(), true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS not ready")
	}
	return srv.Addr().String()
}

func TestRolesRunWithLeastPrivilege(t *testing.T) {
	passwords := map[string]string{"api": "api-pw-8d2f", "processor": "processor-pw-51ac", "dispatcher": "dispatcher-pw-0e7b"}
	addr := rolesServer(t, passwords)
	url := func(role string) string {
		return fmt.Sprintf("nats://invoiced-%s:%s@%s", role, passwords[role], addr)
	}
	keys := filepath.Join(t.TempDir(), "secrets.key")
	if _, err := seal.CreateKeyFile(keys); err != nil {
		t.Fatal(err)
	}
	api := startService(t, serveConfig(t, "", "--nats-url", url("api"), "--roles", "api", "--secrets-key-file", keys, "--webhook-allow-private"))
	startService(t, serveConfig(t, "", "--nats-url", url("processor"), "--roles", "processor"))
	startService(t, serveConfig(t, "", "--nats-url", url("dispatcher"), "--roles", "dispatcher", "--secrets-key-file", keys, "--webhook-allow-private"))

	var got atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { got.Add(1) }))
	t.Cleanup(recv.Close)
	base := "http://" + api.Addr()
	if a := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+recv.URL+`"}`, "Content-Type", "application/json"); a.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", a.Status, a.Body)
	}
	inv := calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody, "Content-Type", "application/json", "Idempotency-Key", "least-0")
	if inv.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", inv.Status, inv.Body)
	}
	natstest.Eventually(t, 20*time.Second, "the invoice processed", func() bool {
		return strings.Contains(string(calltest.Call(t, http.MethodGet, base+"/invoices/"+calltest.Field(t, inv.Body, "id"), "").Body), `"processed"`)
	})
	// The dispatcher hears of a new subscription through a watch of its
	// bucket, a moment after it is made: events before that go to nobody.
	n := 0
	natstest.Eventually(t, 30*time.Second, "webhooks delivered", func() bool {
		n++
		calltest.Call(t, http.MethodPost, base+"/invoices", calltest.InvoiceBody, "Content-Type", "application/json", "Idempotency-Key", fmt.Sprint("least-", n))
		return got.Load() >= 2
	})

	const id = "00000000-0000-4000-8000-000000000000"
	for role, forged := range map[string][]string{
		"processor":  {events.Subject(events.DefaultAccount, id, events.InvoiceRequested), "invoices." + id + ".requested"},
		"api":        {events.Subject(events.DefaultAccount, id, events.InvoiceProcessed), "invoices." + id + ".processed", "invoices." + id + ".requested"},
		"dispatcher": {events.Subject(events.DefaultAccount, id, events.InvoiceFailed), "invoices." + id + ".failed"},
	} {
		for _, subject := range forged {
			if err := publishRefused(url(role), subject); err != nil {
				t.Errorf("%s, %s: %v", role, subject, err)
			}
		}
	}
}

// publishRefused publishes to subject as the user of url and returns nil
// when the server refuses it for want of permission.
func publishRefused(url, subject string) error {
	refused := make(chan error, 1)
	nc, err := nats.Connect(url, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case refused <- err:
		default:
		}
	}))
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := nc.Publish(subject, []byte(`{"schema":1}`)); err != nil {
		return err
	}
	_ = nc.Flush()
	select {
	case err := <-refused:
		if errors.Is(err, nats.ErrPermissionViolation) || strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			return nil
		}
		return fmt.Errorf("not refused for permission: %w", err)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("publishing to %s was not refused", subject)
	}
}
