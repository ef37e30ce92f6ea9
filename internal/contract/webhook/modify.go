package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// KV is the part of a key-value bucket that Modify needs; jetstream.KeyValue
// is one.
type KV interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error)
}

// casAttempts bounds how often Modify retries after losing a race.
const casAttempts = 5

// Stored is a record as a bucket holds it.
type Stored[T any] struct {
	Value T
	// Revision is the bucket revision that holds Value.
	Revision uint64
}

// Modify reads the JSON record T under key, applies edit, and, when edit
// reports a change, writes it back with compare-and-set, starting over when
// another writer got there first. It returns the record as it now stands.
// It fails with an error matching jetstream.ErrKeyNotFound when there is no
// record, and with the store's error otherwise.
func Modify[T any](ctx context.Context, kv KV, key string, edit func(*T) bool) (Stored[T], error) {
	return modify(ctx, kv, key, nil, edit)
}

// ModifyEntry is Modify starting from entry, a version of the record the
// caller has just read, which saves a read when nobody wrote in between.
func ModifyEntry[T any](ctx context.Context, kv KV, entry jetstream.KeyValueEntry, edit func(*T) bool) (Stored[T], error) {
	return modify(ctx, kv, entry.Key(), entry, edit)
}

func modify[T any](ctx context.Context, kv KV, key string, entry jetstream.KeyValueEntry, edit func(*T) bool) (Stored[T], error) {
	for attempt := 1; ; attempt++ {
		if entry == nil {
			var err error
			if entry, err = kv.Get(ctx, key); err != nil {
				return Stored[T]{}, fmt.Errorf("read %s: %w", key, err)
			}
		}
		var rec T
		if err := json.Unmarshal(entry.Value(), &rec); err != nil {
			return Stored[T]{}, fmt.Errorf("record %s: %w", key, err)
		}
		if !edit(&rec) {
			return Stored[T]{rec, entry.Revision()}, nil
		}
		data, err := json.Marshal(rec)
		if err != nil {
			return Stored[T]{}, fmt.Errorf("record %s: %w", key, err)
		}
		rev, err := kv.Update(ctx, key, data, entry.Revision())
		entry = nil // read afresh if this write loses a race
		switch {
		case err == nil:
			return Stored[T]{rec, rev}, nil
		case !errors.Is(err, jetstream.ErrKeyRevisionMismatch) || attempt == casAttempts:
			return Stored[T]{}, fmt.Errorf("update %s: %w", key, err)
		}
	}
}

// CreatingKV is a KV that can also create a record once; jetstream.KeyValue
// is one.
type CreatingKV interface {
	KV
	Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error)
}

// ModifyOrCreate is ModifyEntry for a record that may not be stored yet.
// With a nil entry, edit is applied to fresh and the result created under
// key; when another writer created the record first, it starts over from
// the stored one, as Modify does. It fails like Modify.
func ModifyOrCreate[T any](ctx context.Context, kv CreatingKV, key string, entry jetstream.KeyValueEntry, fresh T, edit func(*T) bool) (Stored[T], error) {
	if entry != nil {
		return ModifyEntry(ctx, kv, entry, edit)
	}
	rec := fresh
	if !edit(&rec) {
		return Stored[T]{Value: rec}, nil
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return Stored[T]{}, fmt.Errorf("record %s: %w", key, err)
	}
	rev, err := kv.Create(ctx, key, data)
	switch {
	case err == nil:
		return Stored[T]{rec, rev}, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return Modify(ctx, kv, key, edit)
	}
	return Stored[T]{}, fmt.Errorf("create %s: %w", key, err)
}
