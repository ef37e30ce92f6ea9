package config_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/config"
)

// commandParsers parses each command's flags, keeping the result.
var commandParsers = map[string]func(args []string, getenv func(string) string, out io.Writer) (any, error){
	"serve": func(a []string, g func(string) string, o io.Writer) (any, error) { return config.ParseServe(a, g, o) },
	"listen": func(a []string, g func(string) string, o io.Writer) (any, error) {
		return config.ParseListen(a, g, o)
	},
	"replay": func(a []string, g func(string) string, o io.Writer) (any, error) {
		return config.ParseReplay(a, g, time.Now(), o)
	},
	"rebuild": func(a []string, g func(string) string, o io.Writer) (any, error) {
		return config.ParseRebuild(a, g, o)
	},
	"secrets": func(a []string, g func(string) string, o io.Writer) (any, error) {
		return config.ParseSecrets(append([]string{config.SecretsReseal}, a...), g, o)
	},
	"bench": func(a []string, g func(string) string, o io.Writer) (any, error) {
		return config.ParseBenchEnv(a, g, o)
	},
	"bench history": func(a []string, g func(string) string, o io.Writer) (any, error) {
		return config.ParseBenchHistoryEnv(a, g, o)
	},
	"healthcheck": func(a []string, g func(string) string, o io.Writer) (any, error) {
		return config.ParseHealthcheck(a, g, o)
	},
}

// commandFlags are the flags each command has had, which must keep working.
var commandFlags = map[string][]string{
	"listen":        {"forward-to", "api", "api-key", "listen", "events"},
	"replay":        {"nats-url", "nats-creds", "nats-nkey", "nats-tls-ca", "nats-tls-cert", "nats-tls-key", "since", "subscription", "event-type", "dry-run"},
	"rebuild":       {"data", "nats-url", "nats-creds", "nats-nkey", "nats-tls-ca", "nats-tls-cert", "nats-tls-key"},
	"secrets":       {"data", "secrets-key-file", "nats-url", "nats-creds", "nats-nkey", "nats-tls-ca", "nats-tls-cert", "nats-tls-key"},
	"bench":         {"target", "api-key", "nats-url", "rate", "concurrency", "duration", "grace", "fsync", "json", "no-floor", "pprof", "trace", "ordering", "event-types"},
	"bench history": {"sizes", "runs", "fsync", "data", "reads", "post-duration", "json"},
	"healthcheck":   {"url", "timeout"},
	"serve":         {"addr", "data", "nats-url", "nats-listen", "roles"},
}

var flagLine = regexp.MustCompile(`^  --([a-z-]+) \((env ([A-Z_]+)|no env), default [^)]*\)$`)

// TestEveryCommandHelpHasOneLayout asks each command for help and checks it
// is laid out as serve's: the synopsis, what the environment does, and
// every flag with its variable and default, each existing flag still there.
func TestEveryCommandHelpHasOneLayout(t *testing.T) {
	for name, parse := range commandParsers {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if _, err := parse([]string{"--help"}, env(t, nil), &out); !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("--help: %v, want flag.ErrHelp", err)
			}
			help := out.String()
			if !strings.HasPrefix(help, "Usage: invoiced "+name) || !strings.Contains(help, "Every flag can also be set with the environment variable shown") {
				t.Fatalf("help does not start with the synopsis and say how the environment is read:\n%s", help)
			}
			var listed []string
			for line := range strings.Lines(help) {
				line = strings.TrimSuffix(line, "\n")
				if !strings.HasPrefix(line, "  --") {
					continue
				}
				m := flagLine.FindStringSubmatch(line)
				if m == nil {
					t.Errorf("flag line %q is not laid out as serve's", line)
					continue
				}
				if m[3] != "" && m[3] != config.EnvName(m[1]) {
					t.Errorf("--%s is listed with variable %s, want %s", m[1], m[3], config.EnvName(m[1]))
				}
				listed = append(listed, m[1])
			}
			for _, f := range commandFlags[name] {
				if !slices.Contains(listed, f) {
					t.Errorf("--%s is gone from the help:\n%s", f, help)
				}
			}
		})
	}
}

