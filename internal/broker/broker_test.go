package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/natstest"
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
	nc, err := Connect(url, srv, name, discard())
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
	nc, err := Connect("nats://%zz", nil, "bad", discard())
	if err == nil {
		nc.Close()
		t.Fatal("Connect accepted an unparsable URL")
	}
	if !strings.Contains(err.Error(), "connect to NATS") {
		t.Errorf("error %q lacks context", err)
	}
}

func TestStreamsValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       Streams
		wantErr bool
	}{
		{"zero value", Streams{}, false},
		{"one replica", Streams{Replicas: 1}, false},
		{"five replicas", Streams{Replicas: 5}, false},
		{"six replicas", Streams{Replicas: 6}, true},
		{"negative replicas", Streams{Replicas: -1}, true},
		{"dedup window", Streams{DedupWindow: time.Minute}, false},
		{"negative dedup window", Streams{DedupWindow: -time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.s.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestInvoiceStreamConfig(t *testing.T) {
	tests := []struct {
		name         string
		s            Streams
		wantReplicas int
		wantDup      time.Duration
		wantDirect   bool // direct gets only where every replica is the leader
	}{
		{"defaults", Streams{}, 1, 2 * time.Minute, true},
		{"one replica", Streams{Replicas: 1, DedupWindow: time.Minute}, 1, time.Minute, true},
		{"replicated", Streams{Replicas: 3, DedupWindow: 30 * time.Second}, 3, 30 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.s.InvoiceStreamConfig()
			if cfg.Name != events.StreamInvoices || !slices.Equal(cfg.Subjects, []string{events.AllSubjects}) {
				t.Errorf("name %q subjects %q", cfg.Name, cfg.Subjects)
			}
			if cfg.Replicas != tt.wantReplicas || cfg.Duplicates != tt.wantDup {
				t.Errorf("replicas %d dedup %s, want %d %s", cfg.Replicas, cfg.Duplicates, tt.wantReplicas, tt.wantDup)
			}
			if cfg.AllowDirect != tt.wantDirect {
				t.Errorf("AllowDirect %v, want %v", cfg.AllowDirect, tt.wantDirect)
			}
			if !cfg.DenyDelete || cfg.Storage != jetstream.FileStorage || cfg.Retention != jetstream.LimitsPolicy || cfg.Discard != jetstream.DiscardNew {
				t.Errorf("DenyDelete %v storage %v retention %v discard %v", cfg.DenyDelete, cfg.Storage, cfg.Retention, cfg.Discard)
			}
		})
	}
}

// streamInfo looks the stream up afresh rather than trusting a cached value.
func streamInfo(t testing.TB, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	st, err := js.Stream(testContext(t), name)
	if err != nil {
		t.Fatalf("stream %s: %v", name, err)
	}
	return st.CachedInfo()
}

func TestEnsureStream(t *testing.T) {
	t.Run("creates INVOICES as configured", func(t *testing.T) {
		tests := []struct {
			name    string
			s       Streams
			wantDup time.Duration
		}{
			{"default dedup window", Streams{}, 2 * time.Minute},
			{"custom dedup window", Streams{DedupWindow: 30 * time.Second}, 30 * time.Second},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				srv := natstest.Start(t, natstest.Options{})
				_, js := natstest.Connect(t, srv)
				st, err := EnsureStream(testContext(t), js, tt.s.InvoiceStreamConfig())
				if err != nil {
					t.Fatalf("EnsureStream: %v", err)
				}
				if st.CachedInfo().Config.Name != events.StreamInvoices {
					t.Errorf("returned stream %q", st.CachedInfo().Config.Name)
				}
				cfg := streamInfo(t, js, events.StreamInvoices).Config
				if !slices.Equal(cfg.Subjects, []string{"invoices.>"}) {
					t.Errorf("subjects %q, want [invoices.>]", cfg.Subjects)
				}
				if !cfg.AllowDirect || !cfg.DenyDelete {
					t.Errorf("AllowDirect %v DenyDelete %v, want both", cfg.AllowDirect, cfg.DenyDelete)
				}
				if cfg.Duplicates != tt.wantDup {
					t.Errorf("Duplicates %s, want %s", cfg.Duplicates, tt.wantDup)
				}
				if cfg.Replicas != 1 || cfg.Storage != jetstream.FileStorage || cfg.Discard != jetstream.DiscardNew || cfg.MaxMsgSize != 256<<10 {
					t.Errorf("replicas %d storage %v discard %v max msg size %d", cfg.Replicas, cfg.Storage, cfg.Discard, cfg.MaxMsgSize)
				}
			})
		}
	})

	t.Run("is idempotent", func(t *testing.T) {
		srv := natstest.Start(t, natstest.Options{})
		_, js := natstest.Connect(t, srv)
		cfg := Streams{}.InvoiceStreamConfig()
		if _, err := EnsureStream(testContext(t), js, cfg); err != nil {
			t.Fatalf("first EnsureStream: %v", err)
		}
		before := streamInfo(t, js, events.StreamInvoices)
		if _, err := js.Publish(testContext(t), "invoices.abc.requested", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if _, err := EnsureStream(testContext(t), js, cfg); err != nil {
			t.Fatalf("second EnsureStream: %v", err)
		}
		after := streamInfo(t, js, events.StreamInvoices)
		if !after.Created.Equal(before.Created) || after.State.Msgs != 1 {
			t.Fatalf("stream recreated or emptied: created %s→%s, %d messages", before.Created, after.Created, after.State.Msgs)
		}
	})

	t.Run("updates a changed dedup window", func(t *testing.T) {
		srv := natstest.Start(t, natstest.Options{})
		_, js := natstest.Connect(t, srv)
		if _, err := EnsureStream(testContext(t), js, Streams{}.InvoiceStreamConfig()); err != nil {
			t.Fatal(err)
		}
		st, err := EnsureStream(testContext(t), js, Streams{DedupWindow: 45 * time.Second}.InvoiceStreamConfig())
		if err != nil {
			t.Fatalf("EnsureStream with a new window: %v", err)
		}
		if got := st.CachedInfo().Config.Duplicates; got != 45*time.Second {
			t.Errorf("returned stream has Duplicates %s", got)
		}
		if got := streamInfo(t, js, events.StreamInvoices).Config.Duplicates; got != 45*time.Second {
			t.Errorf("stored Duplicates %s, want 45s", got)
		}
	})

	t.Run("concurrent callers all succeed", func(t *testing.T) {
		// With equal configurations a lost create race is no error at all;
		// with different ones the losers get "name already in use" and must
		// update instead.
		tests := []struct {
			name    string
			windows [4]time.Duration
		}{
			{"same configuration", [4]time.Duration{0, 0, 0, 0}},
			{"different dedup windows", [4]time.Duration{0, time.Minute, 0, time.Minute}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				srv := natstest.Start(t, natstest.Options{})
				var js [4]jetstream.JetStream
				for i := range js {
					_, js[i] = natstest.Connect(t, srv) // one connection per "process"
				}
				ctx := testContext(t)
				start := make(chan struct{})
				var errs [4]error
				var wg sync.WaitGroup
				for i := range js {
					wg.Go(func() {
						<-start
						_, errs[i] = EnsureStream(ctx, js[i], Streams{DedupWindow: tt.windows[i]}.InvoiceStreamConfig())
					})
				}
				close(start)
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Errorf("caller %d: %v", i, err)
					}
				}
				if names := jetstreamNames(t, js[0]); !slices.Equal(names, []string{events.StreamInvoices}) {
					t.Errorf("streams %q, want just INVOICES", names)
				}
				if dup := streamInfo(t, js[0], events.StreamInvoices).Config.Duplicates; dup != 2*time.Minute && dup != time.Minute {
					t.Errorf("Duplicates %s, want one of the callers' windows", dup)
				}
			})
		}
	})

	t.Run("refused configuration fails with context", func(t *testing.T) {
		srv := natstest.Start(t, natstest.Options{})
		_, js := natstest.Connect(t, srv)
		// Another stream already owns the subjects.
		if _, err := js.CreateStream(testContext(t), jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"invoices.>"}}); err != nil {
			t.Fatal(err)
		}
		_, err := EnsureStream(testContext(t), js, Streams{}.InvoiceStreamConfig())
		var apiErr *jetstream.APIError
		if err == nil || !strings.HasPrefix(err.Error(), "ensure stream INVOICES: ") || !errors.As(err, &apiErr) {
			t.Fatalf("EnsureStream = %v, want a wrapped JetStream API error", err)
		}
	})

	t.Run("ends with the context", func(t *testing.T) {
		srv := natstest.Start(t, natstest.Options{})
		_, js := natstest.Connect(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := EnsureStream(ctx, js, Streams{}.InvoiceStreamConfig()); !errors.Is(err, context.Canceled) {
			t.Fatalf("EnsureStream(canceled) = %v, want context.Canceled", err)
		}
	})
}

