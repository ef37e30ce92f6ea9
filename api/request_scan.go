package api

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/invoiced/invoiced/events"
)

// errMalformed marks a body that is not well-formed JSON. The parser only
// detects it; explainMalformed words it.
var errMalformed = errors.New("malformed JSON")

// jsonScanner reads JSON tokens from a body that is known to be valid UTF-8.
// Its grammar is RFC 8259's, as encoding/json's scanner implements it.
type jsonScanner struct {
	data    []byte
	pos     int
	scratch []byte // decoded strings that hold escapes
	// walk is true while the key and null checks of decodeStrict apply.
	// They stop at a number that does not fit a float64, as the token walk
	// of checkKeys stops there; the decoder then always reports a type
	// error at or before that number.
	walk bool
	// tooDeep records arrays and objects nested beyond maxJSONDepth, which
	// encoding/json refuses as malformed only after the key checks.
	tooDeep bool
}

// peek returns the byte at the read position, or 0 at the end.
func (s *jsonScanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// next returns the byte at the read position and moves past it, or returns
// 0 at the end.
func (s *jsonScanner) next() byte {
	if s.pos < len(s.data) {
		s.pos++
		return s.data[s.pos-1]
	}
	return 0
}

// skipSpace moves past JSON whitespace.
func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// skipSpaceAnd moves past whitespace and the byte c, failing when the next
// byte is not c.
func (s *jsonScanner) skipSpaceAnd(c byte) error {
	s.skipSpace()
	if s.next() != c {
		return errMalformed
	}
	return nil
}

// literal moves past lit, one of true, false and null.
func (s *jsonScanner) literal(lit string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(lit)) {
		return errMalformed
	}
	s.pos += len(lit)
	return nil
}

// str reads the string that starts at the read position and returns its
// decoded bytes: a slice of the body when it holds no escape, else of the
// scratch buffer, valid until the next call.
func (s *jsonScanner) str() ([]byte, error) {
	if s.peek() != '"' {
		return nil, errMalformed
	}
	raw, end, plain, ok := events.ScanString(s.data, s.pos)
	if !ok {
		return nil, errMalformed
	}
	s.pos = end
	if plain || bytes.IndexByte(raw, '\\') < 0 { // the body is valid UTF-8
		return raw, nil
	}
	s.scratch = events.AppendUnquoted(s.scratch[:0], raw)
	return s.scratch, nil
}

// number reads the number that starts at the read position and returns its
// literal.
func (s *jsonScanner) number() ([]byte, error) {
	start := s.pos
	if s.peek() == '-' {
		s.pos++
	}
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return nil, errMalformed
	}
	plain := true
	if s.peek() == '.' {
		s.pos++
		if !s.digits() {
			return nil, errMalformed
		}
		plain = false
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if !s.digits() {
			return nil, errMalformed
		}
		plain = false
	}
	lit := s.data[start:s.pos]
	if s.walk && !fitsFloat64(lit, plain) {
		s.walk = false
	}
	return lit, nil
}

// digits moves past a run of decimal digits and reports whether there was
// at least one.
func (s *jsonScanner) digits() bool {
	start := s.pos
	for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}

// fitsFloat64 reports whether the number literal lit is within the range of
// a float64. Without a fraction or exponent, 300 digits always are.
func fitsFloat64(lit []byte, plain bool) bool {
	if plain && len(lit) <= 300 {
		return true
	}
	_, err := strconv.ParseFloat(string(lit), 64)
	return err == nil
}

// parseInt64 converts a number literal as strconv.ParseInt does: it fails
// for a fraction, an exponent or a value beyond int64.
func parseInt64(lit []byte) (int64, bool) {
	digits := lit
	neg := len(lit) > 0 && lit[0] == '-'
	if neg {
		digits = lit[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return -int64(u), true
	case !neg && u <= 1<<63-1:
		return int64(u), true
	}
	return 0, false
}
