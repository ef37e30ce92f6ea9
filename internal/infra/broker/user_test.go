package broker

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestLoadOrCreateUserKeepsOneSeedPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), UserFile)
	first, err := LoadOrCreateUser(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("seed file: %v, %v", info, err)
	}
	again, err := LoadOrCreateUser(path)
	if err != nil || again != first {
		t.Fatalf("second start: %q, %v; want the same user %q", again, err, first)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateUser(path); !errors.Is(err, ErrLooseUserFile) {
		t.Fatalf("a seed others can read: %v", err)
	}
	for name, text := range map[string]string{"garbage": "not a seed\n", "empty": ""} {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateUser(p); err == nil {
			t.Fatalf("%s accepted as a seed", name)
		}
	}
}

func TestLockedEmbeddedServerAdmitsOnlyItsUser(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, UserFile)
	user, err := LoadOrCreateUser(seed)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartEmbedded(Embedded{StoreDir: dir, Listen: "127.0.0.1:0", User: user})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if nc, err := nats.Connect(srv.ClientURL(), nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Fatal("a client without the user's seed was admitted over TCP")
	}
	nc, err := Connect("", srv, "test", nil, Auth{NKeySeedFile: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tcp, err := Connect(srv.ClientURL(), nil, "cli", nil, Auth{NKeySeedFile: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	if _, err := tcp.Request("$JS.API.INFO", nil, 5*time.Second); err != nil {
		t.Fatalf("the user reaches JetStream over TCP: %v", err)
	}
}
