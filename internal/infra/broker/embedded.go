// Package broker starts the embedded NATS JetStream server, connects to
// NATS, and creates the streams invoiced stores its events in.
package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/invoiced/invoiced/internal/infra/filelock"
	"github.com/nats-io/nats-server/v2/server"
)

// ListenOff is the Embedded.Listen value that accepts no TCP clients: only
// in-process connections reach the server.
const ListenOff = "off"

// Embedded configures the JetStream server that runs inside invoiced when no
// external NATS URL is given.
type Embedded struct {
	// StoreDir is where JetStream keeps its file store. Required.
	StoreDir string
	// Listen is the host:port that accepts TCP clients such as the nats CLI,
	// ListenOff for none. Port 0 picks a free port.
	Listen string
	// SyncAlways makes the server fsync every write before it acknowledges
	// it, and sync streams that opt out of that (an unsynced history
	// segment) every HistorySyncInterval; otherwise it syncs every 2
	// minutes (NATS's default).
	SyncAlways bool
	// User, when set, is the public nkey of the only user the server
	// admits, every client in this process included; empty admits anyone
	// who reaches Listen.
	User string
	// ReadyTimeout bounds how long StartEmbedded waits for the server;
	// 0 means 30 seconds.
	ReadyTimeout time.Duration
	// Logger receives the server's log; nil discards it.
	Logger *slog.Logger
}

// Validate reports the first problem with the configuration.
func (e Embedded) Validate() error {
	if e.StoreDir == "" {
		return errors.New("embedded NATS: no store directory")
	}
	if e.Listen != ListenOff {
		if _, _, err := splitListen(e.Listen); err != nil {
			return fmt.Errorf("embedded NATS: listen address: %w", err)
		}
	}
	return nil
}

// StartEmbedded starts a JetStream server as configured and waits until it
// accepts connections. It fails when the configuration is invalid, another
// process has a server on the same store, the store cannot be opened, the
// address is taken, or the server is not ready in time. The caller must
// Shutdown the server.
func StartEmbedded(e Embedded) (*server.Server, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(e.StoreDir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	// The server takes no lock of its own, and two on one store would
	// each rewrite the other's index files.
	held, err := filelock.Lock(filepath.Join(e.StoreDir, "jetstream.lock"))
	switch {
	case errors.Is(err, filelock.ErrHeld):
		return nil, fmt.Errorf("embedded NATS: %s is in use by another invoiced process; give each a --data of its own", e.StoreDir)
	case err != nil:
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	srv, err := start(e)
	if err != nil {
		held.Close()
		return nil, err
	}
	go func() {
		srv.WaitForShutdown()
		held.Close()
	}()
	return srv, nil
}

// start starts the server e describes and waits until it is ready.
func start(e Embedded) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "invoiced",
		JetStream:  true,
		StoreDir:   e.StoreDir,
		SyncAlways: e.SyncAlways,
		NoSigs:     true,
		MaxPayload: 1 << 20,
	}
	if e.SyncAlways {
		opts.SyncInterval = HistorySyncInterval
	}
	if e.User != "" {
		opts.Nkeys = []*server.NkeyUser{{Nkey: e.User}}
	}
	if e.Listen == ListenOff {
		opts.DontListen = true
	} else {
		host, port, _ := splitListen(e.Listen)
		if err := probe(host, port); err != nil {
			return nil, listenError(e.Listen, err)
		}
		opts.Host, opts.Port = host, port
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS: %w", err)
	}
	if e.Logger != nil {
		srv.SetLoggerV2(serverLog{e.Logger.With("component", "nats")}, false, false, false)
	}
	srv.Start()
	wait := e.ReadyTimeout
	if wait == 0 {
		wait = 30 * time.Second
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded NATS: not ready after %s (is %s writable?)", wait, e.StoreDir)
	}
	return srv, nil
}

// probe fails fast when the listen address is taken, which the server
// would only log.
func probe(host string, port int) error {
	if port == server.RANDOM_PORT {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return ln.Close()
}

// listenError describes a failure to listen on addr: when the port is
// taken, which one, and the flag that moves or closes the listener.
func listenError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		_, port, _ := net.SplitHostPort(addr)
		return fmt.Errorf("embedded NATS: %s: port %s is already in use (another invoiced or nats-server?); "+
			"give --nats-listen another port, or --nats-listen off to take no NATS clients: %w", addr, port, err)
	}
	return fmt.Errorf("embedded NATS: listen on %s: %w", addr, err)
}

// splitListen parses host:port; port 0 asks for a free port, which the
// server spells -1.
func splitListen(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// serverLog sends the server's log lines to slog.
type serverLog struct{ l *slog.Logger }

func (s serverLog) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLog) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s serverLog) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLog) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLog) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLog) Tracef(format string, v ...any)  {}
