package config_test

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/config"
)

func TestSecurityDefaultsFollowTheListener(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		allowPrivate bool
		burst        int
	}{
		{"loopback trusts the machine", []string{"--addr", "127.0.0.1:8080"}, true, 0},
		{"localhost trusts the machine", []string{"--addr", "localhost:8080"}, true, 0},
		{"IPv6 loopback trusts the machine", []string{"--addr", "[::1]:8080"}, true, 0},
		{"exposed is locked down", []string{"--addr", "0.0.0.0:8080", "--api-keys", strings.Repeat("k", config.MinKeyLen)}, false, 0},
		{"an explicit choice wins", []string{"--addr", "0.0.0.0:8080", "--api-keys", strings.Repeat("k", config.MinKeyLen), "--webhook-allow-private"}, true, 0},
		{"loopback can lock down too", []string{"--webhook-allow-private=false"}, false, 0},
		{"a process of a cluster deployment is locked down", []string{"--nats-url", "nats://n1:4222", "--roles", "dispatcher"}, false, 0},
		{"burst defaults to twice the rate", []string{"--rate-limit", "5"}, true, 10},
		{"burst as given", []string{"--rate-limit", "5", "--rate-burst", "3"}, true, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.args, nil)
			if s.WebhookAllowPrivate != tt.allowPrivate || s.RateBurst != tt.burst {
				t.Fatalf("allow private %v, burst %d", s.WebhookAllowPrivate, s.RateBurst)
			}
		})
	}
}

func TestExposedEmbeddedNATSIsRefused(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:4222", ":4222", "10.0.0.5:4222"} {
		_, err := config.ParseServe([]string{"--nats-listen", listen}, func(string) string { return "" }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "refusing to expose the embedded NATS") {
			t.Fatalf("--nats-listen %s: %v", listen, err)
		}
	}
	// With an external NATS nothing is embedded, so --nats-listen is a
	// mistake whatever its address.
	if _, err := config.ParseServe([]string{"--nats-url", "nats://n1:4222", "--nats-listen", "0.0.0.0:4222"}, func(string) string { return "" }, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "nothing is embedded") {
		t.Fatalf("--nats-listen beside --nats-url: %v", err)
	}
	for _, ok := range [][]string{{"--nats-listen", "127.0.0.1:4223"}, {"--nats-listen", "off"}, {"--nats-url", "nats://n1:4222", "--nats-listen", "off"}} {
		if _, err := config.ParseServe(ok, func(string) string { return "" }, io.Discard); err != nil {
			t.Fatalf("%v: %v", ok, err)
		}
	}
}

func TestReadKeysFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	alpha, beta := strings.Repeat("a", config.MinKeyLen), strings.Repeat("b", 64)
	keys, err := config.ReadKeysFile(write("keys", "# ops\n"+alpha+"\n\n  "+beta+"  \n"))
	if err != nil || !slices.Equal(keys, []config.APIKey{{Key: alpha}, {Key: beta}}) {
		t.Fatalf("%v %v", keys, err)
	}
	short := write("short", alpha+"\n"+strings.Repeat("s", config.MinKeyLen-1)+"\n")
	for _, p := range []string{write("empty", "# nothing\n\n"), filepath.Join(dir, "missing"), short} {
		if _, err := config.ReadKeysFile(p); err == nil {
			t.Fatalf("%s accepted", p)
		}
	}
}

func TestShortAPIKeysAreRefused(t *testing.T) {
	short := strings.Repeat("k", config.MinKeyLen-1)
	_, err := config.ParseServe([]string{"--api-keys", strings.Repeat("k", config.MinKeyLen) + "," + short}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "key 2 has 31 characters") || strings.Contains(err.Error(), short) {
		t.Fatalf("a 31-character key: %v", err)
	}
}

func TestKeysFileNamesAccountsAndOperators(t *testing.T) {
	dir := t.TempDir()
	a, b, c := strings.Repeat("a", 32), strings.Repeat("b", 32), strings.Repeat("c", 32)
	p := filepath.Join(dir, "keys")
	text := "# acme's two keys share an account\n" + a + " account=acme\n" + b + "\taccount=acme  \n" + c + " operator account=ops\n"
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := config.ReadKeysFile(p)
	want := []config.APIKey{{Key: a, Account: "acme"}, {Key: b, Account: "acme"}, {Key: c, Account: "ops", Operator: true}}
	if err != nil || !slices.Equal(keys, want) {
		t.Fatalf("%+v %v", keys, err)
	}
	for name, line := range map[string]string{
		"upper case account":  a + " account=Acme",
		"empty account":       a + " account=",
		"two accounts":        a + " account=x account=y",
		"a key's own account": a + " account=key_0123",
		"a dot in a subject":  a + " account=a.b",
		"unknown word":        a + " admin",
		"operator twice":      a + " operator operator",
	} {
		if err := os.WriteFile(p, []byte("# first\n"+line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := config.ReadKeysFile(p)
		if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), a) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzReadKeysFile(f *testing.F) {
	f.Add(strings.Repeat("a", 32) + " account=acme operator\n# c\n")
	f.Add("short\n")
	f.Add(strings.Repeat("b", 40) + " account=x account=y")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "keys")
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		keys, err := config.ReadKeysFile(p)
		if err != nil {
			return
		}
		for _, k := range keys {
			if len(k.Key) < config.MinKeyLen || strings.ContainsAny(k.Key, " \t\n") || strings.ContainsAny(k.Account, ". *>") {
				t.Fatalf("accepted %+v", k)
			}
		}
	})
}
