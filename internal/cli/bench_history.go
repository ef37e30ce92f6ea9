package cli

import (
	"context"
	"encoding/json"
	"io"
	"os"

	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/tool/bench"
)

// runBenchHistory runs invoiced bench history and prints every measurement,
// the medians per size, and what each invoice of history costs.
func runBenchHistory(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.ParseBenchHistoryEnv(args, getenv, stderr)
	if err != nil {
		return usage(err)
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	data := cfg.Data
	if data == "" {
		if data, err = os.MkdirTemp("", "invoiced-history"); err != nil {
			return err
		}
		defer os.RemoveAll(data)
	} else if err := os.MkdirAll(data, 0o750); err != nil {
		return err
	}
	ref, err := os.MkdirTemp("", "invoiced-history-reference")
	if err != nil {
		return err
	}
	defer os.RemoveAll(ref)
	runs, err := bench.RunHistory(ctx, bench.HistoryConfig{Bin: bin, Data: data, Reference: ref, Sizes: cfg.Sizes, Runs: cfg.Runs,
		Fsync: cfg.Fsync, Reads: cfg.Reads, PostFor: cfg.PostFor, Log: stderr})
	if len(runs) > 0 {
		if cfg.JSON {
			if jerr := json.NewEncoder(stdout).Encode(map[string]any{"runs": runs, "medians": bench.MedianRuns(runs)}); jerr != nil {
				return jerr
			}
		} else {
			bench.WriteHistoryReport(stdout, cfg, runs)
		}
	}
	return err
}
