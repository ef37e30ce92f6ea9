package broker

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/testing/natstest"
)

func TestConnectRetriesUntilTheServerComes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now

	nc := connect(t, fmt.Sprintf("nats://127.0.0.1:%d", port), nil, "early")
	if nc.IsConnected() {
		t.Fatal("connected with no server")
	}
	srv := natstest.Start(t, natstest.Options{Port: port})
	natstest.Eventually(t, patience, "connected once the server is up", nc.IsConnected)
	if nc.ConnectedServerId() != srv.ID() {
		t.Fatalf("connected to %q, want %q", nc.ConnectedServerId(), srv.ID())
	}
}

func TestConnectFailsOnBadOptions(t *testing.T) {
	nc, err := Connect("nats://%zz", nil, "bad", discard(), Auth{})
	if err == nil {
		nc.Close()
		t.Fatal("Connect accepted an unparsable URL")
	}
	if !strings.Contains(err.Error(), "connect to NATS") {
		t.Errorf("error %q lacks context", err)
	}
}
