package config_test

import (
	"bytes"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/config"
)

func TestSecretsKeyPath(t *testing.T) {
	def := mustParse(t, []string{"--data", "/var/lib/invoiced"}, nil).SecretsKey()
	if def.Path() != filepath.Join("/var/lib/invoiced", "secrets.key") || !def.MayCreate() {
		t.Fatalf("default key file %q, may create %v", def.Path(), def.MayCreate())
	}
	named := mustParse(t, []string{"--secrets-key-file", "/etc/invoiced/secrets.key"}, nil).SecretsKey()
	if named.Path() != "/etc/invoiced/secrets.key" || named.MayCreate() {
		t.Fatalf("named key file %q, may create %v: a file named on purpose is never made up", named.Path(), named.MayCreate())
	}
}

func TestParseSecrets(t *testing.T) {
	s, err := config.ParseSecrets([]string{"reseal", "--data", "/d"}, env(t, map[string]string{"NATS_URL": "nats://elsewhere:4222"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Command != config.SecretsReseal || s.Key.Path() != filepath.Join("/d", "secrets.key") || !s.Embedded() {
		t.Fatalf("%+v: NATS_URL must not point reseal elsewhere", s)
	}
	s, err = config.ParseSecrets([]string{"reseal", "--nats-url", "nats://127.0.0.1:4222"},
		env(t, map[string]string{"INVOICED_SECRETS_KEY_FILE": "/k"}), &bytes.Buffer{})
	if err != nil || s.Key.Path() != "/k" || s.Embedded() {
		t.Fatalf("%+v %v", s, err)
	}
	for _, cmd := range []string{config.SecretsInit, config.SecretsAddKey} {
		if s, err := config.ParseSecrets([]string{cmd}, env(t, nil), &bytes.Buffer{}); err != nil || s.Command != cmd {
			t.Fatalf("%+v %v", s, err)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"rotate"}, `"rotate"`},
		{[]string{"add-key", "--nats-url", "nats://x:4222"}, "--nats-url"},
		{[]string{"init", "--nats-url", "nats://x:4222"}, "--nats-url"},
		{[]string{"reseal", "--data", ""}, "--secrets-key-file"},
		{[]string{"reseal", "extra"}, `"extra"`},
		{[]string{"reseal", "--bogus"}, "bogus"},
	} {
		if _, err := config.ParseSecrets(tt.args, env(t, nil), &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSecrets(%q) = %v, want an error naming %s", tt.args, err, tt.want)
		}
	}
	for _, args := range [][]string{nil, {"help"}, {"--help"}, {"reseal", "-h"}} {
		var out bytes.Buffer
		if _, err := config.ParseSecrets(args, env(t, nil), &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "add-key") {
			t.Errorf("ParseSecrets(%q) = %v, usage %q", args, err, out.String())
		}
	}
}
