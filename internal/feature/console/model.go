package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// subscription is one subscription as the API shows it, with what its
// page asks of it.
type subscription struct{ client.Subscription }

// Ed25519 reports whether the subscription's webhooks are signed with
// ed25519, which receivers verify with its public keys.
func (s subscription) Ed25519() bool { return s.Signing == client.SigningEd25519 }

// PerInvoice reports whether the subscription gets each invoice's events
// in the order they happened.
func (s subscription) PerInvoice() bool { return s.Ordering == client.OrderingPerInvoice }

// Enabled reports whether the subscription receives events.
func (s subscription) Enabled() bool { return s.Status == client.SubscriptionEnabled }

// FirstType returns the first event type the subscription receives, the
// test event's default.
func (s subscription) FirstType() string {
	if len(s.EventTypes) == 0 {
		return ""
	}
	return string(s.EventTypes[0])
}

// Wants reports whether the subscription receives eventType.
func (s subscription) Wants(eventType string) bool {
	return slices.Contains(s.EventTypes, client.EventType(eventType))
}

// delivery is a delivery as the API shows it, with what the pages ask of
// it.
type delivery struct{ client.Delivery }

// LastStatus describes the newest attempt's answer, or says there is none.
func (d delivery) LastStatus() string {
	if len(d.Attempts) == 0 {
		return "not attempted"
	}
	return httpStatus(d.Attempts[len(d.Attempts)-1].HTTPStatus)
}

// PrettyPayload is the payload indented for reading; empty when the API
// showed none.
func (d delivery) PrettyPayload() string {
	if d.Payload == nil {
		return ""
	}
	out, err := json.MarshalIndent(d.Payload, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(out)
}

// deliveryPage is one page of deliveries.
type deliveryPage struct {
	Data       []delivery
	HasMore    bool
	NextCursor string
}

// deliveryPageOf returns the page p of the API.
func deliveryPageOf(p *client.Page[client.Delivery]) deliveryPage {
	out := deliveryPage{Data: make([]delivery, len(p.Data)), HasMore: p.HasMore, NextCursor: p.NextCursor}
	for i, d := range p.Data {
		out.Data[i] = delivery{d}
	}
	return out
}

// templateFuncs are the helpers the templates use.
var templateFuncs = template.FuncMap{
	"amount":           amount,
	"when":             when,
	"machineTime":      machineTime,
	"short":            short,
	"httpStatus":       httpStatus,
	"outcome":          outcome,
	"slug":             func(s string) string { return strings.ReplaceAll(s, ".", "-") },
	"eventTypes":       func() []string { return webhook.EventTypes },
	"deliveryStatuses": func() []string { return webhook.DeliveryStatuses },
	"invoiceStatuses": func() []events.Status {
		return []events.Status{events.StatusCreated, events.StatusProcessed, events.StatusFailed}
	},
}

// amount shows cents in units with the currency: "25.00 USD".
func amount(cents int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", cents/100, cents%100, currency)
}

// when shows a time to people, in UTC; "—" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// machineTime is a time for a <time datetime> attribute.
func machineTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// short abbreviates an ID to its first 8 characters.
func short(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8]
}

// httpStatus shows an attempt's HTTP status; 0 is no answer at all.
func httpStatus(status int) string {
	if status == 0 {
		return "no answer"
	}
	return fmt.Sprint(status)
}

// outcome classifies an attempt as the service's metrics do: success
// (2xx), failure (another status) or error (no answer).
func outcome(status int) string {
	switch {
	case status >= 200 && status < 300:
		return "success"
	case status != 0:
		return "failure"
	}
	return "error"
}
