package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/tool/loaddriver"
	"github.com/invoiced/invoiced/internal/tool/webhookrecv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Subscriber is a subscription, to invoice.processed and invoice.failed,
// whose deliveries a Receiver takes.
type Subscriber struct {
	ID       string
	Receiver *webhookrecv.Receiver
}

// Target is the service a Check reads.
type Target struct {
	// Base is an API base URL. Required.
	Base string
	// APIKey is sent as a bearer token when set.
	APIKey string
	// NATSURL reaches the NATS server or cluster that holds the streams.
	// Required.
	NATSURL string
	// Subscribers are the subscriptions every invoice must reach.
	Subscribers []Subscriber
	// ExactLog holds the delivery log to every request a receiver saw: no
	// process was killed between an attempt and its record.
	ExactLog bool
	// Faults counts faults injected outside the receivers (killed
	// processes, stopped servers) for the report.
	Faults int
}

// Report is what became of the acknowledged invoices.
type Report struct {
	// Acknowledged is how many invoices got a 201.
	Acknowledged int
	// Lost counts acknowledged invoices missing, or not at the status they
	// must reach, when the service had gone quiet.
	Lost int
	// Duplicated counts invoices requested twice, keys that named two
	// invoices, and invoices with two outcomes.
	Duplicated int
	// Undelivered counts (subscription, invoice) pairs no webhook reached.
	Undelivered int
	// UnstableIDs counts pairs whose webhooks carried a webhook-id other
	// than their event's ID.
	UnstableIDs int
	// LogDisagrees counts pairs whose delivery record does not say what the
	// receiver saw.
	LogDisagrees int
	// Refused counts webhooks whose signature did not verify.
	Refused int
	// Retried counts recorded attempts beyond each delivery's first: the
	// failures the dispatcher saw and retried.
	Retried int
	// FaultsInjected counts the faults of the receivers and of the Target.
	FaultsInjected int
	// Problems describes the first few failures.
	Problems []string
}

// Failed reports whether any promise was broken.
func (r Report) Failed() bool {
	return r.Lost+r.Duplicated+r.Undelivered+r.UnstableIDs+r.LogDisagrees+r.Refused > 0
}

// String returns the report on one line, then its problems.
func (r Report) String() string {
	s := fmt.Sprintf("acknowledged %d, lost %d, duplicated %d, undelivered %d, unstable webhook-ids %d, log disagrees %d, unverified %d, faults injected %d, attempts retried %d",
		r.Acknowledged, r.Lost, r.Duplicated, r.Undelivered, r.UnstableIDs, r.LogDisagrees, r.Refused, r.FaultsInjected, r.Retried)
	if len(r.Problems) > 0 {
		s += "\n  " + strings.Join(r.Problems, "\n  ")
	}
	return s
}

