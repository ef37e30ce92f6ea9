package broker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/invoiced/invoiced/internal/infra/jserr"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Session is a process's way to NATS: its connection and, when it runs
// one, the embedded server it is connected to.
type Session struct {
	Conn     *nats.Conn
	embedded *server.Server
	listen   string        // the embedded server's Listen
	url      string        // the external server's URL
	closed   chan struct{} // closed once Conn is
}

// SessionConfig says which NATS a Session uses.
type SessionConfig struct {
	// Embedded, when not nil, is the server to start in the process;
	// otherwise URL is the external one.
	Embedded *Embedded
	// Locked makes the embedded server admit only the user whose seed it
	// keeps in its store directory (UserFile), made on first start.
	Locked bool
	URL    string
	Auth   Auth // how to sign in to the external server
	Name   string
	Logger *slog.Logger
}

// Open starts the embedded server cfg asks for, if any, and connects. It
// fails when the server cannot start, its user seed cannot be had, or the
// options are bad; an external server that is down is retried in the
// background (Connect).
func Open(cfg SessionConfig) (*Session, error) {
	s := &Session{url: cfg.URL, closed: make(chan struct{})}
	auth := cfg.Auth
	if e := cfg.Embedded; e != nil {
		if err := os.MkdirAll(e.StoreDir, 0o750); err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		run := *e
		auth = Auth{}
		if cfg.Locked {
			seed := filepath.Join(e.StoreDir, UserFile)
			public, err := LoadOrCreateUser(seed)
			if err != nil {
				return nil, err
			}
			run.User, auth = public, Auth{NKeySeedFile: seed}
		}
		srv, err := StartEmbedded(run)
		if err != nil {
			return nil, err
		}
		s.embedded, s.listen = srv, e.Listen
	}
	nc, err := Connect(cfg.URL, s.embedded, cfg.Name, cfg.Logger, auth)
	if err != nil {
		s.stopEmbedded()
		return nil, err
	}
	nc.SetClosedHandler(func(*nats.Conn) { close(s.closed) })
	s.Conn = nc
	return s, nil
}

// URL returns the URL TCP clients reach NATS at, or "" when the embedded
// server listens for none.
func (s *Session) URL() string {
	switch {
	case s.embedded == nil:
		return s.url
	case s.listen == ListenOff:
		return ""
	}
	return s.embedded.ClientURL()
}

// Close drains the connection, cut short when ctx ends, and stops the
// embedded server.
func (s *Session) Close(ctx context.Context) {
	if s.Conn.Drain() != nil {
		s.Conn.Close()
	}
	select {
	case <-s.closed:
	case <-ctx.Done():
		s.Conn.Close()
	}
	s.stopEmbedded()
}

func (s *Session) stopEmbedded() {
	if s.embedded != nil {
		s.embedded.Shutdown()
		s.embedded.WaitForShutdown()
	}
}

// EnsureWhenReady creates or updates the streams and buckets as Ensure
// does, retrying while NATS is unreachable or JetStream temporarily
// unavailable, and tells waiting why each try failed. A refusal of the
// configuration fails at once, and so does ctx ending.
func (st Streams) EnsureWhenReady(ctx context.Context, js Manager, nc *nats.Conn, waiting func(error)) (Handles, error) {
	for pause := 250 * time.Millisecond; ; pause = min(2*pause, 5*time.Second) {
		attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
		h, err := st.Ensure(attempt, js)
		cancel()
		if err == nil {
			return h, nil
		}
		if !jserr.IsTransient(err) {
			return Handles{}, err
		}
		if status := nc.Status(); status != nats.CONNECTED {
			// Publishing then fails for want of a buffer, which names
			// the symptom, not the cause.
			err = fmt.Errorf("not connected to NATS (%s): %w", status, err)
		}
		waiting(err)
		select {
		case <-ctx.Done():
			return Handles{}, fmt.Errorf("set up streams: %w (%w)", ctx.Err(), err)
		case <-time.After(pause):
		}
	}
}
