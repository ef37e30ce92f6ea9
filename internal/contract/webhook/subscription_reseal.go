package webhook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"

	"github.com/nats-io/nats.go/jetstream"
)

// StoredSubscriptions is what Reseal needs of BucketSubscriptions;
// jetstream.KeyValue is one.
type StoredSubscriptions interface {
	KV
	WatchAll(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error)
}

// ResealKeys is a keyring that also tells whether a sealed secret was
// sealed with the key that seals now; the service's keyring is one.
type ResealKeys interface {
	SecretKeys
	Current(sealed string) bool
}

// Reseal seals the secrets stored in BucketSubscriptions: every secret
// still in the clear and, with Rekey, every one sealed with an older key,
// and then removes the earlier revisions of each record it changed, or
// that held a secret in the clear, so the bucket's history keeps neither.
// Processes may run it at once, and beside writers: each record is changed
// with compare-and-set, and only revisions older than the one written are
// removed.
type Reseal struct {
	Bucket StoredSubscriptions
	// Stream is the stream behind Bucket (SubscriptionsStream).
	Stream Purger
	Keys   ResealKeys
	// Rekey also seals again, under the key that seals now, every secret
	// sealed with an older one.
	Rekey bool
}

// SealAtStart is the api role's pass at start: it runs r, which seals
// every subscription secret still stored in the clear (a record written
// before secrets were sealed) and removes the revisions that held one, and
// logs each subscription whose secrets the key file at keyFile does not
// open. It fails when the bucket cannot be read or written.
func SealAtStart(ctx context.Context, r Reseal, log *slog.Logger, keyFile string) error {
	rep, err := r.Run(ctx)
	if err != nil {
		return fmt.Errorf("seal stored webhook secrets: %w", err)
	}
	if rep.Sealed > 0 || rep.Purged > 0 {
		log.Info("webhook signing secrets sealed", "subscriptions", rep.Sealed, "histories_removed", rep.Purged)
	}
	for _, u := range rep.Unopenable {
		log.Error("a webhook signing secret does not open with the secrets key file, so its webhooks cannot be signed; "+
			"give this process the key file the others use", "subscription", u.Subscription, "file", keyFile, "err", u.Err)
	}
	return nil
}

// Unopenable is a subscription with a secret that does not open.
type Unopenable struct {
	Subscription string
	// Err says why, naming the key, never the secret.
	Err error
}

// ResealReport is what Run found and did.
type ResealReport struct {
	// Subscriptions is how many subscriptions are stored.
	Subscriptions int
	// Sealed is how many had secrets in the clear, now sealed.
	Sealed int
	// Rekeyed is how many had secrets sealed with an older key, now sealed
	// with the current one.
	Rekeyed int
	// Purged is how many records, deleted ones included, had their earlier
	// revisions removed.
	Purged int
	// Unopenable lists the subscriptions with a secret that does not open;
	// such a secret is left as it is.
	Unopenable []Unopenable
}

// record is what Run knows of one key of the bucket.
type record struct {
	latest jetstream.KeyValueEntry
	// stale is set when an earlier revision holds what Run removes.
	stale bool
}

// Run reads every record with its history and seals what r asks. It fails
// when the bucket or the stream cannot be read or written; what it sealed
// by then stays sealed, and running it again finishes the rest.
func (r Reseal) Run(ctx context.Context) (ResealReport, error) {
	records, err := r.read(ctx)
	if err != nil {
		return ResealReport{}, err
	}
	keys := make([]string, 0, len(records))
	for k := range records {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rep ResealReport
	for _, key := range keys {
		if err := r.one(ctx, key, records[key], &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// read returns every key of the bucket with its newest entry, and whether
// an earlier one needs removing.
func (r Reseal) read(ctx context.Context) (map[string]*record, error) {
	w, err := r.Bucket.WatchAll(ctx, jetstream.IncludeHistory())
	if err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	defer w.Stop()
	records := map[string]*record{}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("read subscriptions: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("read subscriptions: the watch ended")
			}
			if e == nil {
				return records, nil
			}
			rec := records[e.Key()]
			if rec == nil {
				rec = &record{}
				records[e.Key()] = rec
			}
			if rec.latest != nil && r.wants(rec.latest) {
				rec.stale = true
			}
			rec.latest = e
		}
	}
}

// wants reports whether entry holds a secret in the clear or, with Rekey,
// one sealed with an older key.
func (r Reseal) wants(entry jetstream.KeyValueEntry) bool {
	if entry.Operation() != jetstream.KeyValuePut {
		return false
	}
	var s Subscription
	if json.Unmarshal(entry.Value(), &s) != nil {
		return false
	}
	for _, sec := range s.Secrets {
		if sec.Sealed == "" && sec.Value != "" || r.Rekey && sec.Sealed != "" && !r.Keys.Current(sec.Sealed) {
			return true
		}
	}
	return false
}

// one seals what rec's newest revision asks for and removes its earlier
// revisions when they, or it, held what Run removes.
func (r Reseal) one(ctx context.Context, key string, rec *record, rep *ResealReport) error {
	rev := rec.latest.Revision()
	changed := false
	if rec.latest.Operation() == jetstream.KeyValuePut {
		rep.Subscriptions++
		var c change
		stored, err := ModifyEntry(ctx, r.Bucket, rec.latest, func(s *Subscription) bool {
			c = r.reseal(s)
			return c.err == nil && (c.sealed || c.rekeyed)
		})
		switch {
		case c.err != nil:
			return c.err
		case errors.Is(err, jetstream.ErrKeyNotFound):
			return nil // deleted meanwhile, its history with it
		case err != nil:
			return fmt.Errorf("reseal subscription %s: %w", key, err)
		}
		if c.unopenable != nil {
			rep.Unopenable = append(rep.Unopenable, Unopenable{Subscription: key, Err: c.unopenable})
		}
		rev, changed = stored.Revision, c.sealed || c.rekeyed
		rep.Sealed += b2i(c.sealed)
		rep.Rekeyed += b2i(c.rekeyed)
	}
	if !changed && !rec.stale {
		return nil
	}
	err := r.Stream.Purge(ctx, jetstream.WithPurgeSubject(SubscriptionSubject(key)), jetstream.WithPurgeSequence(rev))
	if err != nil {
		return fmt.Errorf("remove earlier revisions of subscription %s: %w", key, err)
	}
	rep.Purged++
	return nil
}

// change is what reseal did to one record.
type change struct {
	sealed, rekeyed bool
	unopenable      error // the first secret that did not open
	err             error // a seal that failed
}

// reseal seals s's secrets in the clear and, with Rekey, those sealed
// with an older key; it opens every sealed one, so a secret that no
// longer opens is reported.
func (r Reseal) reseal(s *Subscription) change {
	var c change
	aad := secretAAD(s.ID)
	s.Secrets = slices.Clone(s.Secrets)
	for i, sec := range s.Secrets {
		plain := []byte(sec.Value)
		if sec.Sealed != "" {
			var err error
			if plain, err = r.Keys.Open(sec.Sealed, aad); err != nil {
				c.unopenable = cmp.Or(c.unopenable, err)
				continue
			}
			if !r.Rekey || r.Keys.Current(sec.Sealed) {
				continue
			}
			c.rekeyed = true
		} else if sec.Value == "" {
			continue
		} else {
			c.sealed = true
		}
		sealed, err := r.Keys.Seal(plain, aad)
		if err != nil {
			c.err = fmt.Errorf("reseal subscription %s: %w", s.ID, err)
			return c
		}
		s.Secrets[i].Sealed, s.Secrets[i].Value = sealed, ""
	}
	return c
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