func jetstreamNames(t testing.TB, js jetstream.JetStream) []string {
	t.Helper()
	lister := js.StreamNames(testContext(t))
	var names []string
	for n := range lister.Name() {
		names = append(names, n)
	}
	if err := lister.Err(); err != nil {
		t.Fatalf("list streams: %v", err)
	}
	return names
}

// scriptedCreator finds no stream and answers CreateStream with errs in
// turn, then succeeds. It checks the retry policy, which a real server
// cannot be made to exercise on demand.
type scriptedCreator struct {
	errs  []error
	calls int
}

func (s *scriptedCreator) Stream(context.Context, string) (jetstream.Stream, error) {
	return nil, jetstream.ErrStreamNotFound
}

func (s *scriptedCreator) UpdateStream(context.Context, jetstream.StreamConfig) (jetstream.Stream, error) {
	return nil, errors.New("no stream to update")
}

func (s *scriptedCreator) CreateStream(context.Context, jetstream.StreamConfig) (jetstream.Stream, error) {
	s.calls++
	if s.calls <= len(s.errs) {
		return nil, s.errs[s.calls-1]
	}
	return nil, nil
}

func TestEnsureStreamRetriesOnlyLostCreateRaces(t *testing.T) {
	inUse := jetstream.ErrStreamNameAlreadyInUse
	other := errors.New("no responders")
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		wantErr   error
	}{
		{"first try", nil, 1, nil},
		{"lost races then success", []error{inUse, inUse}, 3, nil},
		{"other error is not retried", []error{other}, 1, other},
		{"gives up after five races", []error{inUse, inUse, inUse, inUse, inUse, inUse}, 5, inUse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &scriptedCreator{errs: tt.errs}
			_, err := EnsureStream(context.Background(), c, jetstream.StreamConfig{Name: "S"})
			if c.calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", c.calls, tt.wantCalls)
			}
			if (err == nil) != (tt.wantErr == nil) || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("err %v, want %v", err, tt.wantErr)
			}
		})
	}
}
