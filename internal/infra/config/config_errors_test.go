package config_test

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/config"
)

func TestParseServeErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the error
	}{
		{name: "unknown role", args: []string{"--roles", "api,billing"}, want: []string{"--roles", `"billing"`}},
		{name: "api role without a data directory", args: []string{"--nats-url", "nats://c:4222", "--roles", "api", "--data", ""}, want: []string{"--data", "read model"}},
		{name: "embedded without a data directory", args: []string{"--roles", "processor", "--data", ""}, want: []string{"--data", "store"}},
		{name: "negative history retention", args: []string{"--history-retention", "-1h"}, want: []string{"--history-retention", "-1h"}},
		{name: "compaction within a request", args: []string{"--compact-after", "15s"}, want: []string{"--compact-after", "--request-timeout", "20s", "15s"}},
		{name: "replicas without a cluster", args: []string{"--replicas", "3"}, want: []string{"--replicas 3", "--nats-url"}},
		{name: "unknown role from environment", env: map[string]string{"INVOICED_ROLES": "worker"}, want: []string{"unknown role", `"worker"`}},
		{name: "no role", args: []string{"--roles", " , "}, want: []string{"--roles"}},
		{name: "bad fsync", args: []string{"--fsync", "never"}, want: []string{"--fsync", `"never"`}},
		{name: "bad addr", args: []string{"--addr", "localhost"}, want: []string{"--addr", `"localhost"`}},
		{name: "bad addr from environment", env: map[string]string{"INVOICED_ADDR": "8080"}, want: []string{"--addr", `"8080"`}},
		{name: "negative delay", args: []string{"--process-delay", "-1s"}, want: []string{"--process-delay", "-1s"}},
		{name: "bad env int names the variable", env: map[string]string{"INVOICED_PROCESS_WORKERS": "abc"}, want: []string{"INVOICED_PROCESS_WORKERS", `"abc"`}},
		{name: "bad env duration names the variable", env: map[string]string{"INVOICED_PROCESS_DELAY": "soon"}, want: []string{"INVOICED_PROCESS_DELAY", `"soon"`}},
		{name: "bad env int64 names the variable", env: map[string]string{"INVOICED_MAX_AMOUNT_CENTS": "1e9"}, want: []string{"INVOICED_MAX_AMOUNT_CENTS"}},
		{name: "bad flag value", args: []string{"--process-workers", "many"}, want: []string{"process-workers", "many"}},
		{name: "unknown flag", args: []string{"--bogus"}, want: []string{"bogus"}},
		{name: "unexpected argument", args: []string{"--addr", "127.0.0.1:1", "extra"}, want: []string{"unexpected argument", `"extra"`}},
		{name: "exposed without keys", args: []string{"--addr", "0.0.0.0:8080"}, want: []string{"refusing", "0.0.0.0:8080", "--api-keys"}},
		{name: "all interfaces without keys", args: []string{"--addr", ":8080"}, want: []string{"refusing", "--api-keys"}},
		{name: "zero workers", args: []string{"--process-workers", "0"}, want: []string{"--process-workers"}},
		{name: "zero max amount", args: []string{"--max-amount-cents", "0"}, want: []string{"--max-amount-cents"}},
		{name: "too many replicas", args: []string{"--replicas", "6"}, want: []string{"--replicas"}},
		{name: "zero replicas", args: []string{"--replicas", "0"}, want: []string{"--replicas"}},
		{name: "short dedup window", args: []string{"--dedup-window", "99ms"}, want: []string{"--dedup-window"}},
		{name: "zero request timeout", args: []string{"--request-timeout", "0s"}, want: []string{"--request-timeout"}},
		{name: "negative shutdown timeout", args: []string{"--shutdown-timeout", "-1s"}, want: []string{"--shutdown-timeout"}},
		{name: "bad log format", args: []string{"--log-format", "xml"}, want: []string{"--log-format", `"xml"`}},
		{name: "bad pprof address", args: []string{"--pprof-addr", "6060"}, want: []string{"--pprof-addr", `"6060"`}},
		{name: "bad metrics address", args: []string{"--metrics-addr", "metrics"}, want: []string{"--metrics-addr", `"metrics"`}},
		{name: "OTLP endpoint without a scheme", args: []string{"--otlp-endpoint", "collector:4318"}, want: []string{"--otlp-endpoint", `"collector:4318"`}},
		{name: "OTLP endpoint with a query", args: []string{"--otlp-endpoint", "http://c:4318/?a=b"}, want: []string{"--otlp-endpoint"}},
		{name: "sample ratio above 1", args: []string{"--trace-sample-ratio", "1.5"}, want: []string{"--trace-sample-ratio", "1.5"}},
		{name: "negative sample ratio", env: map[string]string{"INVOICED_TRACE_SAMPLE_RATIO": "-0.1"}, want: []string{"--trace-sample-ratio", "-0.1"}},
		{name: "NATS creds without a NATS URL", args: []string{"--nats-creds", "go.mod"}, want: []string{"--nats-creds", "--nats-url"}},
		{name: "creds and nkey", args: []string{"--nats-url", "nats://n:4222", "--nats-creds", "config.go", "--nats-nkey", "config.go"}, want: []string{"--nats-creds and --nats-nkey"}},
		{name: "client certificate without its key", args: []string{"--nats-url", "nats://n:4222", "--nats-tls-cert", "config.go"}, want: []string{"--nats-tls-cert and --nats-tls-key"}},
		{name: "missing creds file", args: []string{"--nats-url", "nats://n:4222", "--nats-creds", "no/such.creds"}, want: []string{"--nats-creds", "no/such.creds"}},
		{name: "missing CA from environment", env: map[string]string{"INVOICED_NATS_URL": "nats://n:4222", "INVOICED_NATS_TLS_CA": "no/ca.pem"}, want: []string{"--nats-tls-ca", "no/ca.pem"}},
		{name: "bad log level", args: []string{"--log-level", "loud"}, want: []string{"--log-level"}},
		{name: "embedded without data", args: []string{"--data", ""}, want: []string{"--data"}},
		{name: "nats-listen with an external NATS", args: []string{"--nats-url", "nats://c:4222", "--nats-listen", "127.0.0.1:4223"},
			want: []string{"--nats-listen 127.0.0.1:4223", "nothing is embedded", "unset --nats-listen"}},
		{name: "nats-listen from the environment with an external NATS", args: []string{"--nats-url", "nats://c:4222"},
			env: map[string]string{"INVOICED_NATS_LISTEN": "127.0.0.1:4222"}, want: []string{"INVOICED_NATS_LISTEN 127.0.0.1:4222", "nothing is embedded"}},
		{name: "dispatcher without a secrets key", args: []string{"--nats-url", "nats://c:4222", "--roles", "dispatcher", "--data", ""},
			want: []string{"--secrets-key-file", "--data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.ParseServe(tt.args, env(t, tt.env), io.Discard)
			if err == nil {
				t.Fatalf("ParseServe(%q, %v) succeeded, want an error", tt.args, tt.env)
			}
			if errors.Is(err, flag.ErrHelp) {
				t.Errorf("ParseServe(%q, %v) = flag.ErrHelp, want a real error", tt.args, tt.env)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ParseServe(%q, %v) error %q does not mention %s", tt.args, tt.env, err, w)
				}
			}
		})
	}
}
