package listen

import (
	"sync"
	"time"
)

// maxSeen is how many webhook-ids the relay remembers, so that a webhook
// delivered again, or an event replayed after a gap, is handled once.
const maxSeen = 10_000

// catchUpMargin is how far before the newest event handled a replay
// starts listing, for the clocks of the service's instances.
const catchUpMargin = time.Minute

// seen is what the relay handled: the webhook-ids of the latest events
// (a bounded set, the oldest forgotten first) and when the newest of them
// happened. It is safe for concurrent use.
type seen struct {
	mu     sync.Mutex
	ids    map[string]bool // true once handled, false while being handled
	ring   []string        // the ids in the order they were claimed
	next   int             // the slot of ring the next id takes
	newest time.Time       // when the newest event handled happened, or the relay started
}

// newSeen returns an empty set of at most size ids for a relay that
// started listening at start.
func newSeen(size int, start time.Time) *seen {
	return &seen{ids: make(map[string]bool, size), ring: make([]string, size), newest: start}
}

// claim marks id as being handled and reports true, unless it was handled
// or is being handled already: then it reports false.
func (s *seen) claim(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.ids, old)
	}
	s.ring[s.next], s.next = id, (s.next+1)%len(s.ring)
	s.ids[id] = false
	return true
}

// release forgets id, claimed but not handled, so that a later delivery
// or replay of it is handled.
func (s *seen) release(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if handled, ok := s.ids[id]; ok && !handled {
		delete(s.ids, id)
	}
}

// done records id, claimed, as handled, of an event that happened at at.
func (s *seen) done(id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		s.ids[id] = true
	}
	if at.After(s.newest) {
		s.newest = at
	}
}

// has reports whether id is handled or being handled.
func (s *seen) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

// since returns when a replay starts listing: catchUpMargin before the
// newest event handled, or before the relay started when it handled none.
func (s *seen) since() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newest.Add(-catchUpMargin)
}
