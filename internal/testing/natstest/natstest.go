// Package natstest runs real JetStream servers for tests.
package natstest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options tunes a test server.
type Options struct {
	// StoreDir keeps the store across restarts; empty means a new t.TempDir().
	StoreDir string
	// Port is the client port; 0 picks a free one.
	Port int
	// SyncAlways makes the server fsync before every acknowledgement.
	SyncAlways bool
	// MaxStore bounds what JetStream may store on disk, in bytes; 0 means
	// the server's default.
	MaxStore int64
}

// Start runs a JetStream server on a free loopback port with its store in a
// temporary directory (or opts.StoreDir) and shuts it down when the test
// ends.
func Start(t testing.TB, opts Options) *server.Server {
	t.Helper()
	dir := opts.StoreDir
	if dir == "" {
		dir = t.TempDir()
	}
	port := opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
		SyncAlways: opts.SyncAlways, JetStreamMaxStore: opts.MaxStore,
	})
	if err != nil {
		t.Fatalf("new NATS server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// Connect opens a connection to srv that closes when the test ends.
func Connect(t testing.TB, srv *server.Server) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return nc, js
}

// Eventually polls cond every few milliseconds until it returns true, and
// fails the test with msg when it has not by the deadline.
func Eventually(t testing.TB, within time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, msg)
		}
		time.Sleep(pause)
	}
}

// Port returns the client port of a running server, so a test can start its
// successor on the same address.
func Port(t testing.TB, srv *server.Server) int {
	t.Helper()
	addr, ok := srv.Addr().(*net.TCPAddr)
	if !ok {
		t.Fatal("server has no TCP address")
	}
	return addr.Port
}

// StreamInfoer reads a stream's state; jetstream.Stream is one.
type StreamInfoer interface {
	Info(ctx context.Context, opts ...jetstream.StreamInfoOpt) (*jetstream.StreamInfo, error)
}

// SubjectCounts returns how many messages st holds under each subject
// matching filter, and their total. It fails the test when the stream
// cannot be read.
func SubjectCounts(t testing.TB, st StreamInfoer, filter string) (map[string]uint64, uint64) {
	t.Helper()
	info, err := st.Info(context.Background(), jetstream.WithSubjectFilter(filter))
	if err != nil {
		t.Fatalf("subjects %s: %v", filter, err)
	}
	var total uint64
	for _, n := range info.State.Subjects {
		total += n
	}
	return info.State.Subjects, total
}
