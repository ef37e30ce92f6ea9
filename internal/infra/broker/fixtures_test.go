package broker

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const patience = 10 * time.Second

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

// startEmbedded starts a server as configured and shuts it down when the
// test ends.
func startEmbedded(t testing.TB, e Embedded) *server.Server {
	t.Helper()
	if e.ReadyTimeout == 0 {
		e.ReadyTimeout = patience
	}
	srv, err := StartEmbedded(e)
	if err != nil {
		t.Fatalf("StartEmbedded: %v", err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
}

// connect calls Connect and closes the connection when the test ends.
func connect(t testing.TB, url string, srv *server.Server, name string) *nats.Conn {
	t.Helper()
	nc, err := Connect(url, srv, name, discard(), Auth{})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// clientNames returns the names of the clients connected to srv.
func clientNames(t testing.TB, srv *server.Server) []string {
	t.Helper()
	cz, err := srv.Connz(&server.ConnzOptions{})
	if err != nil {
		t.Fatalf("connz: %v", err)
	}
	var names []string
	for _, c := range cz.Conns {
		names = append(names, c.Name)
	}
	return names
}

// requireJetStream fails the test unless JetStream answers over nc.
func requireJetStream(t testing.TB, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(testContext(t)); err != nil {
		t.Fatalf("JetStream account info: %v", err)
	}
	return js
}

// logSink is a slog.Handler that keeps every record with the attributes
// added by Logger.With.
type logSink struct {
	mu    *sync.Mutex
	lines *[]logLine
	attrs []slog.Attr
}

type logLine struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func newLogSink() logSink { return logSink{mu: &sync.Mutex{}, lines: &[]logLine{}} }

func (s logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s logSink) WithGroup(string) slog.Handler            { return s }
func (s logSink) WithAttrs(as []slog.Attr) slog.Handler {
	s.attrs = append(slices.Clone(s.attrs), as...)
	return s
}
func (s logSink) Handle(_ context.Context, r slog.Record) error {
	line := logLine{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range s.attrs {
		line.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		line.attrs[a.Key] = a.Value.String()
		return true
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.lines = append(*s.lines, line)
	return nil
}

// find returns the first line at level whose message contains part.
func (s logSink) find(level slog.Level, part string) (logLine, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range *s.lines {
		if l.level == level && strings.Contains(l.msg, part) {
			return l, true
		}
	}
	return logLine{}, false
}
