package client

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The operational event types: events about the delivery system itself,
// received by the subscriptions that list them, never by default.
const (
	// EventSubscriptionDisabled: the service disabled a subscription of
	// the account (a 410 Gone, or failing too long); its data is a
	// DisabledSubscription. The disabled subscription does not hear it.
	EventSubscriptionDisabled EventType = "subscription.disabled"
	// EventDeliveryDead: a delivery of an invoice event ran out of
	// attempts or was answered 410; its data is a DeadDelivery.
	EventDeliveryDead EventType = "delivery.dead"
	// EventDeliveryRecovered: a failing endpoint of the account succeeded
	// again; its data is a RecoveredSubscription.
	EventDeliveryRecovered EventType = "delivery.recovered"
)

// IsOperational reports whether t is an operational event type, whose
// webhook's data is no invoice.
func (t EventType) IsOperational() bool {
	return slices.Contains([]EventType{EventSubscriptionDisabled, EventDeliveryDead, EventDeliveryRecovered}, t)
}

// DeadDelivery is the data of a delivery.dead webhook.
type DeadDelivery struct {
	ID             string    `json:"id"`
	SubscriptionID string    `json:"subscription_id"`
	EventID        string    `json:"event_id"`
	EventType      EventType `json:"event_type"`
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

// RecoveredSubscription is the data of a delivery.recovered webhook.
type RecoveredSubscription struct {
	SubscriptionID string    `json:"subscription_id"`
	URL            string    `json:"url"`
	FailingSince   time.Time `json:"failing_since"`
}

// OperationalData decodes the data of an operational webhook's body into
// T, the data type its event type names. It fails when body is not such a
// webhook.
func OperationalData[T DeadDelivery | DisabledSubscription | RecoveredSubscription](body []byte) (T, error) {
	var payload struct {
		Type EventType `json:"type"`
		Data T         `json:"data"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		return payload.Data, fmt.Errorf("operational webhook: %w", err)
	}
	if !payload.Type.IsOperational() {
		return payload.Data, fmt.Errorf("operational webhook: %q is an invoice event", payload.Type)
	}
	return payload.Data, nil
}
