package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/invoiced/invoiced/internal/testing/statetest"
	"github.com/invoiced/invoiced/processor"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// storeBeforeAccounts fills the store in dir as a version before accounts
// in subjects left it: a history segment that copies invoices.*.* only, a
// decided invoice requested with key, and a request still undecided, both
// under invoices.<id>.<kind>, the latter waiting for a processor whose
// consumer filters invoices.*.requested. It returns the two invoice IDs.
func storeBeforeAccounts(t *testing.T, dir, key string) (decided, undecided string) {
	t.Helper()
	srv, err := broker.StartEmbedded(broker.Embedded{StoreDir: dir, Listen: broker.ListenOff})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h := statetest.Streams(t, js, broker.Streams{})
	cfg := h.History.CachedInfo().Config
	for _, src := range cfg.Sources {
		if src.Name == events.StreamInvoices {
			src.SubjectTransforms = history.InvoiceTransforms()[1:] // invoices.*.*
		}
	}
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateConsumer(ctx, events.StreamInvoices, jetstream.ConsumerConfig{
		Durable: processor.ConsumerName, FilterSubject: "invoices.*.requested",
		AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: -1, AckWait: 30 * time.Second,
	}); err != nil {
		t.Fatal(err)
	}

	// The decided invoice is as it was stored before accounts existed; the
	// undecided one names its account in its body alone, as it was stored
	// once accounts existed but before they were in subjects.
	old := func(ev events.Event, named bool) events.Event {
		if !named {
			ev.Invoice.Account = ""
		}
		data, err := events.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		subject := strings.TrimSuffix(ev.Subject(), "."+events.DefaultAccount)
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: data}, jetstream.WithMsgID(ev.ID)); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	req, err := api.RequestedEvent(api.DefaultCaller, key, []byte(calltest.InvoiceBody), time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	old(req, false)
	old(events.NewProcessed(req.Invoice, time.Now().Add(-time.Hour)), false)
	pending, err := api.RequestedEvent(api.DefaultCaller, "before-accounts-pending", []byte(calltest.InvoiceBody), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	old(pending, true)
	natstest.Eventually(t, 10*time.Second, "the old segment copies the three events", func() bool {
		info, err := h.History.Info(ctx)
		return err == nil && info.State.Msgs == 3
	})
	return req.Invoice.ID, pending.Invoice.ID
}

// TestEventsStoredBeforeAccountsInSubjectsLiveOn starts the service on a
// store written before subjects named accounts: the undecided request is
// decided, a retry of the decided one's key finds it, the history goes on
// in a new segment that copies both forms, and every invoice is listed
// once.
func TestEventsStoredBeforeAccountsInSubjectsLiveOn(t *testing.T) {
	dir := t.TempDir()
	const key = "before-accounts-decided"
	decided, undecided := storeBeforeAccounts(t, dir, key)

	svc := startService(t, serveConfig(t, dir, "--nats-listen", "127.0.0.1:0"))
	base := "http://" + svc.Addr()
	calltest.AwaitStatus(t, base, undecided, "processed")
	calltest.AwaitStatus(t, base, decided, "processed")
	retry := calltest.PostInvoice(t, base, key, calltest.InvoiceBody)
	if retry.Header.Get("Idempotent-Replayed") != "true" || calltest.Field(t, retry.Body, "id") != decided {
		t.Fatalf("retry of a key used before: %d %v %s, want a replay of invoice %s", retry.Status, retry.Header, retry.Body, decided)
	}
	fresh := calltest.Field(t, calltest.PostInvoice(t, base, "after-accounts", calltest.InvoiceBody).Body, "id")
	calltest.AwaitStatus(t, base, fresh, "processed")

	ctx := context.Background()
	for id, want := range map[string]string{
		undecided: events.Subject(events.DefaultAccount, undecided, events.InvoiceProcessed),
		fresh:     events.Subject(events.DefaultAccount, fresh, events.InvoiceProcessed),
		decided:   "invoices." + decided + ".processed",
	} {
		msg, err := svc.handles.Invoices.GetLastMsgForSubject(ctx, events.InvoiceSubjects(id))
		if err != nil || msg.Subject != want {
			t.Errorf("newest event of %s: %v %v, want it under %s", id, msg, err, want)
		}
	}

	js := jetStreamOf(t, svc)
	segs, err := history.Segments(ctx, js)
	if err != nil || len(segs) != 2 {
		t.Fatalf("segments %v, %v: want the old one sealed and a new one", segs, err)
	}
	if st, err := js.Stream(ctx, segs[0]); err != nil || !st.CachedInfo().Config.Sealed {
		t.Fatalf("segment %s not sealed (%v)", segs[0], err)
	}
	natstest.Eventually(t, 10*time.Second, "the new segment copies both forms", func() bool {
		st, err := js.Stream(ctx, segs[1])
		return err == nil && st.CachedInfo().State.Msgs == 3 // undecided's outcome, fresh's request and outcome
	})

	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(calltest.Call(t, http.MethodGet, base+"/invoices", "").Body, &list); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, inv := range list.Data {
		seen[inv.ID]++
	}
	if len(list.Data) != 3 || seen[decided] != 1 || seen[undecided] != 1 || seen[fresh] != 1 {
		t.Fatalf("listed %v, want each of the three invoices once", seen)
	}
}
