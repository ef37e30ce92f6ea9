package events

import "math"

// decoder reads JSON values from data, refusing every input the JSON
// scanner of encoding/json refuses and, so that what it accepts needs no
// second opinion, many it does not.
type decoder struct {
	data []byte
	pos  int // next byte to read
}

// space skips JSON whitespace.
func (d *decoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// at reports whether the next byte is c.
func (d *decoder) at(c byte) bool {
	return d.pos < len(d.data) && d.data[d.pos] == c
}

// null consumes the literal null if it is next and reports whether it was.
func (d *decoder) null() bool {
	if len(d.data)-d.pos >= 4 && string(d.data[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

// object consumes an object of a struct, calling member with each key and
// the decoder at the key's value. It reports false when the object is
// malformed, a key holds an escape or a non-ASCII byte, or member does.
func (d *decoder) object(member func(key []byte) bool) bool {
	return d.members(func(raw []byte, plain bool) bool {
		return plain && member(raw)
	})
}

// objectAnyKeys consumes an object of a map, calling member with each
// unquoted key and the decoder at the key's value. It reports false when the
// object is malformed or member does.
func (d *decoder) objectAnyKeys(member func(key string) bool) bool {
	return d.members(func(raw []byte, plain bool) bool {
		return member(text(raw, plain))
	})
}

// members consumes an object, calling member with each key as stringToken
// returns it and the decoder at the key's value.
func (d *decoder) members(member func(raw []byte, plain bool) bool) bool {
	if !d.at('{') {
		return false
	}
	d.pos++
	d.space()
	if d.at('}') {
		d.pos++
		return true
	}
	for {
		if !d.at('"') {
			return false
		}
		raw, plain, ok := d.stringToken()
		d.space()
		if !ok || !d.at(':') {
			return false
		}
		d.pos++
		d.space()
		if !member(raw, plain) {
			return false
		}
		d.space()
		switch {
		case d.at(','):
			d.pos++
			d.space()
		case d.at('}'):
			d.pos++
			return true
		default:
			return false
		}
	}
}

// str decodes a string into *dst. Null leaves *dst as it is, as
// encoding/json leaves a string.
func (d *decoder) str(dst *string) bool { return d.stringWith(dst, text) }

// name decodes a string like str, sharing the memory of the event type and
// status names instead of allocating a copy of them.
func (d *decoder) name(dst *string) bool { return d.stringWith(dst, intern) }

// stringWith decodes a string into *dst with value, which turns the bytes
// stringToken returns into the string's value. Null leaves *dst as it is.
func (d *decoder) stringWith(dst *string, value func(raw []byte, plain bool) string) bool {
	if d.null() {
		return true
	}
	if !d.at('"') {
		return false
	}
	raw, plain, ok := d.stringToken()
	if ok {
		*dst = value(raw, plain)
	}
	return ok
}

// intern returns text(raw, plain), as the constant of that value when it is
// an event type or an invoice status.
func intern(raw []byte, plain bool) string {
	switch string(raw) {
	case string(InvoiceRequested):
		return string(InvoiceRequested)
	case string(InvoiceProcessed):
		return string(InvoiceProcessed)
	case string(InvoiceFailed):
		return string(InvoiceFailed)
	case string(StatusCreated):
		return string(StatusCreated)
	case string(StatusProcessed):
		return string(StatusProcessed)
	case string(StatusFailed):
		return string(StatusFailed)
	}
	return text(raw, plain)
}

// int decodes an integer into *dst like int64.
func (d *decoder) int(dst *int) bool {
	n := int64(*dst)
	if !d.int64(&n) || int64(int(n)) != n {
		return false
	}
	*dst = int(n)
	return true
}

// int64 decodes an integer into *dst. Null leaves *dst as it is. It
// reports false for an integer beyond int64, which encoding/json refuses
// too; a fraction or an exponent, which it refuses for an integer field,
// stops the value where the caller expects a comma or a brace.
func (d *decoder) int64(dst *int64) bool {
	if d.null() {
		return true
	}
	i := d.pos
	neg := d.at('-')
	if neg {
		i++
	}
	start := i
	var n uint64
	for ; i < len(d.data) && '0' <= d.data[i] && d.data[i] <= '9'; i++ {
		n = n*10 + uint64(d.data[i]-'0')
	}
	digits := i - start
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if digits == 0 || digits > 19 || n > limit || (digits > 1 && d.data[start] == '0') {
		return false
	}
	d.pos = i
	*dst = int64(n)
	if neg {
		*dst = -*dst
	}
	return true
}
