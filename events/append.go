package events

import (
	"encoding/json"
	"errors"
)

// AppendString appends s to dst as a JSON string, byte for byte as
// encoding/json writes it: <, > and & escaped, U+2028 and U+2029 escaped,
// each byte of invalid UTF-8 replaced by \ufffd. It is the string encoding of
// every event.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s) }

// ScanString reads the JSON string whose opening quote is at data[pos]. It
// returns the bytes between its quotes, the position after its closing
// quote, and whether those bytes are ASCII without escapes, and so the
// string's value as they are. ok is false where encoding/json's scanner
// fails: on a control character, an unknown or short escape or a missing
// closing quote.
func ScanString(data []byte, pos int) (raw []byte, end int, plain, ok bool) {
	return scanString(data, pos)
}

// AppendUnquoted appends to dst the value of the string whose bytes between
// the quotes ScanString returned as raw, as encoding/json reads it: escapes
// resolved, a surrogate escape without its pair and each byte of invalid
// UTF-8 read as U+FFFD.
func AppendUnquoted(dst, raw []byte) []byte { return appendUnquoted(dst, raw) }

// AppendStringMap appends m to dst as encoding/json writes a
// map[string]string: null when m is nil, otherwise an object with its keys
// in byte order.
func AppendStringMap(dst []byte, m map[string]string) []byte { return appendMetadata(dst, m) }

// AppendInvoice appends inv to dst exactly as json.Marshal(inv) encodes it,
// as events carry it. It fails, as json.Marshal does, for a time that RFC
// 3339 cannot represent.
func AppendInvoice(dst []byte, inv Invoice) ([]byte, error) {
	b, ok := appendInvoice(dst, &inv)
	if ok {
		return b, nil
	}
	if _, err := json.Marshal(inv); err != nil {
		return nil, err
	}
	return nil, errors.New("invoice cannot be encoded")
}
