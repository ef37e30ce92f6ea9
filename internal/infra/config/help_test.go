package config_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/config"
)

func TestParseServeHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			var out bytes.Buffer
			_, err := config.ParseServe([]string{arg}, env(t, map[string]string{"INVOICED_ADDR": "0.0.0.0:1"}), &out)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("ParseServe(%q) error = %v, want flag.ErrHelp", arg, err)
			}
			usage := out.String()
			if !strings.HasPrefix(usage, "Usage: invoiced serve") {
				t.Errorf("usage does not start with the synopsis:\n%s", usage)
			}
			for _, want := range []string{
				"--addr (env INVOICED_ADDR, default 127.0.0.1:8080)",
				"--data (env INVOICED_DATA, default ./data)",
				`--nats-url (env INVOICED_NATS_URL, default "")`,
				"NATS_URL, the nats CLI's variable, is not read",
				"--nats-listen (env INVOICED_NATS_LISTEN, default 127.0.0.1:4222)",
				"--fsync (env INVOICED_FSYNC, default always)",
				"--roles (env INVOICED_ROLES, default api,processor,dispatcher)",
				"--max-amount-cents (env INVOICED_MAX_AMOUNT_CENTS, default 100000000)",
				"--process-delay (env INVOICED_PROCESS_DELAY, default 0s)",
				"--process-workers (env INVOICED_PROCESS_WORKERS, default 256)",
				"--dedup-window (env INVOICED_DEDUP_WINDOW, default 2m0s)",
			} {
				if !strings.Contains(usage, want) {
					t.Errorf("usage lacks %q:\n%s", want, usage)
				}
			}
		})
	}
}

func TestUsageListsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if _, err := config.ParseServe([]string{"--help"}, env(t, nil), &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("ParseServe(--help) error = %v, want flag.ErrHelp", err)
	}
	usage := out.String()
	flags := []string{
		"addr", "data", "nats-url", "nats-listen", "fsync", "roles", "replicas", "dedup-window",
		"max-amount-cents", "process-delay", "process-workers", "request-timeout",
		"shutdown-timeout", "webhook-secret-overlap", "webhook-timeout", "webhook-retry-schedule",
		"webhook-disable-after", "webhook-max-in-flight", "delivery-workers", "log-level", "log-format",
		"api-keys", "api-keys-file", "rate-limit", "rate-burst", "webhook-allow-private", "webhook-allow-cidrs",
		"webhook-require-https", "nats-creds", "nats-nkey", "nats-tls-ca", "nats-tls-cert", "nats-tls-key",
		"pprof-addr", "metrics-addr", "otlp-endpoint", "trace-sample-ratio", "history-retention", "compact-after", "secrets-key-file",
	}
	for _, name := range flags {
		t.Run(name, func(t *testing.T) {
			want := "  --" + name + " (env " + config.EnvName(name) + ", default "
			if n := strings.Count(usage, want); n != 1 {
				t.Errorf("usage lists %q %d times, want once:\n%s", want, n, usage)
			}
		})
	}
	if got := strings.Count(usage, "\n  --"); got != len(flags) {
		t.Errorf("usage lists %d flags, want %d:\n%s", got, len(flags), usage)
	}
}
