package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/app"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/tool/bench"
)

// runBench runs invoiced bench: the service (embedded unless --target) under
// load with a verifying receiver, then the floor under the same load.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseBenchEnv(args, getenv, stderr)
	if err != nil {
		return usage(err)
	}
	rep, err := Bench(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), stderr)
	if err != nil {
		return err
	}
	if cfg.JSON {
		return json.NewEncoder(stdout).Encode(rep)
	}
	return rep.Write(stdout)
}

// Bench measures as cfg says, the service embedded unless cfg.Target, and
// returns the report, keeping a live progress line on progressTo when it
// is a terminal. It fails when the service, the receiver or the floor
// cannot be started.
func Bench(ctx context.Context, cfg config.Bench, log *slog.Logger, progressTo io.Writer) (bench.Report, error) {
	var serveArgs []string
	var sink *bench.OTLPSink
	if cfg.Trace {
		var err error
		if sink, err = bench.StartOTLPSink(); err != nil {
			return bench.Report{}, err
		}
		defer sink.Close()
		serveArgs = []string{"--otlp-endpoint", sink.URL, "--trace-sample-ratio", "1"}
	}
	target, stop, err := benchTarget(ctx, cfg, log, serveArgs...)
	if err != nil {
		return bench.Report{}, err
	}
	rep, err := bench.Measure(ctx, cfg, target, progressTo)
	stop() // the service exports what it still holds as it stops
	if sink != nil {
		rep.TraceExports, rep.TraceExportBytes = sink.Exports()
	}
	return rep, err
}

// benchTarget returns the URL to measure: --target, or an embedded service
// with every role and serveArgs, stopped by the returned func.
func benchTarget(ctx context.Context, cfg config.Bench, log *slog.Logger, serveArgs ...string) (string, func(), error) {
	if cfg.Target != "" {
		return strings.TrimSuffix(cfg.Target, "/"), func() {}, nil
	}
	dir, err := os.MkdirTemp("", "invoiced-bench")
	if err != nil {
		return "", nil, err
	}
	serve, err := config.ParseServe(append([]string{"--addr", "127.0.0.1:0", "--data", dir, "--nats-listen", "off", "--fsync", cfg.Fsync}, serveArgs...),
		func(string) string { return "" }, io.Discard)
	if err != nil {
		return "", nil, err
	}
	svc, err := app.Start(ctx, serve, log)
	if err != nil {
		return "", nil, err
	}
	return "http://" + svc.Addr(), func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = svc.Shutdown(stopCtx)
		_ = os.RemoveAll(dir)
	}, nil
}