// TestEveryCommandReadsItsEnvironment sets one flag of each command by its
// variable, then by the flag too, which must win.
func TestEveryCommandReadsItsEnvironment(t *testing.T) {
	tests := []struct {
		command, flag, fromEnv, fromFlag string
		required                         []string // other flags the command needs
		get                              func(any) string
	}{
		{"listen", "api", "http://10.0.0.1:8080", "http://10.0.0.2:8080", nil, func(c any) string { return c.(config.Listen).API }},
		{"listen", "forward-to", "http://127.0.0.1:3000/a", "http://127.0.0.1:3000/b", nil, func(c any) string { return c.(config.Listen).ForwardTo }},
		{"replay", "nats-url", "nats://a:4222", "nats://b:4222", []string{"--since", "1h"}, func(c any) string { return c.(config.Replay).NATSURL }},
		{"replay", "since", "2h", "1h", nil, func(c any) string { return time.Since(c.(config.Replay).Since).Round(time.Hour).String() }},
		{"rebuild", "nats-url", "nats://a:4222", "nats://b:4222", nil, func(c any) string { return c.(config.Rebuild).NATSURL }},
		{"secrets", "nats-url", "nats://a:4222", "nats://b:4222", nil, func(c any) string { return c.(config.Secrets).NATSURL }},
		{"bench", "concurrency", "7", "9", nil, func(c any) string { return strconv.Itoa(c.(config.Bench).Concurrency) }},
		{"bench", "target", "http://10.0.0.1:8080", "http://10.0.0.2:8080", nil, func(c any) string { return c.(config.Bench).Target }},
		{"bench history", "runs", "2", "5", nil, func(c any) string { return strconv.Itoa(c.(config.BenchHistory).Runs) }},
		{"healthcheck", "url", "http://10.0.0.1:8080/readyz", "http://10.0.0.2:8080/readyz", nil, func(c any) string { return c.(config.Healthcheck).URL }},
		{"healthcheck", "timeout", "1s", "2s", nil, func(c any) string { return c.(config.Healthcheck).Timeout.String() }},
	}
	wants := map[string]string{"since": "2h0m0s", "timeout": "1s"}
	flagWants := map[string]string{"since": "1h0m0s", "timeout": "2s"}
	for _, tt := range tests {
		t.Run(tt.command+" --"+tt.flag, func(t *testing.T) {
			vars := map[string]string{config.EnvName(tt.flag): tt.fromEnv}
			parse := commandParsers[tt.command]
			got, err := parse(tt.required, env(t, vars), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.fromEnv
			if w, ok := wants[tt.flag]; ok {
				want = w
			}
			if v := tt.get(got); v != want {
				t.Errorf("from %s: %q, want %q", config.EnvName(tt.flag), v, want)
			}
			got, err = parse(append([]string{"--" + tt.flag, tt.fromFlag}, tt.required...), env(t, vars), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want = tt.fromFlag
			if w, ok := flagWants[tt.flag]; ok {
				want = w
			}
			if v := tt.get(got); v != want {
				t.Errorf("the flag gave %q, want it to beat the variable: %q", v, want)
			}
		})
	}
}

// TestBenchKeepsOffTheServicesVariables checks the two flags whose
// variable names something of a service: the benchmark must not take them.
func TestBenchKeepsOffTheServicesVariables(t *testing.T) {
	vars := map[string]string{"INVOICED_NATS_URL": "nats://production:4222", "INVOICED_DATA": "/var/lib/invoiced"}
	b, err := config.ParseBenchEnv(nil, env(t, vars), io.Discard)
	if err != nil || b.NATSURL != "" {
		t.Fatalf("bench took INVOICED_NATS_URL for its floor: %+v %v", b, err)
	}
	h, err := config.ParseBenchHistoryEnv(nil, env(t, vars), io.Discard)
	if err != nil || h.Data != "" {
		t.Fatalf("bench history took INVOICED_DATA for its data: %+v %v", h, err)
	}
}

// TestNoCommandReadsNATSURL runs every command that reaches NATS with the
// nats CLI's NATS_URL set: env fails the test if any reads it, and none may
// take its value.
func TestNoCommandReadsNATSURL(t *testing.T) {
	vars := map[string]string{"NATS_URL": "nats://elsewhere:4222"}
	for name, args := range map[string][]string{"serve": nil, "replay": {"--since", "1h"}, "rebuild": nil, "secrets": nil} {
		got, err := commandParsers[name](args, env(t, vars), io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var url string
		switch c := got.(type) {
		case config.Serve:
			url = c.NATSURL
		case config.Replay:
			url = c.NATSURL
		case config.Rebuild:
			url = c.NATSURL
		case config.Secrets:
			url = c.NATSURL
		}
		if strings.Contains(url, "elsewhere") {
			t.Errorf("%s took NATS_URL: --nats-url %q", name, url)
		}
	}
}

func TestParseHealthcheck(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // URL, or a substring of the error
		ok   bool
	}{
		{name: "serve's default --addr", want: "http://127.0.0.1:8080/readyz", ok: true},
		{name: "INVOICED_ADDR on every interface", env: map[string]string{"INVOICED_ADDR": "0.0.0.0:9000"}, want: "http://127.0.0.1:9000/readyz", ok: true},
		{name: "INVOICED_ADDR with no host", env: map[string]string{"INVOICED_ADDR": ":7000"}, want: "http://127.0.0.1:7000/readyz", ok: true},
		{name: "INVOICED_ADDR on every IPv6 interface", env: map[string]string{"INVOICED_ADDR": "[::]:8080"}, want: "http://[::1]:8080/readyz", ok: true},
		{name: "INVOICED_ADDR on one address", env: map[string]string{"INVOICED_ADDR": "10.1.2.3:8080"}, want: "http://10.1.2.3:8080/readyz", ok: true},
		{name: "INVOICED_URL beats INVOICED_ADDR", env: map[string]string{"INVOICED_ADDR": "0.0.0.0:9000", "INVOICED_URL": "http://h:1/readyz"}, want: "http://h:1/readyz", ok: true},
		{name: "a bad INVOICED_ADDR does not matter with --url", args: []string{"--url", "http://h:1/readyz"}, env: map[string]string{"INVOICED_ADDR": "9000"}, want: "http://h:1/readyz", ok: true},
		{name: "a bad INVOICED_ADDR", env: map[string]string{"INVOICED_ADDR": "9000"}, want: "INVOICED_ADDR"},
		{name: "not a URL", args: []string{"--url", "127.0.0.1:8080/readyz"}, want: "--url must be"},
		{name: "no timeout", args: []string{"--timeout", "0s"}, want: "--timeout"},
		{name: "an argument", args: []string{"now"}, want: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := config.ParseHealthcheck(tt.args, env(t, tt.env), io.Discard)
			switch {
			case tt.ok && (err != nil || h.URL != tt.want):
				t.Fatalf("URL %q, %v; want %q", h.URL, err, tt.want)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestListenWithoutForwardToPrints(t *testing.T) {
	l, err := config.ParseListen(nil, env(t, nil), io.Discard)
	if err != nil || !l.Prints() {
		t.Fatalf("%+v %v: no --forward-to must print", l, err)
	}
	l, err = config.ParseListen([]string{"--forward-to", "http://127.0.0.1:3000/webhook"}, env(t, nil), io.Discard)
	if err != nil || l.Prints() {
		t.Fatalf("%+v %v: --forward-to must forward", l, err)
	}
}

// TestSecretsKeyCommandsIgnoreNATSVariables runs init with a shell's NATS
// variables set for reseal: they are ignored, where the flag is refused.
func TestSecretsKeyCommandsIgnoreNATSVariables(t *testing.T) {
	vars := map[string]string{"INVOICED_NATS_URL": "nats://a:4222", "INVOICED_NATS_CREDS": "no/such.creds"}
	s, err := config.ParseSecrets([]string{config.SecretsInit}, env(t, vars), io.Discard)
	if err != nil || s.NATSURL != "" || s.NATSAuth != (config.NATSAuth{}) {
		t.Fatalf("init with NATS variables: %+v %v", s, err)
	}
	if _, err := config.ParseSecrets([]string{config.SecretsInit, "--nats-url", "nats://a:4222"}, env(t, nil), io.Discard); err == nil {
		t.Fatal("init --nats-url accepted")
	}
}
