package broker

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

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
