package events

import "time"

// decodeFast decodes data as json.Unmarshal into a zero Event does, for the
// inputs it can vouch for: one object whose keys are the JSON field names
// exactly, unescaped and each at most once, holding strings, integers, null
// and objects where the fields take them, with any whitespace. For anything
// else (unknown, case-folded or escaped keys, repeated keys, values of the
// wrong kind, fractions or exponents, malformed JSON) it reports false and
// leaves the verdict to json.Unmarshal.
func decodeFast(data []byte) (Event, bool) {
	d := decoder{data: data}
	var e Event
	d.space()
	if !d.event(&e) {
		return Event{}, false
	}
	d.space()
	if d.pos != len(d.data) {
		return Event{}, false
	}
	return e, true
}

// fieldSet records which keys of one object have been read, one bit per
// field.
type fieldSet uint16

// first marks field i as read and reports whether it was not before.
func (s *fieldSet) first(i uint) bool {
	bit := fieldSet(1) << i
	if *s&bit != 0 {
		return false
	}
	*s |= bit
	return true
}

// event decodes the top-level object into e.
func (d *decoder) event(e *Event) bool {
	var seen fieldSet
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "schema":
			return seen.first(0) && d.int(&e.Schema)
		case "id":
			return seen.first(1) && d.str(&e.ID)
		case "type":
			return seen.first(2) && d.name((*string)(&e.Type))
		case "time":
			return seen.first(3) && d.time(&e.Time)
		case "invoice":
			return seen.first(4) && d.invoice(&e.Invoice)
		case "idempotency":
			return seen.first(5) && d.idempotency(&e.Idempotency)
		}
		return false
	})
}

// invoice decodes an object into inv, or null leaving it as it is.
func (d *decoder) invoice(inv *Invoice) bool {
	if d.null() {
		return true
	}
	var seen fieldSet
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			return seen.first(0) && d.str(&inv.ID)
		case "status":
			return seen.first(1) && d.name((*string)(&inv.Status))
		case "customer_id":
			return seen.first(2) && d.str(&inv.CustomerID)
		case "amount_cents":
			return seen.first(3) && d.int64(&inv.AmountCents)
		case "currency":
			return seen.first(4) && d.str(&inv.Currency)
		case "description":
			return seen.first(5) && d.str(&inv.Description)
		case "metadata":
			return seen.first(6) && d.metadata(&inv.Metadata)
		case "created_at":
			return seen.first(7) && d.time(&inv.CreatedAt)
		case "processed_at":
			return seen.first(8) && d.timePtr(&inv.ProcessedAt)
		case "failed_at":
			return seen.first(9) && d.timePtr(&inv.FailedAt)
		case "failure_reason":
			return seen.first(10) && d.str(&inv.FailureReason)
		case "account":
			return seen.first(11) && d.str(&inv.Account)
		}
		return false
	})
}

// idempotency decodes an object into a new Idempotency, or null into nil.
func (d *decoder) idempotency(dst **Idempotency) bool {
	if d.null() {
		*dst = nil
		return true
	}
	idem := new(Idempotency)
	*dst = idem
	var seen fieldSet
	return d.object(func(key []byte) bool {
		switch string(key) {
		case "caller":
			return seen.first(0) && d.str(&idem.Caller)
		case "endpoint":
			return seen.first(1) && d.str(&idem.Endpoint)
		case "key":
			return seen.first(2) && d.str(&idem.Key)
		case "request_hash":
			return seen.first(3) && d.str(&idem.RequestHash)
		}
		return false
	})
}

// metadata decodes an object of strings into a new map, the last of
// repeated keys winning and null values read as "", or null into nil.
func (d *decoder) metadata(dst *map[string]string) bool {
	if d.null() {
		*dst = nil
		return true
	}
	if !d.at('{') {
		return false
	}
	m := make(map[string]string)
	*dst = m
	return d.objectAnyKeys(func(key string) bool {
		var v string
		if !d.str(&v) {
			return false
		}
		m[key] = v
		return true
	})
}

// time decodes a string with time.Time.UnmarshalJSON, handing it the raw
// quoted bytes as encoding/json does. Null leaves *dst as it is.
func (d *decoder) time(dst *time.Time) bool {
	if d.null() {
		return true
	}
	start := d.pos
	if !d.at('"') {
		return false
	}
	if _, _, ok := d.stringToken(); !ok {
		return false
	}
	return dst.UnmarshalJSON(d.data[start:d.pos]) == nil
}

// timePtr decodes a time into a new time.Time, or null into nil.
func (d *decoder) timePtr(dst **time.Time) bool {
	if d.null() {
		*dst = nil
		return true
	}
	t := new(time.Time)
	*dst = t
	return d.time(t)
}
