package webhook

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/events"
)

// The stream and bucket that carry deliveries.
const (
	// StreamWebhooks holds the delivery tasks: the first under
	// webhooks.<subscription id>.<delivery id>, scheduled retries under
	// ….retry (fired by JetStream from the one pending schedule under
	// ….schedule), manual attempts under ….manual, and settled records
	// under ….done.
	StreamWebhooks = "WEBHOOKS"
	// BucketDeliveries holds the live deliveries, one Delivery per key (its
	// ID): those pending or failing. A settled delivery's record moves to
	// DoneSubject.
	BucketDeliveries = "webhook_deliveries"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // not attempted yet
	DeliveryDelivered = "delivered" // a 2xx answer arrived
	DeliveryFailing   = "failing"   // attempts failed; another is scheduled
	DeliveryDead      = "dead"      // no more attempts: schedule exhausted or subscription gone
)

// DeliveryStatuses lists every delivery status.
var DeliveryStatuses = []string{DeliveryPending, DeliveryDelivered, DeliveryFailing, DeliveryDead}

// Attempt triggers.
const (
	TriggerScheduled = "scheduled"
	TriggerManual    = "manual"
)

// MaxResponseBody is how much of a receiver's answer an attempt keeps.
const MaxResponseBody = 4 << 10

// MaxAttempts bounds the attempts one delivery's log holds, so a record
// stays well inside a message: past it, manual attempts are refused.
const MaxAttempts = 100

// Attempt is one try at a delivery.
type Attempt struct {
	Number        int        `json:"number"`
	Trigger       string     `json:"trigger"`
	StartedAt     time.Time  `json:"started_at"`
	DurationMS    int64      `json:"duration_ms"`
	URL           string     `json:"url"`
	HTTPStatus    int        `json:"http_status"` // 0 on a network error
	Error         string     `json:"error,omitempty"`
	ResponseBody  string     `json:"response_body,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// Delivery is one event to one subscription and every attempt at it, as
// stored in BucketDeliveries.
type Delivery struct {
	ID string `json:"id"`
	// Account owns the delivery: its subscription's. Empty on deliveries
	// made before accounts existed (see Owner).
	Account        string     `json:"account,omitempty"`
	SubscriptionID string     `json:"subscription_id"`
	EventID        string     `json:"event_id"`
	EventType      string     `json:"event_type"`
	InvoiceID      string     `json:"invoice_id"`
	Status         string     `json:"status"`
	Reason         string     `json:"reason,omitempty"`
	Attempts       []Attempt  `json:"attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// Body is the exact webhook body every attempt sends.
	Body json.RawMessage `json:"body"`
}

// Owner returns the account that owns the delivery: the one it names, or
// the default account for a delivery made before accounts existed.
func (d Delivery) Owner() string {
	if d.Account == "" {
		return events.DefaultAccount
	}
	return d.Account
}

// ManualTask returns the task that asks for one attempt at d now. It
// carries d as the asker saw it, so an attempt at a delivery that has left
// the live log starts from its whole record.
func (d Delivery) ManualTask() Task {
	rec := d
	rec.Body = nil // the task carries it once
	return Task{
		DeliveryID: d.ID, Account: d.Account, SubscriptionID: d.SubscriptionID, EventID: d.EventID,
		EventType: d.EventType, InvoiceID: d.InvoiceID, Trigger: TriggerManual, Body: d.Body,
		AttemptsBefore: len(d.Attempts), Record: &rec,
	}
}

// Settled reports whether d will be attempted no more unless asked by
// hand: delivered or dead.
func (d Delivery) Settled() bool {
	return d.Status == DeliveryDelivered || d.Status == DeliveryDead
}

// Version returns d's place among the states of its delivery, as bytes
// that sort later for a later state: more attempts, or as many and a
// further status (pending, failing, then settled), or both equal and a
// later update. A store that keeps only the greatest version ends with the
// same record whatever order the versions arrive in.
func (d Delivery) Version() []byte {
	b := make([]byte, 0, 11)
	b = binary.BigEndian.AppendUint16(b, uint16(min(len(d.Attempts), math.MaxUint16)))
	b = append(b, byte(statusRank(d.Status)))
	updated := max(d.UpdatedAt.Unix(), 0)*1e9 + int64(d.UpdatedAt.Nanosecond())
	return binary.BigEndian.AppendUint64(b, uint64(updated))
}

// Newer reports whether d is a later state of the delivery than o.
func (d Delivery) Newer(o Delivery) bool { return bytes.Compare(d.Version(), o.Version()) > 0 }

func statusRank(status string) int {
	switch status {
	case DeliveryPending:
		return 0
	case DeliveryFailing:
		return 1
	}
	return 2
}

// DoneMsgID returns the Nats-Msg-Id of d's settled record: the same for the
// same settlement, so repeating one stores it once.
func (d Delivery) DoneMsgID() string {
	return fmt.Sprintf("done-%s-%d-%s", d.ID, len(d.Attempts), d.Status)
}

// ManualMsgID returns the Nats-Msg-Id of a manual retry of d: the same for
// requests made before another attempt is recorded, so a double click sends
// one attempt.
func (d Delivery) ManualMsgID() string {
	return fmt.Sprintf("manual-%s-%d", d.ID, len(d.Attempts))
}

// ScheduledAttempts counts the attempts made by the retry schedule, not by
// hand.
func (d Delivery) ScheduledAttempts() int {
	n := 0
	for _, a := range d.Attempts {
		if a.Trigger == TriggerScheduled {
			n++
		}
	}
	return n
}

// DeliveryID returns the ID of the delivery of event eventID to subscription
// subID: derived, so a fan-out repeated after a crash names the same
// delivery.
func DeliveryID(eventID, subID string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("invoiced:delivery:"+eventID+":"+subID)).String()
}

