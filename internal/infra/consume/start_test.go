package consume

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

func TestStartDefaults(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	nc, js := natstest.Connect(t, srv)
	f := newFixture(t, nc, js, poolAckWait)
	p := startPool(t, f.cons, func(context.Context, jetstream.Msg) error { return nil }, Options{})

	if p.opts.Workers != 1 || cap(p.slots) != 1 {
		t.Errorf("Workers %d (semaphore %d), want 1", p.opts.Workers, cap(p.slots))
	}
	if p.opts.Logger == nil {
		t.Error("no default logger")
	}
	if p.opts.Backoff == nil {
		t.Fatal("no default backoff")
	}
	for n, want := range map[uint64]time.Duration{1: time.Second, 2: 2 * time.Second, 7: time.Minute, 50: time.Minute} {
		if got := p.opts.Backoff(n); got != want {
			t.Errorf("default backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		workers int
		wantErr bool
	}{
		{-1, true},
		{-100, true},
		{0, false},
		{1, false},
		{64, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("Workers=", tt.workers), func(t *testing.T) {
			if err := (Options{Workers: tt.workers}).Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}

	t.Run("Start refuses invalid options", func(t *testing.T) {
		srv := natstest.Start(t, natstest.Options{})
		nc, js := natstest.Connect(t, srv)
		f := newFixture(t, nc, js, poolAckWait)
		p, err := Start(f.cons, func(context.Context, jetstream.Msg) error { return nil }, Options{Workers: -3})
		if err == nil {
			_ = p.Stop(testContext(t))
			t.Fatal("Start accepted negative Workers")
		}
		if p != nil || !strings.Contains(err.Error(), "workers") {
			t.Fatalf("Start = %v, %v; want nil and an error about workers", p, err)
		}
	})
}

func TestRefusedPullsAreLoggedAndStopStillReturns(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	_, js := natstest.Connect(t, srv)
	ctx := testContext(t)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PRIO", Subjects: []string{"prio.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	// A consumer with priority groups cannot be pulled from without naming
	// a group, which the pool does not do: every pull is refused.
	cons, err := js.CreateOrUpdateConsumer(ctx, "PRIO", jetstream.ConsumerConfig{
		Durable:        "C",
		AckPolicy:      jetstream.AckExplicitPolicy,
		PriorityGroups: []string{"g"},
		PriorityPolicy: jetstream.PriorityPolicyOverflow,
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &logRecorder{}
	p, err := Start(cons, func(context.Context, jetstream.Msg) error { return nil }, Options{Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	natstest.Eventually(t, patience, "the refusal logged", func() bool { return logs.has(slog.LevelWarn, "pull", "") })
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}
