package consume_test

import (
	"context"
	"slices"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/consume"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// TestEnsureGivesARecoveredConsumerMoreFilters changes, after a restart, a
// consumer of one filter subject to two: the server applies it but answers
// with the old filter.
func TestEnsureGivesARecoveredConsumerMoreFilters(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	one := jetstream.ConsumerConfig{Durable: "c", FilterSubject: "orders.*.new", AckPolicy: jetstream.AckExplicitPolicy}
	two := one
	two.FilterSubject, two.FilterSubjects = "", []string{"orders.*.new.*", "orders.*.new"}

	srv := natstest.Start(t, natstest.Options{StoreDir: dir})
	_, js := natstest.Connect(t, srv)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"orders.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := consume.Ensure(ctx, js, "ORDERS", one); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	srv.WaitForShutdown()

	_, js = natstest.Connect(t, natstest.Start(t, natstest.Options{StoreDir: dir}))
	cons, err := consume.Ensure(ctx, js, "ORDERS", two)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	info, err := cons.Info(ctx)
	if err != nil || info.Config.FilterSubject != "" || !slices.Equal(info.Config.FilterSubjects, two.FilterSubjects) {
		t.Fatalf("consumer filters %q %q (%v), want %q", info.Config.FilterSubject, info.Config.FilterSubjects, err, two.FilterSubjects)
	}
}