// TaskSubject returns the subject of the task that starts a delivery.
func TaskSubject(subID, deliveryID string) string {
	return "webhooks." + subID + "." + deliveryID
}

// ManualTaskSubject returns the subject of a task that asks for one attempt
// now.
func ManualTaskSubject(subID, deliveryID string) string {
	return TaskSubject(subID, deliveryID) + ".manual"
}

// RetryTaskSubject returns the subject a scheduled retry of the delivery
// is fired to.
func RetryTaskSubject(subID, deliveryID string) string {
	return TaskSubject(subID, deliveryID) + ".retry"
}

// ScheduleSubject returns the subject of the delivery's pending retry
// schedule; a new schedule replaces the old one (a subject rollup).
func ScheduleSubject(subID, deliveryID string) string {
	return TaskSubject(subID, deliveryID) + ".schedule"
}

// DoneSubject returns the subject of the delivery's settled record: once a
// delivery is delivered or dead, its record leaves the bucket of live
// records and is stored here, where the history copies it from.
func DoneSubject(subID, deliveryID string) string {
	return TaskSubject(subID, deliveryID) + ".done"
}

// AllTasks matches every subject of the WEBHOOKS stream.
const AllTasks = "webhooks.>"

// FirstTasks matches every delivery's first task, the one fan-out
// publishes.
const FirstTasks = "webhooks.*.*"

// TaskFilters match the subjects a delivery worker consumes: first tasks,
// fired retries and manual attempts, not the pending schedules.
var TaskFilters = []string{FirstTasks, "webhooks.*.*.retry", "webhooks.*.*.manual"}

// AllDone matches every settled record.
const AllDone = "webhooks.*.*.done"

// Task is the message that asks for a delivery attempt. Body is the exact
// webhook body, fixed when the event is fanned out, so every attempt sends
// the same bytes under the same webhook-id.
type Task struct {
	DeliveryID string `json:"delivery_id"`
	// Account owns the delivery: the invoice's, its subscription's.
	Account        string          `json:"account,omitempty"`
	SubscriptionID string          `json:"subscription_id"`
	EventID        string          `json:"event_id"`
	EventType      string          `json:"event_type"`
	InvoiceID      string          `json:"invoice_id"`
	Trigger        string          `json:"trigger"`
	Body           json.RawMessage `json:"body"`
	// AttemptsBefore is, on a manual task, how many attempts the delivery
	// had when it was asked for: one made since answers it.
	AttemptsBefore int `json:"attempts_before,omitempty"`
	// Attempt is, on a scheduled task, which scheduled attempt it asks for
	// (1 for the first): a task for an attempt already made is stale.
	Attempt int `json:"attempt,omitempty"`
	// Record is, on a manual task, the delivery as the asker saw it,
	// without its body.
	Record *Delivery `json:"record,omitempty"`
	// HeldBy is, on a task put off to keep its invoice's events in order,
	// the delivery it waits for; Holds counts how often it was put off.
	HeldBy string `json:"held_by,omitempty"`
	Holds  int    `json:"holds,omitempty"`
	// AcceptedAt is when the invoice was accepted, on a first task of a
	// real event: its first success tells how long delivery took.
	AcceptedAt time.Time `json:"accepted_at,omitzero"`
}

// Payload is a webhook body: {"type", "timestamp", "data"}, and "test":
// true on a made-up event sent to test a subscription, never on a real one.
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
	Test      bool      `json:"test,omitempty"`
}

// Kinds of task subject: a delivery's first task, a retry fired from its
// schedule, a manual attempt.
const (
	TaskFirst  = ""
	TaskRetry  = "retry"
	TaskManual = "manual"
)

// ParseTaskSubject returns the subscription and delivery IDs of a task
// subject and its kind. It fails for any other subject.
func ParseTaskSubject(subject string) (subID, deliveryID, kind string, err error) {
	parts := strings.Split(subject, ".")
	switch {
	case len(parts) == 3 && parts[0] == "webhooks":
	case len(parts) == 4 && parts[0] == "webhooks" && (parts[3] == TaskRetry || parts[3] == TaskManual):
		kind = parts[3]
	default:
		return "", "", "", fmt.Errorf("not a webhook task subject: %q", subject)
	}
	return parts[1], parts[2], kind, nil
}

// NewTask returns the task of delivering ev, announced as eventType, to
// subscription subID. The body's data is the invoice exactly as the API
// shows it. It fails only when the invoice cannot be encoded.
func NewTask(ev events.Event, eventType, subID string) (Task, error) {
	return newTask(ev, eventType, subID, false)
}

// NewTestTask is NewTask for ev, a made-up event sent to test subscription
// subID: its body says "test": true.
func NewTestTask(ev events.Event, eventType, subID string) (Task, error) {
	return newTask(ev, eventType, subID, true)
}

func newTask(ev events.Event, eventType, subID string, test bool) (Task, error) {
	inv := ev.Invoice
	if inv.Metadata == nil {
		inv.Metadata = map[string]string{}
	}
	body, err := json.Marshal(Payload{Type: eventType, Timestamp: ev.Time, Data: inv, Test: test})
	if err != nil {
		return Task{}, fmt.Errorf("webhook body: %w", err)
	}
	task := Task{
		DeliveryID: DeliveryID(ev.ID, subID), Account: ev.Account(), SubscriptionID: subID, EventID: ev.ID,
		EventType: eventType, InvoiceID: ev.Invoice.ID, Trigger: TriggerScheduled, Body: body, Attempt: 1,
	}
	if !test {
		task.AcceptedAt = inv.CreatedAt
	}
	return task, nil
}
