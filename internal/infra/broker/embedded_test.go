package broker

import (
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go"
)

func TestEmbeddedValidate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		e       Embedded
		wantErr string // "" means valid
	}{
		{"listen off", Embedded{StoreDir: dir, Listen: ListenOff}, ""},
		{"free port", Embedded{StoreDir: dir, Listen: "127.0.0.1:0"}, ""},
		{"fixed port", Embedded{StoreDir: dir, Listen: "127.0.0.1:4222"}, ""},
		{"all interfaces", Embedded{StoreDir: dir, Listen: ":4222"}, ""},
		{"highest port", Embedded{StoreDir: dir, Listen: "localhost:65535"}, ""},
		{"no store dir", Embedded{Listen: ListenOff}, "no store directory"},
		{"no store dir beats bad listen", Embedded{Listen: "nope"}, "no store directory"},
		{"no port", Embedded{StoreDir: dir, Listen: "nope"}, "listen address"},
		{"empty listen", Embedded{StoreDir: dir, Listen: ""}, "listen address"},
		{"port too large", Embedded{StoreDir: dir, Listen: "127.0.0.1:70000"}, `bad port "70000"`},
		{"negative port", Embedded{StoreDir: dir, Listen: "127.0.0.1:-1"}, `bad port "-1"`},
		{"named port", Embedded{StoreDir: dir, Listen: "127.0.0.1:nats"}, `bad port "nats"`},
		{"off is case sensitive", Embedded{StoreDir: dir, Listen: "OFF"}, "listen address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestStartEmbeddedRejectsInvalidConfig(t *testing.T) {
	for _, e := range []Embedded{
		{Listen: ListenOff},
		{StoreDir: t.TempDir(), Listen: "nope"},
		{StoreDir: t.TempDir(), Listen: "127.0.0.1:70000"},
	} {
		srv, err := StartEmbedded(e)
		if err == nil || srv != nil {
			if srv != nil {
				srv.Shutdown()
			}
			t.Errorf("StartEmbedded(%+v) = %v, %v; want nil and an error", e, srv, err)
		}
	}
}

func TestStartEmbeddedListenOff(t *testing.T) {
	srv := startEmbedded(t, Embedded{StoreDir: t.TempDir(), Listen: ListenOff})

	if addr := srv.Addr(); addr != nil {
		t.Fatalf("server listens on %s", addr)
	}
	// url is ignored when srv is given.
	nc := connect(t, "", srv, "in-process")
	if !nc.IsConnected() || nc.ConnectedServerId() != srv.ID() {
		t.Fatalf("in-process connection: connected %v to %q, want %q", nc.IsConnected(), nc.ConnectedServerId(), srv.ID())
	}
	if names := clientNames(t, srv); !slices.Contains(names, "in-process") {
		t.Errorf("clients %q, want one named in-process", names)
	}
	js := requireJetStream(t, nc)
	if _, err := EnsureStream(testContext(t), js, Streams{}.InvoiceStreamConfig()); err != nil {
		t.Fatalf("EnsureStream in-process: %v", err)
	}

	// Nothing reaches this server over TCP. ClientURL still names the
	// default port, where some other server may listen: reaching that one is
	// fine, reaching this one is not.
	tcp, err := nats.Connect(srv.ClientURL(), nats.Timeout(2*time.Second), nats.NoReconnect())
	if err != nil {
		t.Logf("TCP connect to %s: %v", srv.ClientURL(), err)
		return
	}
	defer tcp.Close()
	t.Logf("TCP connect to %s reached another server, %s", srv.ClientURL(), tcp.ConnectedServerId())
	if tcp.ConnectedServerId() == srv.ID() {
		t.Fatalf("connected to the server over TCP at %s", srv.ClientURL())
	}
}

func TestStartEmbeddedFreePort(t *testing.T) {
	srv := startEmbedded(t, Embedded{StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})

	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok || addr.Port <= 0 {
		t.Fatalf("server address %v, want a TCP port", srv.Addr())
	}
	if !addr.IP.IsLoopback() {
		t.Errorf("listens on %s, want loopback", addr.IP)
	}
	if !strings.HasSuffix(srv.ClientURL(), ":"+strconv.Itoa(addr.Port)) {
		t.Errorf("ClientURL %s does not name port %d", srv.ClientURL(), addr.Port)
	}

	nc := connect(t, srv.ClientURL(), nil, "over-tcp")
	natstest.Eventually(t, patience, "connected over TCP", nc.IsConnected)
	if nc.ConnectedServerId() != srv.ID() {
		t.Fatalf("connected to %q, want %q", nc.ConnectedServerId(), srv.ID())
	}
	if names := clientNames(t, srv); !slices.Contains(names, "over-tcp") {
		t.Errorf("clients %q, want one named over-tcp", names)
	}
	requireJetStream(t, nc)

	// Port 0 means a free port each time, not some fixed default.
	other := startEmbedded(t, Embedded{StoreDir: t.TempDir(), Listen: "127.0.0.1:0"})
	otherAddr, ok := other.Addr().(*net.TCPAddr)
	if !ok || otherAddr.Port == addr.Port {
		t.Fatalf("second server at %v, first at %v: want distinct ports", other.Addr(), addr)
	}
}

func TestStartEmbeddedAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	srv, err := StartEmbedded(Embedded{
		StoreDir:     t.TempDir(),
		Listen:       ln.Addr().String(),
		ReadyTimeout: time.Second,
	})
	if err == nil {
		srv.Shutdown()
		t.Fatal("StartEmbedded succeeded on a taken address")
	}
	if srv != nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("StartEmbedded = %v, %v; want nil and an error naming the address", srv, err)
	}
}

func TestStartEmbeddedLogsToLogger(t *testing.T) {
	logs := newLogSink()
	startEmbedded(t, Embedded{StoreDir: t.TempDir(), Listen: ListenOff, Logger: slog.New(logs)})
	line, ok := logs.find(slog.LevelDebug, "Starting nats-server")
	if !ok {
		t.Fatal("server notices do not reach the logger")
	}
	if line.attrs["component"] != "nats" {
		t.Errorf("component %q, want nats", line.attrs["component"])
	}
}

func TestStartEmbeddedSyncAlways(t *testing.T) {
	for _, always := range []bool{false, true} {
		t.Run(fmt.Sprint("SyncAlways=", always), func(t *testing.T) {
			srv := startEmbedded(t, Embedded{StoreDir: t.TempDir(), Listen: ListenOff, SyncAlways: always})
			cfg := srv.JetStreamConfig()
			if cfg == nil {
				t.Fatal("JetStream is not enabled")
			}
			if cfg.SyncAlways != always {
				t.Errorf("JetStream SyncAlways = %v, want %v", cfg.SyncAlways, always)
			}
		})
	}
}

func TestOneStoreHasOneServer(t *testing.T) {
	dir := t.TempDir()
	first, err := StartEmbedded(Embedded{StoreDir: dir, Listen: ListenOff, ReadyTimeout: patience})
	if err != nil {
		t.Fatal(err)
	}
	if srv, err := StartEmbedded(Embedded{StoreDir: dir, Listen: ListenOff, ReadyTimeout: patience}); err == nil || !strings.Contains(err.Error(), "in use by another") {
		if srv != nil {
			srv.Shutdown()
		}
		t.Fatalf("a second server on the store: %v", err)
	}
	first.Shutdown()
	first.WaitForShutdown()
	again := startEmbedded(t, Embedded{StoreDir: dir, Listen: ListenOff})
	if !again.JetStreamEnabled() {
		t.Fatal("the restarted server has no JetStream")
	}
}
