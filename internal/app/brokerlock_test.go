package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/nats-io/nats.go"
)

func TestEmbeddedNATSDemandsItsUserOnceAPIKeysAreSet(t *testing.T) {
	dir := t.TempDir()
	cfg := serveConfig(t, dir, "--nats-listen", "127.0.0.1:0", "--api-keys", strings.Repeat("k", 32))
	svc := startService(t, cfg)
	if nc, err := nats.Connect(svc.NATSURL(), nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("a NATS client without the user's seed was admitted")
	}
	seed := filepath.Join(dir, broker.UserFile)
	info, err := os.Stat(seed)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("seed file: %v %v", info, err)
	}
	nc, err := broker.Connect(svc.NATSURL(), nil, "operator", nil, broker.Auth{NKeySeedFile: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Request("$JS.API.STREAM.INFO.INVOICES", nil, 5*time.Second); err != nil {
		t.Fatalf("the seed's holder reads the streams: %v", err)
	}
}

func TestEmbeddedNATSStaysOpenToATrustedMachine(t *testing.T) {
	dir := t.TempDir()
	cfg := serveConfig(t, dir, "--nats-listen", "127.0.0.1:0")
	svc := startService(t, cfg)
	nc, err := nats.Connect(svc.NATSURL(), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("loopback, no keys: %v", err)
	}
	nc.Close()
	if _, err := os.Stat(filepath.Join(dir, broker.UserFile)); !os.IsNotExist(err) {
		t.Fatalf("a seed was made for an open server: %v", err)
	}
}
