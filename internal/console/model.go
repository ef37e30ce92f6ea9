package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/webhook"
)

// invoicePage is one page of GET /invoices.
type invoicePage struct {
	Data       []events.Invoice `json:"data"`
	HasMore    bool             `json:"has_more"`
	NextCursor string           `json:"next_cursor"`
}

// subscription is a subscription as the API shows it; Secret only when
// just made or rotated.
type subscription struct {
	ID             string    `json:"id"`
	URL            string    `json:"url"`
	EventTypes     []string  `json:"event_types"`
	Description    string    `json:"description"`
	Status         string    `json:"status"`
	DisabledReason string    `json:"disabled_reason"`
	Secret         string    `json:"secret"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Enabled reports whether the subscription receives events.
func (s subscription) Enabled() bool { return s.Status == webhook.StatusEnabled }

// FirstType returns the first event type the subscription receives, the
// test event's default.
func (s subscription) FirstType() string {
	if len(s.EventTypes) == 0 {
		return ""
	}
	return s.EventTypes[0]
}

// Wants reports whether the subscription receives eventType.
func (s subscription) Wants(eventType string) bool { return slices.Contains(s.EventTypes, eventType) }

// subscriptionList is GET /webhooks/subscriptions.
type subscriptionList struct {
	Data []subscription `json:"data"`
}

// delivery is a delivery as the API shows it.
type delivery struct {
	ID             string            `json:"id"`
	SubscriptionID string            `json:"subscription_id"`
	EventID        string            `json:"event_id"`
	EventType      string            `json:"event_type"`
	InvoiceID      string            `json:"invoice_id"`
	Status         string            `json:"status"`
	Reason         string            `json:"reason"`
	Attempts       []webhook.Attempt `json:"attempts"`
	NextAttemptAt  *time.Time        `json:"next_attempt_at"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	Payload        json.RawMessage   `json:"payload"`
}

// LastStatus describes the newest attempt's answer, or says there is none.
func (d delivery) LastStatus() string {
	if len(d.Attempts) == 0 {
		return "not attempted"
	}
	return httpStatus(d.Attempts[len(d.Attempts)-1].HTTPStatus)
}

// PrettyPayload is the payload indented for reading.
func (d delivery) PrettyPayload() string {
	var out bytes.Buffer
	if json.Indent(&out, d.Payload, "", "  ") != nil {
		return string(d.Payload)
	}
	return out.String()
}

// deliveryPage is one page of GET /webhooks/deliveries.
type deliveryPage struct {
	Data       []delivery `json:"data"`
	HasMore    bool       `json:"has_more"`
	NextCursor string     `json:"next_cursor"`
}

// recovered is POST /webhooks/subscriptions/{id}/recover's answer.
type recovered struct {
	Recovered int `json:"recovered"`
}

// templateFuncs are the helpers the templates use.
var templateFuncs = template.FuncMap{
	"amount":           amount,
	"when":             when,
	"whenPtr":          whenPtr,
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

func whenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return when(*t)
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
