package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// SubscriptionsBucketConfig returns the configuration of the bucket that
// holds webhook subscriptions: file storage, a short history, the streams'
// replicas.
func (s Streams) SubscriptionsBucketConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      webhook.BucketSubscriptions,
		Description: "invoiced: webhook subscriptions by ID",
		History:     5,
		Storage:     jetstream.FileStorage,
		Replicas:    max(s.Replicas, 1),
	}
}

// KeyValueManager is the part of jetstream.JetStream that EnsureKeyValue
// needs.
type KeyValueManager interface {
	KeyValue(ctx context.Context, bucket string) (jetstream.KeyValue, error)
	CreateKeyValue(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error)
}

// EnsureKeyValue returns the bucket, creating it when it does not exist. An
// existing bucket is used as it is. Processes racing to create it all
// succeed. It fails when JetStream refuses the configuration or cannot be
// reached before ctx ends.
func EnsureKeyValue(ctx context.Context, js KeyValueManager, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	for attempt := 0; ; attempt++ {
		kv, err := js.KeyValue(ctx, cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = js.CreateKeyValue(ctx, cfg)
		}
		if err == nil {
			return kv, nil
		}
		if !errors.Is(err, jetstream.ErrBucketExists) || attempt == 4 {
			return nil, fmt.Errorf("ensure bucket %s: %w", cfg.Bucket, err)
		}
	}
}

// DeliveriesBucketConfig returns the configuration of the bucket that holds
// the delivery log: one record per delivery, its latest version only.
func (s Streams) DeliveriesBucketConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:      webhook.BucketDeliveries,
		Description: "invoiced: webhook deliveries and every attempt",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    max(s.Replicas, 1),
	}
}
