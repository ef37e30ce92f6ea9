package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SchemaVersion is the version of the event encoding this package writes.
// Decode accepts every version up to and including it.
const SchemaVersion = 1

// Type names what happened to an invoice.
type Type string

// The event types, one per subject kind.
const (
	InvoiceRequested Type = "InvoiceRequested" // accepted by the API
	InvoiceProcessed Type = "InvoiceProcessed" // processed successfully
	InvoiceFailed    Type = "InvoiceFailed"    // refused by the processor
)

// Types lists every event type in the order they can happen.
var Types = []Type{InvoiceRequested, InvoiceProcessed, InvoiceFailed}

func (t Type) token() string {
	switch t {
	case InvoiceRequested:
		return "requested"
	case InvoiceProcessed:
		return "processed"
	case InvoiceFailed:
		return "failed"
	}
	return "unknown"
}

func typeForToken(token string) (Type, bool) {
	for _, t := range Types {
		if t.token() == token {
			return t, true
		}
	}
	return "", false
}

// Status is an invoice's state. It only moves forward: created, then
// processed or failed.
type Status string

// The invoice statuses.
const (
	StatusCreated   Status = "created"
	StatusProcessed Status = "processed"
	StatusFailed    Status = "failed"
)

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	return s == StatusCreated || s == StatusProcessed || s == StatusFailed
}

// Failure reasons carried by InvoiceFailed events.
const (
	// ReasonAmountExceedsLimit: the amount is above the processor's limit.
	ReasonAmountExceedsLimit = "amount_exceeds_limit"
)

// Invoice is an invoice's whole state as of one event.
type Invoice struct {
	ID string `json:"id"`
	// Account owns the invoice; empty on events written before accounts
	// existed (see Event.Account).
	Account       string            `json:"account,omitempty"`
	Status        Status            `json:"status"`
	CustomerID    string            `json:"customer_id"`
	AmountCents   int64             `json:"amount_cents"`
	Currency      string            `json:"currency"`
	Description   string            `json:"description"`
	Metadata      map[string]string `json:"metadata"`
	CreatedAt     time.Time         `json:"created_at"`
	ProcessedAt   *time.Time        `json:"processed_at,omitempty"`
	FailedAt      *time.Time        `json:"failed_at,omitempty"`
	FailureReason string            `json:"failure_reason,omitempty"`
}

// Idempotency records, on an InvoiceRequested event, the request that
// created the invoice: who asked, with which Idempotency-Key, and a hash of
// the canonical request, so a retry can be told from a different request
// that reuses the key.
type Idempotency struct {
	Caller      string `json:"caller"`
	Endpoint    string `json:"endpoint"`
	Key         string `json:"key"`
	RequestHash string `json:"request_hash"`
}

// Event is one fact about one invoice, as stored on the INVOICES stream.
type Event struct {
	Schema      int          `json:"schema"`
	ID          string       `json:"id"`
	Type        Type         `json:"type"`
	Time        time.Time    `json:"time"`
	Invoice     Invoice      `json:"invoice"`
	Idempotency *Idempotency `json:"idempotency,omitempty"`
}

// DefaultAccount owns what no API key names an account for: every invoice
// and subscription of a service without keys, and those stored before
// accounts existed.
const DefaultAccount = "default"

