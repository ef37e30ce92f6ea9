package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/replay"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/infra/metrics"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
	"github.com/nats-io/nats.go/jetstream"
)

// publishRaw stores data, which need not be an event, under subject, as
// `nats pub` does, and returns its sequence.
func publishRaw(t testing.TB, svc *Service, subject string, data []byte) uint64 {
	t.Helper()
	js, err := jetstream.New(svc.nc)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(context.Background(), subject, data)
	if err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	return ack.Sequence
}

// skipSeries names the series of invoiced_undecodable_events_total for
// reader.
func skipSeries(reader string) string {
	return `invoiced_undecodable_events_total{reader="` + reader + `"}`
}

// TestAPoisonedEventBreaksNoRead publishes what `nats pub
// invoices.<id>.requested '{"schema":1,"garbage":true}'` stores, and the
// same under invoices.<id>, a subject the history never copies, last on
// INVOICES: every read still answers, and each reader counts and logs
// what it passed over.
func TestAPoisonedEventBreaksNoRead(t *testing.T) {
	logs := &calltest.SyncBuffer{}
	svc, err := Start(context.Background(), serveConfig(t, ""), slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopService(t, svc) })
	base := "http://" + svc.Addr()
	good := calltest.Field(t, calltest.PostInvoice(t, base, "poison-1", calltest.InvoiceBody).Body, "id")
	calltest.AwaitStatus(t, base, good, "processed")

	poisoned := uuid.NewString()
	garbage := []byte(`{"schema":1,"garbage":true}`)
	requested := publishRaw(t, svc, events.Subject(events.DefaultAccount, poisoned, events.InvoiceRequested), garbage)
	uncopied := publishRaw(t, svc, events.SubjectPrefix+"."+poisoned, garbage)

	for _, path := range []string{"/invoices", "/console/invoices", "/readyz", "/invoices/" + good, "/console/invoices/" + good} {
		if a := calltest.Call(t, http.MethodGet, base+path, ""); a.Status != http.StatusOK {
			t.Errorf("GET %s: %d %.300s", path, a.Status, a.Body)
		}
	}
	var list struct {
		Data []struct{ ID string } `json:"data"`
	}
	if a := calltest.Call(t, http.MethodGet, base+"/invoices", ""); json.Unmarshal(a.Body, &list) != nil || len(list.Data) != 1 || list.Data[0].ID != good {
		t.Errorf("GET /invoices: %d %s, want %s alone", a.Status, a.Body, good)
	}
	awaitMetrics(t, base+"/metrics", map[string]float64{
		skipSeries(metrics.ReaderReadModel):  2,
		skipSeries(metrics.ReaderProcessor):  1, // it takes invoices.*.requested
		skipSeries(metrics.ReaderDispatcher): 2, // fan-out takes invoices.>
		skipSeries(metrics.ReaderConsole):    0,
	})
	for _, seq := range []uint64{requested, uncopied} {
		n := 0
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "stored message skipped") && strings.Contains(line, "reader=\"read model\"") &&
				strings.Contains(line, " seq="+strconv.FormatUint(seq, 10)+" ") && strings.Contains(line, " subject=invoices."+poisoned) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("the read model logged INVOICES message %d %d times, want once with its subject:\n%s", seq, n, logs.String())
		}
	}
}

// TestReplayPassesOverWhatIsNotAnEvent stores an unreadable event, settled
// record and subscription where invoiced replay reads, and an uncopied
// message last on INVOICES: the replay re-sends what it can and says what
// it passed over, rather than stopping at the first.
func TestReplayPassesOverWhatIsNotAnEvent(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	recv := calltest.NewReceiver(t)
	sub := calltest.Call(t, http.MethodPost, base+"/webhooks/subscriptions",
		`{"url":"`+recv.URL+`","event_types":["invoice.processed"]}`, "Content-Type", "application/json")
	if sub.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", sub.Status, sub.Body)
	}
	since := time.Now().Add(-time.Second)
	calltest.PostInvoice(t, base, "replay-poison", calltest.InvoiceBody)
	recv.AwaitTotal(t, 1)

	garbage := []byte(`{"schema":1,"garbage":true}`)
	publishRaw(t, svc, events.Subject(events.DefaultAccount, uuid.NewString(), events.InvoiceRequested), garbage)
	done := publishRaw(t, svc, webhook.DoneSubject(calltest.Field(t, sub.Body, "id"), uuid.NewString()), garbage)
	if _, err := svc.handles.Subscriptions.Put(context.Background(), uuid.NewString(), garbage[:9]); err != nil {
		t.Fatal(err)
	}
	publishRaw(t, svc, events.SubjectPrefix+"."+uuid.NewString(), garbage)
	natstest.Eventually(t, 10*time.Second, "the history holds the settled record", func() bool {
		copied, err := history.Copied(context.Background(), svc.js, history.Deliveries)
		return err == nil && copied >= done
	})

	var replayed bytes.Buffer
	if err := replay.Run(context.Background(), svc.js, replay.Options{Since: since}, &replayed, io.Discard); err != nil {
		t.Fatalf("replay: %v", err)
	}
	out := replayed.String()
	if !strings.Contains(out, "3 events") || !strings.Contains(out, "queued 1 webhooks to 1 subscriptions") ||
		!strings.Contains(out, "passed over 3 stored messages") {
		t.Fatalf("replay: %s", out)
	}
	recv.AwaitTotal(t, 2)
}
