package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

type counter struct{ N int }

func TestModifyRetriesALostRace(t *testing.T) {
	srv := natstest.Start(t, natstest.Options{})
	_, js := natstest.Connect(t, srv)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k", []byte(`{"N":1}`)); err != nil {
		t.Fatal(err)
	}
	stale, err := kv.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k", []byte(`{"N":10}`)); err != nil { // another writer
		t.Fatal(err)
	}
	calls := 0
	got, err := ModifyEntry(ctx, kv, stale, func(c *counter) bool {
		calls++
		c.N++
		return true
	})
	if err != nil || got.Value.N != 11 || calls != 2 {
		t.Fatalf("ModifyEntry from a stale entry: %+v, %d calls, %v", got, calls, err)
	}
	entry, _ := kv.Get(ctx, "k")
	if got.Revision != entry.Revision() {
		t.Fatalf("revision %d, the bucket holds %d", got.Revision, entry.Revision())
	}
	var stored counter
	_ = json.Unmarshal(entry.Value(), &stored)
	if stored.N != 11 {
		t.Fatalf("stored %d", stored.N)
	}
	unchanged, err := Modify(ctx, kv, "k", func(*counter) bool { return false })
	if err != nil || unchanged.Value.N != 11 || unchanged.Revision != entry.Revision() {
		t.Fatalf("no-op: %+v %v", unchanged, err)
	}
	if _, err := Modify(ctx, kv, "missing", func(*counter) bool { return true }); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("missing key: %v", err)
	}
}
