// Package statetest sets up, for tests, what invoiced keeps its state in:
// every stream and bucket on a real JetStream server, and the api role's
// read model following them.
package statetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Streams creates every stream and bucket as cfg says, and returns them.
func Streams(t testing.TB, js jetstream.JetStream, cfg broker.Streams) broker.Handles {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := cfg.Ensure(ctx, js)
	if err != nil {
		t.Fatalf("ensure streams: %v", err)
	}
	return h
}

// Model opens a read model in a new directory, follows the history and the
// live deliveries of js into it until the test ends, and waits until it
// holds what they held.
func Model(t testing.TB, js jetstream.JetStream, h broker.Handles) (*readmodel.Store, *readmodel.Follower) {
	t.Helper()
	store, err := readmodel.Open(filepath.Join(t.TempDir(), readmodel.FileName))
	if err != nil {
		t.Fatalf("read model: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := store.Follow(ctx, js, h.Deliveries, nil)
	if err != nil {
		store.Close()
		t.Fatalf("follow: %v", err)
	}
	t.Cleanup(func() {
		f.Stop()
		store.Close()
	})
	for f.Ready() != nil {
		if ctx.Err() != nil {
			t.Fatalf("read model not ready: %v", f.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return store, f
}

// Publish stores ev on INVOICES under its own subject and ID, as the API
// and the processor do, and fails t when it cannot.
func Publish(t testing.TB, js jetstream.JetStream, ev events.Event) {
	t.Helper()
	data, err := events.Encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: ev.Subject(), Data: data}, jetstream.WithMsgID(ev.ID)); err != nil {
		t.Fatalf("publish %s: %v", ev.Subject(), err)
	}
}
