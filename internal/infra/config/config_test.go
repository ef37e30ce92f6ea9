package config_test

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/tracing"
)

// env returns a getenv that reads m and fails the test when asked for a
// variable outside the INVOICED_ prefix, NATS_URL (the nats CLI's) above
// all.
func env(tb testing.TB, m map[string]string) func(string) string {
	tb.Helper()
	return func(name string) string {
		if !strings.HasPrefix(name, config.EnvPrefix) {
			tb.Errorf("read unexpected variable %q", name)
		}
		return m[name]
	}
}

// defaults is the configuration of invoiced serve with no flags and an
// empty environment.
func defaults() config.Serve {
	return config.Serve{
		Addr:                 "127.0.0.1:8080",
		Data:                 "./data",
		NATSURL:              "",
		NATSListen:           "127.0.0.1:4222",
		Fsync:                config.FsyncAlways,
		Roles:                []string{config.RoleAPI, config.RoleProcessor, config.RoleDispatcher},
		Replicas:             1,
		DedupWindow:          2 * time.Minute,
		MaxAmountCents:       100_000_000,
		ProcessDelay:         0,
		ProcessWorkers:       256,
		RequestTimeout:       10 * time.Second,
		ShutdownTimeout:      30 * time.Second,
		LogLevel:             slog.LevelInfo,
		WebhookSecretOverlap: 24 * time.Hour,
		WebhookTimeout:       15 * time.Second,
		WebhookRetrySchedule: webhook.Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour},
		WebhookDisableAfter:  120 * time.Hour,
		WebhookMaxInFlight:   128,
		DeliveryWorkers:      256,
		Security:             config.Security{WebhookAllowPrivate: true},
		LogFormat:            "text",
		Tracing:              tracing.Config{SampleRatio: 1},
	}
}

func mustParse(tb testing.TB, args []string, vars map[string]string) config.Serve {
	tb.Helper()
	var out bytes.Buffer
	s, err := config.ParseServe(args, env(tb, vars), &out)
	if err != nil {
		tb.Fatalf("ParseServe(%q, %v): %v\noutput:\n%s", args, vars, err, out.String())
	}
	return s
}

