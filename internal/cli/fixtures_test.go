package cli

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/app"
	"github.com/invoiced/invoiced/internal/infra/config"
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
func startService(t testing.TB, cfg config.Serve) *app.Service {
	t.Helper()
	svc, err := app.Start(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { stopService(t, svc) })
	return svc
}

// stopService shuts svc down, failing the test when that fails.
func stopService(t testing.TB, svc *app.Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := svc.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
