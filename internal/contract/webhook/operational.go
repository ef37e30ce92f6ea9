package webhook

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Operational webhook event types: events about the delivery system
// itself, sent to the subscriptions of the account that list them.
const (
	// EventSubscriptionDisabled: a subscription was disabled by the
	// dispatcher (a 410 Gone, or failing too long).
	EventSubscriptionDisabled = "subscription.disabled"
	// EventDeliveryDead: a delivery of an invoice event ran out of
	// attempts, or was answered 410 Gone.
	EventDeliveryDead = "delivery.dead"
	// EventDeliveryRecovered: a failing endpoint succeeded again.
	EventDeliveryRecovered = "delivery.recovered"
)

// OperationalEventTypes lists the operational event types. A subscription
// receives them only when it lists them; none is in its default types.
var OperationalEventTypes = []string{EventSubscriptionDisabled, EventDeliveryDead, EventDeliveryRecovered}

// AllEventTypes lists every event type a subscription may list.
var AllEventTypes = slices.Concat(EventTypes, OperationalEventTypes)

// IsOperational reports whether eventType is an operational event type.
func IsOperational(eventType string) bool { return slices.Contains(OperationalEventTypes, eventType) }

// DeadDelivery is the data of a delivery.dead webhook: the delivery that
// died, without its body.
type DeadDelivery struct {
	ID             string    `json:"id"`
	SubscriptionID string    `json:"subscription_id"`
	EventID        string    `json:"event_id"`
	EventType      string    `json:"event_type"`
	InvoiceID      string    `json:"invoice_id"`
	Reason         string    `json:"reason"`
	Attempts       int       `json:"attempts"`
	CreatedAt      time.Time `json:"created_at"`
}

// DisabledSubscription is the data of a subscription.disabled webhook.
type DisabledSubscription struct {
	ID             string `json:"id"`
	URL            string `json:"url"`
	DisabledReason string `json:"disabled_reason"`
}

// RecoveredSubscription is the data of a delivery.recovered webhook: the
// subscription whose endpoint succeeded again, and since when it had
// failed.
type RecoveredSubscription struct {
	SubscriptionID string    `json:"subscription_id"`
	URL            string    `json:"url"`
	FailingSince   time.Time `json:"failing_since"`
}

// OperationalEventID returns the ID of the operational event of eventType
// about key (a delivery's ID, or a subscription's and the moment of the
// change): the same for the same change, so announcing it again sends it
// once.
func OperationalEventID(eventType, key string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("invoiced:"+eventType+":"+key)).String()
}

// NewOperationalTask returns the task of delivering the operational event
// eventID of eventType, which happened at at in account, with data, to
// subscription subID. It fails only when data cannot be encoded.
func NewOperationalTask(eventID, eventType, account, subID string, at time.Time, data any) (Task, error) {
	body, err := json.Marshal(Payload{Type: eventType, Timestamp: at.UTC(), Data: data})
	if err != nil {
		return Task{}, fmt.Errorf("webhook body: %w", err)
	}
	return Task{DeliveryID: DeliveryID(eventID, subID), Account: account, SubscriptionID: subID, EventID: eventID,
		EventType: eventType, Trigger: TriggerScheduled, Body: body, Attempt: 1}, nil
}
