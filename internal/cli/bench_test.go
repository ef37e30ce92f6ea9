package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/tool/bench"
)

// benchReport runs invoiced bench with args and returns its report.
func benchReport(t *testing.T, args ...string) bench.Report {
	t.Helper()
	cfg, err := config.ParseBench(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Bench(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestBenchMeasuresAnOrderedSubscription runs the receiver's subscription
// ordered per invoice: each invoice's two webhooks arrive, in order, and
// end to end is timed to the outcome.
func TestBenchMeasuresAnOrderedSubscription(t *testing.T) {
	rep := benchReport(t, "--duration", "1s", "--concurrency", "4", "--grace", "20s", "--fsync", "interval", "--no-floor",
		"--ordering", "per_invoice")
	switch {
	case rep.Accepted == 0 || rep.Ordering != "per_invoice":
		t.Fatalf("report: %+v", rep)
	case rep.Lost != 0 || rep.Duplicates != 0 || rep.Failed != 0 || rep.OutOfOrder != 0:
		t.Fatalf("lost %d, duplicates %d, failed %d, out of order %d", rep.Lost, rep.Duplicates, rep.Failed, rep.OutOfOrder)
	case rep.Webhooks < 2*rep.Accepted:
		t.Fatalf("%d webhooks for %d invoices: not both events of each", rep.Webhooks, rep.Accepted)
	case rep.E2EP99ms < rep.E2EP50ms || rep.E2EP50ms <= 0:
		t.Fatalf("latencies: %+v", rep)
	}
}

func TestBenchMeasuresServiceAndFloor(t *testing.T) {
	rep := benchReport(t, "--duration", "1s", "--concurrency", "4", "--grace", "20s", "--fsync", "interval")
	switch {
	case rep.Accepted == 0 || rep.AcceptedPerSec <= 0:
		t.Fatalf("nothing accepted: %+v", rep)
	case rep.Lost != 0 || rep.Duplicates != 0 || rep.Failed != 0:
		t.Fatalf("lost %d, duplicates %d, failed %d", rep.Lost, rep.Duplicates, rep.Failed)
	case rep.E2EP50ms < 0 || rep.E2EP99ms < rep.E2EP50ms || rep.PostP50ms <= 0 || rep.PostP99ms < rep.PostP50ms:
		t.Fatalf("latencies: %+v", rep)
	case rep.WebhookBefore201 > rep.Accepted || (rep.E2EP99ms == 0 && rep.WebhookBefore201 == 0):
		t.Fatalf("latencies: %+v", rep)
	case rep.FloorAcceptedPerSec <= 0 || rep.AcceptedRatio <= 0 || rep.FloorPostP99ms <= 0:
		t.Fatalf("floor: %+v", rep)
	case rep.DeliveredPerSec <= 0 || rep.RSSMBEnd <= 0 || rep.CPUmsPerInvoice <= 0 || rep.WrittenKBPerInvoice <= 0 || rep.Fsync != "interval" ||
		rep.Ordering != "none" || rep.Webhooks < rep.Accepted:
		t.Fatalf("report: %+v", rep)
	}
}

func TestBenchCommandPrintsJSON(t *testing.T) {
	var out bytes.Buffer
	err := Run(context.Background(), []string{"bench", "--duration", "300ms", "--concurrency", "2", "--no-floor", "--json", "--fsync", "interval"},
		&out, io.Discard, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(out.Bytes(), &fields); err != nil {
		t.Fatalf("%v: %s", err, out.Bytes())
	}
	for _, name := range []string{"accepted_per_sec", "floor_accepted_per_sec", "accepted_ratio", "post_p50_ms", "post_p99_ms",
		"floor_post_p99_ms", "e2e_p50_ms", "e2e_p99_ms", "delivered_per_sec", "lost", "duplicates", "rss_mb_start", "rss_mb_end", "cpu_ms_per_invoice", "written_kb_per_invoice", "fsync"} {
		if _, ok := fields[name]; !ok {
			t.Fatalf("no %s in %s", name, out.Bytes())
		}
	}
	if fields["lost"].(float64) != 0 {
		t.Fatalf("lost %v", fields["lost"])
	}
}

// TestBenchTraceExportsEverySpan runs bench --trace and finds the
// embedded service's spans at the bench's sink.
func TestBenchTraceExportsEverySpan(t *testing.T) {
	rep := benchReport(t, "--duration", "300ms", "--concurrency", "2", "--no-floor", "--fsync", "interval", "--trace")
	if rep.Accepted == 0 || rep.Lost != 0 || rep.TraceExports == 0 || rep.TraceExportBytes < int64(rep.Accepted)*500 {
		t.Fatalf("%d accepted, %d lost, %d exports of %d bytes", rep.Accepted, rep.Lost, rep.TraceExports, rep.TraceExportBytes)
	}
	var text bytes.Buffer
	if err := rep.Write(&text); err != nil || !bytes.Contains(text.Bytes(), []byte("traces exported")) {
		t.Fatalf("%v:\n%s", err, text.String())
	}
}

func TestParseBench(t *testing.T) {
	for _, bad := range [][]string{{"--fsync", "never"}, {"--concurrency", "0"}, {"--duration", "0s"}, {"--rate", "-1"}, {"extra"},
		{"--trace", "--target", "http://127.0.0.1:8080"}} {
		if _, err := config.ParseBench(bad, io.Discard); err == nil {
			t.Fatalf("%v accepted", bad)
		}
	}
	cfg, err := config.ParseBench(nil, io.Discard)
	if err != nil || cfg.Concurrency != 32 || cfg.Duration != 10*time.Second || cfg.Fsync != config.FsyncAlways {
		t.Fatalf("defaults %+v %v", cfg, err)
	}
}
