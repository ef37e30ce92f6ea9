package config_test

import (
	"io"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/config"
)

// TestListenSigning reads --signing from the command line and from
// INVOICED_SIGNING, hmac when neither is set, and refuses any other value.
func TestListenSigning(t *testing.T) {
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want string // the signing, or what the error names
		ok   bool
	}{
		{"default", nil, nil, "hmac", true},
		{"flag", []string{"--signing", "ed25519"}, nil, "ed25519", true},
		{"variable", nil, map[string]string{"INVOICED_SIGNING": "ed25519"}, "ed25519", true},
		{"flag beats variable", []string{"--signing", "hmac"}, map[string]string{"INVOICED_SIGNING": "ed25519"}, "hmac", true},
		{"unknown", []string{"--signing", "rsa"}, nil, `--signing must be hmac or ed25519, not "rsa"`, false},
		{"unknown variable", nil, map[string]string{"INVOICED_SIGNING": "Ed25519"}, `not "Ed25519"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := config.ParseListen(tt.args, env(t, tt.vars), io.Discard)
			switch {
			case tt.ok && (err != nil || l.Signing != tt.want):
				t.Fatalf("signing %q, %v; want %q", l.Signing, err, tt.want)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one saying %s", err, tt.want)
			}
		})
	}
}

// TestListenProbeInterval reads --probe-interval from the command line and
// from INVOICED_PROBE_INTERVAL, 2s when neither is set, and refuses one
// that is not positive.
func TestListenProbeInterval(t *testing.T) {
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want string // the interval, or what the error names
		ok   bool
	}{
		{"default", nil, nil, "2s", true},
		{"flag", []string{"--probe-interval", "50ms"}, nil, "50ms", true},
		{"variable", nil, map[string]string{"INVOICED_PROBE_INTERVAL": "10s"}, "10s", true},
		{"zero", []string{"--probe-interval", "0s"}, nil, "--probe-interval must be positive, not 0s", false},
		{"negative variable", nil, map[string]string{"INVOICED_PROBE_INTERVAL": "-1s"}, "must be positive", false},
		{"no duration", []string{"--probe-interval", "often"}, nil, "probe-interval", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := config.ParseListen(tt.args, env(t, tt.vars), io.Discard)
			switch {
			case tt.ok && (err != nil || l.ProbeInterval.String() != tt.want):
				t.Fatalf("probe interval %s, %v; want %s", l.ProbeInterval, err, tt.want)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one saying %s", err, tt.want)
			}
		})
	}
}