func (r *Report) problem(format string, args ...any) {
	if len(r.Problems) < 20 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Check waits until every acknowledged invoice has reached its status and
// every subscriber has a webhook for it, or until ctx ends, and then checks
// every promise: nothing lost, nothing doubled, one outcome per invoice,
// every webhook at least once with its event's ID as webhook-id, and a
// delivery log that agrees with the receivers. It fails only when the
// service or NATS cannot be read; broken promises are in the Report.
func Check(ctx context.Context, t Target, acks []loaddriver.Ack) (Report, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	api, err := client.New(t.Base, client.WithAPIKey(t.APIKey), client.WithHTTPClient(hc), client.WithUserAgent("invoiced-faults"))
	if err != nil {
		return Report{}, fmt.Errorf("faults: %w", err)
	}
	c := &checker{t: t, api: api}
	c.await(ctx, acks)
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	nc, err := nats.Connect(t.NATSURL, nats.MaxReconnects(-1))
	if err != nil {
		return Report{}, fmt.Errorf("faults: connect %s: %w", t.NATSURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return Report{}, err
	}
	h, err := readHistory(readCtx, js)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Acknowledged: len(acks), FaultsInjected: t.Faults}
	for _, s := range t.Subscribers {
		counts := s.Receiver.Counts()
		rep.Refused += counts.Refused
		rep.FaultsInjected += counts.Injected
	}
	c.duplicates(&rep, h)
	for _, seq := range h.missing {
		rep.Lost++
		rep.problem("the history lacks message %d of %s", seq, events.StreamInvoices)
	}
	for _, a := range acks {
		if err := c.one(readCtx, &rep, h, a); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

type checker struct {
	t   Target
	api *client.Client
}

// await polls until every ack is settled or ctx ends.
func (c *checker) await(ctx context.Context, acks []loaddriver.Ack) {
	pending := append([]loaddriver.Ack(nil), acks...)
	for len(pending) > 0 {
		next := pending[:0]
		for _, a := range pending {
			if !c.settled(ctx, a) {
				next = append(next, a)
			}
		}
		pending = next
		if len(pending) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// settled reports whether a's invoice has its status, and every subscriber
// has a webhook for it and a delivery record that says so.
func (c *checker) settled(ctx context.Context, a loaddriver.Ack) bool {
	eventID := events.EventID(a.ID, events.InvoiceProcessed)
	for _, s := range c.t.Subscribers {
		if len(s.Receiver.Accepted(a.ID)) == 0 {
			return false
		}
		rec, err := c.api.GetDelivery(ctx, webhook.DeliveryID(eventID, s.ID))
		if err != nil || rec.Status != client.DeliveryDelivered {
			return false
		}
	}
	inv, err := c.api.GetInvoice(ctx, a.ID)
	return err == nil && inv.Status == a.Want
}

// duplicates counts invoices requested twice and keys that named two
// invoices.
func (c *checker) duplicates(rep *Report, h history) {
	for id, n := range h.requested {
		if n > 1 {
			rep.Duplicated++
			rep.problem("invoice %s requested %d times", id, n)
		}
	}
	for key, ids := range h.keys {
		if len(ids) > 1 {
			rep.Duplicated++
			rep.problem("key %s named %d invoices: %v", key, len(ids), ids)
		}
	}
}

// one checks one acknowledged invoice.
func (c *checker) one(ctx context.Context, rep *Report, h history, a loaddriver.Ack) error {
	inv, status, err := read(c.api.GetInvoice(ctx, a.ID))
	if err != nil {
		return err
	}
	outs := h.outcomes[a.ID]
	switch {
	case status != http.StatusOK || h.requested[a.ID] == 0:
		rep.Lost++
		rep.problem("invoice %s (key %s): GET answered %d, %d requested events", a.ID, a.Key, status, h.requested[a.ID])
		return nil
	case inv.Status != a.Want || len(outs) == 0:
		rep.Lost++
		rep.problem("invoice %s is %q with %d outcomes, wants %q", a.ID, inv.Status, len(outs), a.Want)
		return nil
	case len(outs) > 1:
		rep.Duplicated++
		rep.problem("invoice %s has %d outcomes", a.ID, len(outs))
	}
	for _, s := range c.t.Subscribers {
		if err := c.delivery(ctx, rep, s, outs[0]); err != nil {
			return err
		}
	}
	return nil
}

// delivery checks what subscriber s received of event ev against its
// delivery record.
func (c *checker) delivery(ctx context.Context, rep *Report, s Subscriber, ev events.Event) error {
	accepted := s.Receiver.Accepted(ev.Invoice.ID)
	if len(accepted) == 0 {
		rep.Undelivered++
		rep.problem("subscription %s never accepted a webhook for invoice %s", s.ID, ev.Invoice.ID)
		return nil
	}
	if len(accepted) > 1 || accepted[ev.ID] == 0 {
		rep.UnstableIDs++
		rep.problem("subscription %s got webhook-ids %v for event %s", s.ID, accepted, ev.ID)
	}
	rec, status, err := read(c.api.GetDelivery(ctx, webhook.DeliveryID(ev.ID, s.ID)))
	if err != nil {
		return err
	}
	seen := s.Receiver.Requests(ev.Invoice.ID, ev.ID)
	rep.Retried += max(len(rec.Attempts)-1, 0)
	switch {
	case status != http.StatusOK || rec.Status != client.DeliveryDelivered:
		rep.LogDisagrees++
		rep.problem("delivery of %s to %s: record answered %d, status %q", ev.ID, s.ID, status, rec.Status)
	case c.t.ExactLog && len(rec.Attempts) < seen:
		rep.LogDisagrees++
		rep.problem("delivery of %s to %s: %d attempts recorded, %d requests received", ev.ID, s.ID, len(rec.Attempts), seen)
	case c.t.ExactLog && !success(rec.Attempts[len(rec.Attempts)-1].HTTPStatus):
		rep.LogDisagrees++
		rep.problem("delivery of %s to %s: delivered, but its last attempt got %d", ev.ID, s.ID, rec.Attempts[len(rec.Attempts)-1].HTTPStatus)
	}
	return nil
}

func success(status int) bool { return status >= 200 && status < 300 }

// read returns what a read of the API returned and its HTTP status, the
// zero T for an error answer; it fails only when the service did not
// answer.
func read[T any](v *T, err error) (T, int, error) {
	var apiErr *client.Error
	switch {
	case err == nil:
		return *v, http.StatusOK, nil
	case errors.As(err, &apiErr):
		var zero T
		return zero, apiErr.Status, nil
	}
	var zero T
	return zero, 0, fmt.Errorf("faults: %w", err)
}