func TestParseServe(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(*config.Serve) // changes from defaults()
	}{
		{name: "defaults", want: func(*config.Serve) {}},
		{name: "empty args slice", args: []string{}, want: func(*config.Serve) {}},
		{
			name: "empty variable is ignored",
			env:  map[string]string{"INVOICED_ADDR": "", "INVOICED_ROLES": ""},
			want: func(*config.Serve) {},
		},
		{
			name: "INVOICED_ADDR sets addr",
			env:  map[string]string{"INVOICED_ADDR": "0.0.0.0:9000", "INVOICED_API_KEYS": "k1-0123456789abcdef0123456789abcdef, k2-0123456789abcdef0123456789abcdef"},
			want: func(s *config.Serve) {
				s.Addr = "0.0.0.0:9000"
				s.APIKeys = []string{"k1-0123456789abcdef0123456789abcdef", "k2-0123456789abcdef0123456789abcdef"}
				s.WebhookAllowPrivate = false
			},
		},
		{
			name: "addr flag",
			args: []string{"--addr", ":9001", "--api-keys-file", "/etc/invoiced/keys"},
			want: func(s *config.Serve) {
				s.Addr = ":9001"
				s.APIKeysFile = "/etc/invoiced/keys"
				s.WebhookAllowPrivate = false
			},
		},
		{
			name: "flag beats environment",
			args: []string{"--addr=127.0.0.1:7000"},
			env:  map[string]string{"INVOICED_ADDR": "0.0.0.0:9000"},
			want: func(s *config.Serve) { s.Addr = "127.0.0.1:7000" },
		},
		{
			name: "flag beats environment for durations",
			args: []string{"-process-delay", "2s"},
			env:  map[string]string{"INVOICED_PROCESS_DELAY": "1s"},
			want: func(s *config.Serve) { s.ProcessDelay = 2 * time.Second },
		},
		{
			name: "environment of other flags still applies",
			args: []string{"--addr", "127.0.0.1:1"},
			env:  map[string]string{"INVOICED_DATA": "/var/lib/invoiced", "INVOICED_PROCESS_WORKERS": "4"},
			want: func(s *config.Serve) { s.Addr = "127.0.0.1:1"; s.Data = "/var/lib/invoiced"; s.ProcessWorkers = 4 },
		},
		{
			name: "NATS_URL is not read: the service still embeds",
			env:  map[string]string{"NATS_URL": "nats://a:4222"},
			want: func(*config.Serve) {},
		},
		{
			name: "INVOICED_NATS_URL sets nats-url",
			env:  map[string]string{"INVOICED_NATS_URL": "nats://b:4222"},
			want: func(s *config.Serve) { s.NATSURL = "nats://b:4222"; s.WebhookAllowPrivate = false },
		},
		{
			name: "INVOICED_NATS_URL, whatever NATS_URL says",
			env:  map[string]string{"NATS_URL": "nats://a:4222", "INVOICED_NATS_URL": "nats://b:4222"},
			want: func(s *config.Serve) { s.NATSURL = "nats://b:4222"; s.WebhookAllowPrivate = false },
		},
		{
			name: "nats-listen off beside an external NATS",
			args: []string{"--nats-url", "nats://c:4222", "--nats-listen", "off"},
			want: func(s *config.Serve) { s.NATSURL, s.NATSListen, s.WebhookAllowPrivate = "nats://c:4222", "off", false },
		},
		{
			name: "nats-url flag beats its variable",
			args: []string{"--nats-url", "nats://c:4222"},
			env:  map[string]string{"NATS_URL": "nats://a:4222", "INVOICED_NATS_URL": "nats://b:4222"},
			want: func(s *config.Serve) { s.NATSURL = "nats://c:4222"; s.WebhookAllowPrivate = false },
		},
		{
			name: "external NATS needs no data directory without the api role",
			args: []string{"--nats-url", "nats://c:4222", "--data", "", "--roles", "processor,dispatcher", "--secrets-key-file", "/etc/invoiced/secrets.key"},
			want: func(s *config.Serve) {
				s.NATSURL, s.Data, s.WebhookAllowPrivate = "nats://c:4222", "", false
				s.Roles = []string{config.RoleProcessor, config.RoleDispatcher}
				s.SecretsKeyFile = "/etc/invoiced/secrets.key"
			},
		},
		{
			name: "a processor needs no secrets key",
			args: []string{"--nats-url", "nats://c:4222", "--data", "", "--roles", "processor"},
			want: func(s *config.Serve) {
				s.NATSURL, s.Data, s.WebhookAllowPrivate = "nats://c:4222", "", false
				s.Roles = []string{config.RoleProcessor}
			},
		},
		{
			name: "secrets key file from the environment",
			env:  map[string]string{"INVOICED_SECRETS_KEY_FILE": "/run/secrets/invoiced.key"},
			want: func(s *config.Serve) { s.SecretsKeyFile = "/run/secrets/invoiced.key" },
		},
		{
			name: "roles api,processor,dispatcher",
			args: []string{"--roles", "api,processor,dispatcher"},
			want: func(*config.Serve) {},
		},
		{
			name: "roles api",
			args: []string{"--roles", "api"},
			want: func(s *config.Serve) { s.Roles = []string{config.RoleAPI} },
		},
		{
			name: "roles keep the given order",
			args: []string{"--roles", "processor,api"},
			want: func(s *config.Serve) { s.Roles = []string{config.RoleProcessor, config.RoleAPI} },
		},
		{
			name: "roles are deduplicated",
			args: []string{"--roles", "api,processor,dispatcher,api,processor"},
			want: func(*config.Serve) {},
		},
		{
			name: "roles are trimmed and empty entries dropped",
			args: []string{"--roles", " processor , ,processor,"},
			want: func(s *config.Serve) { s.Roles = []string{config.RoleProcessor} },
		},
		{
			name: "INVOICED_ROLES",
			env:  map[string]string{"INVOICED_ROLES": "processor"},
			want: func(s *config.Serve) { s.Roles = []string{config.RoleProcessor} },
		},
		{
			name: "every other flag",
			args: []string{
				"--data", "/srv/data", "--nats-listen", "off", "--fsync", "interval",
				"--nats-url", "nats://n1:4222", "--replicas", "3", "--dedup-window", "100ms", "--max-amount-cents", "1",
				"--process-delay", "250ms", "--process-workers", "1", "--request-timeout", "1s",
				"--shutdown-timeout", "5s", "--log-level", "debug", "--log-format", "json",
			},
			want: func(s *config.Serve) {
				s.NATSURL = "nats://n1:4222"
				s.WebhookAllowPrivate = false
				s.Data = "/srv/data"
				s.NATSListen = "off"
				s.Fsync = config.FsyncInterval
				s.Replicas = 3
				s.DedupWindow = 100 * time.Millisecond
				s.MaxAmountCents = 1
				s.ProcessDelay = 250 * time.Millisecond
				s.ProcessWorkers = 1
				s.RequestTimeout = time.Second
				s.ShutdownTimeout = 5 * time.Second
				s.LogLevel = slog.LevelDebug
				s.LogFormat = "json"
			},
		},
		{
			name: "every other variable",
			env: map[string]string{
				"INVOICED_DATA": "/srv/data", "INVOICED_NATS_LISTEN": "off", "INVOICED_FSYNC": "interval",
				"INVOICED_NATS_URL": "nats://n1:4222", "INVOICED_REPLICAS": "5", "INVOICED_DEDUP_WINDOW": "1m", "INVOICED_MAX_AMOUNT_CENTS": "500",
				"INVOICED_PROCESS_DELAY": "1s", "INVOICED_PROCESS_WORKERS": "8", "INVOICED_REQUEST_TIMEOUT": "3s",
				"INVOICED_SHUTDOWN_TIMEOUT": "4s", "INVOICED_LOG_LEVEL": "warn", "INVOICED_LOG_FORMAT": "json",
			},
			want: func(s *config.Serve) {
				s.NATSURL = "nats://n1:4222"
				s.WebhookAllowPrivate = false
				s.Data = "/srv/data"
				s.NATSListen = "off"
				s.Fsync = config.FsyncInterval
				s.Replicas = 5
				s.DedupWindow = time.Minute
				s.MaxAmountCents = 500
				s.ProcessDelay = time.Second
				s.ProcessWorkers = 8
				s.RequestTimeout = 3 * time.Second
				s.ShutdownTimeout = 4 * time.Second
				s.LogLevel = slog.LevelWarn
				s.LogFormat = "json"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := defaults()
			tt.want(&want)
			got := mustParse(t, tt.args, tt.env)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ParseServe(%q, %v)\n got  %+v\n want %+v", tt.args, tt.env, got, want)
			}
		})
	}
}

