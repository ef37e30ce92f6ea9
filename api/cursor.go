package api

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/invoiced/invoiced/internal/feature/readmodel"
)

// The prefixes that version each list's opaque cursor; they differ, so no
// list takes another's cursor.
const (
	cursorPrefix             = "v1." // invoices: a stream sequence
	deliveryCursorPrefix     = "d1." // deliveries: a creation time and an ID
	subscriptionCursorPrefix = "s1." // subscriptions: a creation time and an ID
	eventCursorPrefix        = "e1." // events: a stream sequence and a kind
)

// encodeCursor makes the opaque cursor that continues a list before the
// invoice requested at stream sequence seq.
func encodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(seq, 10)))
}

// decodeCursor reverses encodeCursor; it fails with ErrInvalid for anything
// it did not make.
func decodeCursor(c string) (uint64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if digits, ok := strings.CutPrefix(string(raw), cursorPrefix); ok {
			if seq, err := strconv.ParseUint(digits, 10, 64); err == nil && seq > 0 {
				return seq, nil
			}
		}
	}
	return 0, invalidCursor()
}

// encodeTimeCursor makes the opaque cursor, versioned by prefix, that
// continues a list ordered newest first by creation time and then ID after
// the item created at at with ID id.
func encodeTimeCursor(prefix string, at time.Time, id string) string {
	raw := prefix + strconv.FormatInt(at.UnixNano(), 10) + "." + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeTimeCursor reverses encodeTimeCursor with the same prefix. It
// fails with ErrInvalid, naming the cursor, for anything it did not make.
func decodeTimeCursor(prefix, s string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(raw), prefix); ok {
			digits, id, _ := strings.Cut(rest, ".")
			if n, err := strconv.ParseInt(digits, 10, 64); err == nil && id != "" {
				return time.Unix(0, n).UTC(), id, nil
			}
		}
	}
	return time.Time{}, "", invalidCursor()
}

// encodeEventCursor makes the opaque cursor that continues a list of events
// before position p.
func encodeEventCursor(p readmodel.EventPos) string {
	raw := eventCursorPrefix + strconv.FormatUint(p.Seq, 10) + "." + strconv.Itoa(p.Kind)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeEventCursor reverses encodeEventCursor; it fails with ErrInvalid
// for anything it did not make.
func decodeEventCursor(c string) (readmodel.EventPos, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(raw), eventCursorPrefix); ok {
			seq, kind, _ := strings.Cut(rest, ".")
			s, err1 := strconv.ParseUint(seq, 10, 64)
			k, err2 := strconv.Atoi(kind)
			if err1 == nil && err2 == nil && s > 0 && (k == 0 || k == 1) {
				return readmodel.EventPos{Seq: s, Kind: k}, nil
			}
		}
	}
	return readmodel.EventPos{}, invalidCursor()
}

// invalidCursor returns the ValidationError for a cursor that this list did
// not return.
func invalidCursor() error { return invalidField("cursor", "is not a cursor this API returned") }