// ValidAccount reports whether name may name an account: 1 to 63 lower-case
// letters, digits, _ and -, starting with a letter or digit, so it fits a
// subject token and a file name.
func ValidAccount(name string) bool {
	if len(name) == 0 || len(name) > 63 || name[0] == '_' || name[0] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// Account returns the account that owns the event's invoice: the one it
// names, else the caller that created it (an API key was its own account
// before accounts existed), else DefaultAccount.
func (e Event) Account() string {
	switch {
	case e.Invoice.Account != "":
		return e.Invoice.Account
	case e.Idempotency != nil && e.Idempotency.Caller != "":
		return e.Idempotency.Caller
	}
	return DefaultAccount
}

// Subject returns the subject the event is published to, which names its
// account.
func (e Event) Subject() string { return Subject(e.Account(), e.Invoice.ID, e.Type) }

// NewRequested returns the InvoiceRequested event for a new invoice. The
// invoice's status is set to created and the event's time and ID are derived
// from the invoice, so building it twice gives the same event.
func NewRequested(inv Invoice, idem Idempotency) Event {
	inv.Status = StatusCreated
	inv.CreatedAt = inv.CreatedAt.UTC()
	return Event{
		Schema:      SchemaVersion,
		ID:          EventID(inv.ID, InvoiceRequested),
		Type:        InvoiceRequested,
		Time:        inv.CreatedAt,
		Invoice:     inv,
		Idempotency: &idem,
	}
}

// NewProcessed returns the InvoiceProcessed event that follows prev,
// processed at the given time.
func NewProcessed(prev Invoice, at time.Time) Event {
	at = at.UTC()
	prev.Status = StatusProcessed
	prev.ProcessedAt = &at
	return outcome(prev, InvoiceProcessed, at)
}

// NewFailed returns the InvoiceFailed event that follows prev, refused at
// the given time for reason.
func NewFailed(prev Invoice, at time.Time, reason string) Event {
	at = at.UTC()
	prev.Status = StatusFailed
	prev.FailedAt = &at
	prev.FailureReason = reason
	return outcome(prev, InvoiceFailed, at)
}

func outcome(inv Invoice, t Type, at time.Time) Event {
	return Event{Schema: SchemaVersion, ID: EventID(inv.ID, t), Type: t, Time: at, Invoice: inv}
}

// Errors returned, wrapped, by Decode.
var (
	ErrMalformed         = errors.New("malformed event")
	ErrUnsupportedSchema = errors.New("unsupported event schema")
)

// Decode parses one event. It fails with ErrMalformed when the data is not a
// complete event, and with ErrUnsupportedSchema when it was written by a
// newer version of the contract.
func Decode(data []byte) (Event, error) {
	e, ok := decodeFast(data)
	if !ok {
		var err error
		if e, err = unmarshal(data); err != nil {
			return Event{}, err
		}
	}
	return validate(e)
}

// unmarshal decodes data with encoding/json, which defines what Decode
// accepts; decodeFast agrees with it on every input it does not give up on.
func unmarshal(data []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

// validate returns e if it is a complete event of a supported schema.
func validate(e Event) (Event, error) {
	if e.Schema < 1 {
		return Event{}, fmt.Errorf("%w: no schema version", ErrMalformed)
	}
	if e.Schema > SchemaVersion {
		return Event{}, fmt.Errorf("%w: version %d", ErrUnsupportedSchema, e.Schema)
	}
	if err := e.check(); err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

// DecodeMsg parses the event stored under subject and checks that the
// subject names the same invoice and type as the event, and the same
// account unless it is of the form before accounts were in subjects. It
// fails like Decode, or with ErrMalformed when subject and event disagree.
func DecodeMsg(subject string, data []byte) (Event, error) {
	at, err := ParseSubject(subject)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	e, err := Decode(data)
	if err != nil {
		return Event{}, err
	}
	if e.Invoice.ID != at.ID || e.Type != at.Type {
		return Event{}, fmt.Errorf("%w: subject %q carries %s of %s", ErrMalformed, subject, e.Type, e.Invoice.ID)
	}
	if at.Account != "" && at.Account != e.Account() {
		return Event{}, fmt.Errorf("%w: subject %q carries an invoice of account %q", ErrMalformed, subject, e.Account())
	}
	return e, nil
}

func (e Event) check() error {
	want, ok := statusAfter[e.Type]
	switch {
	case !ok:
		return fmt.Errorf("unknown type %q", e.Type)
	case e.ID == "":
		return errors.New("no event id")
	case e.Invoice.ID == "":
		return errors.New("no invoice id")
	case e.Invoice.Status != want:
		return fmt.Errorf("%s with status %q", e.Type, e.Invoice.Status)
	case e.Type == InvoiceRequested && e.Idempotency == nil:
		return errors.New("InvoiceRequested without idempotency record")
	case !ValidAccount(e.Account()):
		return fmt.Errorf("invalid account %q", e.Account())
	}
	return nil
}

var statusAfter = map[Type]Status{
	InvoiceRequested: StatusCreated,
	InvoiceProcessed: StatusProcessed,
	InvoiceFailed:    StatusFailed,
}