func TestParseServeWritesNothingOnSuccess(t *testing.T) {
	var out bytes.Buffer
	if _, err := config.ParseServe([]string{"--roles", "api"}, env(t, nil), &out); err != nil {
		t.Fatalf("ParseServe: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("ParseServe wrote %q on success", out.String())
	}
}

func TestServeHasAndEmbedded(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		api, proc    bool
		wantEmbedded bool
	}{
		{"defaults", nil, true, true, true},
		{"api only", []string{"--roles", "api"}, true, false, true},
		{"processor only, external", []string{"--roles", "processor", "--nats-url", "nats://x"}, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.args, nil)
			if got := s.Has(config.RoleAPI); got != tt.api {
				t.Errorf("Has(api) = %v, want %v", got, tt.api)
			}
			if got := s.Has(config.RoleProcessor); got != tt.proc {
				t.Errorf("Has(processor) = %v, want %v", got, tt.proc)
			}
			if s.Has("billing") {
				t.Error("Has(billing) = true")
			}
			if got := s.Embedded(); got != tt.wantEmbedded {
				t.Errorf("Embedded() = %v, want %v", got, tt.wantEmbedded)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"addr", "INVOICED_ADDR"},
		{"nats-url", "INVOICED_NATS_URL"},
		{"max-amount-cents", "INVOICED_MAX_AMOUNT_CENTS"},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			if got := config.EnvName(tt.flag); got != tt.want {
				t.Errorf("EnvName(%q) = %q, want %q", tt.flag, got, tt.want)
			}
		})
	}
}

func TestCompactionAndReadModelLag(t *testing.T) {
	tests := []struct {
		args                  []string
		invoicesAfter, maxLag time.Duration
	}{
		{nil, 30 * time.Second, 15 * time.Second},
		{[]string{"--request-timeout", "20s"}, 50 * time.Second, 25 * time.Second},
		{[]string{"--compact-after", "2m"}, 2 * time.Minute, 105 * time.Second},
		{[]string{"--compact-after", "20s"}, 20 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		s := mustParse(t, tt.args, nil)
		if got := s.InvoicesAfter(); got != tt.invoicesAfter {
			t.Errorf("%q: InvoicesAfter() = %s, want %s", tt.args, got, tt.invoicesAfter)
		}
		// A key's events leave INVOICES no sooner than this lag plus the
		// longest request after the read model last had everything.
		if got := s.ReadModelMaxLag(); got != tt.maxLag || got+s.RequestTimeout >= s.InvoicesAfter() {
			t.Errorf("%q: ReadModelMaxLag() = %s, want %s, less than %s - %s", tt.args, got, tt.maxLag, s.InvoicesAfter(), s.RequestTimeout)
		}
	}
}
