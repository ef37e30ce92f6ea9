package dispatcher

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// Watcher watches every key of a bucket; jetstream.KeyValue is one.
type Watcher interface {
	WatchAll(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error)
}

// subscriptionCache is every subscription as the bucket has it, kept
// current by a watch, so no delivery looks a subscription up.
type subscriptionCache struct {
	mu     sync.RWMutex
	subs   map[string]webhook.Subscription
	loaded chan struct{}
	log    *slog.Logger
	// added is told of each subscription first seen after the load.
	added func(webhook.Subscription)
}

// watchSubscriptions starts the cache and waits until it holds every
// subscription stored at start; added is told of each one first seen
// after that. It fails when the watch cannot be made or ctx ends first.
func watchSubscriptions(ctx context.Context, w Watcher, log *slog.Logger, added func(webhook.Subscription)) (*subscriptionCache, jetstream.KeyWatcher, error) {
	kw, err := w.WatchAll(context.Background())
	if err != nil {
		return nil, nil, fmt.Errorf("watch subscriptions: %w", err)
	}
	c := &subscriptionCache{subs: map[string]webhook.Subscription{}, loaded: make(chan struct{}), log: log, added: added}
	go c.run(kw)
	select {
	case <-c.loaded:
		return c, kw, nil
	case <-ctx.Done():
		_ = kw.Stop()
		return nil, nil, fmt.Errorf("watch subscriptions: %w", ctx.Err())
	}
}

func (c *subscriptionCache) run(kw jetstream.KeyWatcher) {
	loaded := false
	for entry := range kw.Updates() {
		if entry == nil {
			close(c.loaded)
			loaded = true
			continue
		}
		if s, isNew := c.apply(entry); isNew && loaded && c.added != nil {
			c.added(s)
		}
	}
}

// apply stores entry and returns the subscription it holds, and whether
// the cache had none under its key.
func (c *subscriptionCache) apply(entry jetstream.KeyValueEntry) (webhook.Subscription, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if entry.Operation() != jetstream.KeyValuePut {
		delete(c.subs, entry.Key())
		return webhook.Subscription{}, false
	}
	var s webhook.Subscription
	if err := json.Unmarshal(entry.Value(), &s); err != nil {
		c.log.Error("subscription record unreadable", "key", entry.Key(), "err", err)
		return s, false
	}
	_, had := c.subs[entry.Key()]
	c.subs[entry.Key()] = s
	return s, !had
}

// get returns the subscription id, if it exists.
func (c *subscriptionCache) get(id string) (webhook.Subscription, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.subs[id]
	return s, ok
}

// matching returns the enabled subscriptions of account that want
// eventType and existed when the event happened at t.
func (c *subscriptionCache) matching(account, eventType string, t time.Time) []webhook.Subscription {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []webhook.Subscription
	for _, s := range c.subs {
		if s.WantsAt(account, eventType, t) {
			out = append(out, s)
		}
	}
	return out
}
