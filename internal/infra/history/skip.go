package history

import (
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// Skipped is a stored message a reader passed over: one that does not
// decode, decodes to an invalid or incomplete event or record, or sits on a
// subject that does not parse.
type Skipped struct {
	// Stream is the stream (or a bucket's stream) that holds it, Seq its
	// sequence there and Subject its subject there; for a copy in the
	// history, those of the original.
	Stream  string
	Seq     uint64
	Subject string
	// Err says what is wrong with it.
	Err error
}

// maxErrText bounds the error text a skip logs: a decoding error can quote
// the message, and the log should name a message, not hold it.
const maxErrText = 200

// rememberSkips is how many skipped messages Skips remembers, so one read
// again (a page viewed twice) is neither logged nor counted twice.
const rememberSkips = 4096

// Skips logs and counts the messages one reader passes over, so a
// malformed message costs its readers a log line and a count, never a
// failed read. A nil *Skips logs and counts nothing. Its methods are safe
// for concurrent use.
type Skips struct {
	reader string
	log    *slog.Logger
	n      atomic.Uint64

	mu   sync.Mutex
	seen map[skipKey]bool
	ring []skipKey // the keys of seen, oldest first
}

// skipKey names a stored message.
type skipKey struct {
	stream string
	seq    uint64
}

// NewSkips returns the Skips of the reader named reader, logging to log
// (nil discards).
func NewSkips(reader string, log *slog.Logger) *Skips {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Skips{reader: reader, log: log, seen: map[skipKey]bool{}}
}

// Skip logs m, without its payload, and counts it, unless it is one of the
// last messages skipped. A reader calls it for each message it passes
// over.
func (s *Skips) Skip(m Skipped) {
	if s == nil || !s.first(skipKey{m.Stream, m.Seq}) {
		return
	}
	s.n.Add(1)
	s.log.Warn("stored message skipped: not a valid event or record", "reader", s.reader,
		"stream", m.Stream, "seq", m.Seq, "subject", m.Subject, "err", errText(m.Err))
}

// first remembers k and reports whether it was not remembered before; a
// message without a sequence is always new.
func (s *Skips) first(k skipKey) bool {
	if k.seq == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[k] {
		return false
	}
	if len(s.ring) == rememberSkips {
		delete(s.seen, s.ring[0])
		s.ring = s.ring[1:]
	}
	s.seen[k] = true
	s.ring = append(s.ring, k)
	return true
}

// Count returns how many messages have been skipped.
func (s *Skips) Count() uint64 {
	if s == nil {
		return 0
	}
	return s.n.Load()
}

// errText returns err's text, cut to maxErrText bytes of valid UTF-8.
func errText(err error) string {
	if err == nil {
		return ""
	}
	text := err.Error()
	if len(text) > maxErrText {
		text = text[:maxErrText] + "…"
	}
	return strings.ToValidUTF8(text, "\uFFFD")
}
