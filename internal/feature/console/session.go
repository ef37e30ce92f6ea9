package console

import (
	"crypto/rand"
	"sync"
	"time"
)

// anonymousIdle is how long a session not signed in lasts unused when the
// console requires a login: long enough to fill in the login form.
const anonymousIdle = 15 * time.Minute

// session is one browser's state, kept only in the console's memory; the
// browser holds only its random ID, in a cookie.
type session struct {
	id     string
	apiKey string // the key the API is called with; "" without keys
	authed bool   // signed in, or no login is required
	csrf   string // the token every form of the session carries
	begun  time.Time
	seen   time.Time
	flash  flash // a message for the next page, shown once
}

// flash is a one-time message: Kind is "ok" or "error".
type flash struct {
	Kind string
	Text string
}

// sessionStore keeps sessions by ID in memory.
type sessionStore struct {
	mu       sync.Mutex
	byID     map[string]*session
	idle     time.Duration
	anonIdle time.Duration
	lifetime time.Duration
	max      int
	now      func() time.Time
}

func newSessionStore(cfg Config, now func() time.Time) *sessionStore {
	anon := cfg.SessionIdle
	if cfg.RequireLogin {
		anon = min(anon, anonymousIdle)
	}
	return &sessionStore{
		byID: map[string]*session{}, idle: cfg.SessionIdle, anonIdle: anon,
		lifetime: cfg.SessionLifetime, max: cfg.MaxSessions, now: now,
	}
}

// create starts a session with a new random ID and CSRF token, making room
// when the store is full.
func (s *sessionStore) create(apiKey string, authed bool) session {
	now := s.now()
	sess := &session{id: rand.Text() + rand.Text(), apiKey: apiKey, authed: authed, csrf: rand.Text() + rand.Text(), begun: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.max {
		s.makeRoom(now)
	}
	s.byID[sess.id] = sess
	return *sess
}

// get returns the live session id names and marks it used.
func (s *sessionStore) get(id string) (session, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	if !ok {
		return session{}, false
	}
	if s.expired(sess, now) {
		delete(s.byID, id)
		return session{}, false
	}
	sess.seen = now
	return *sess, true
}

// remove ends a session.
func (s *sessionStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// setFlash leaves a message for the session's next page.
func (s *sessionStore) setFlash(id string, f flash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.byID[id]; ok {
		sess.flash = f
	}
}

// takeFlash returns the session's message and forgets it.
func (s *sessionStore) takeFlash(id string) flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	if !ok {
		return flash{}
	}
	f := sess.flash
	sess.flash = flash{}
	return f
}

// len returns how many sessions are kept.
func (s *sessionStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

func (s *sessionStore) expired(sess *session, now time.Time) bool {
	idle := s.idle
	if !sess.authed {
		idle = s.anonIdle
	}
	return now.Sub(sess.seen) > idle || now.Sub(sess.begun) > s.lifetime
}

// makeRoom drops the expired sessions and, if none was, the least recently
// used one, preferring one that is not signed in. Called with mu held.
func (s *sessionStore) makeRoom(now time.Time) {
	var victim *session
	dropped := false
	for id, sess := range s.byID {
		if s.expired(sess, now) {
			delete(s.byID, id)
			dropped = true
			continue
		}
		if victim == nil || evictBefore(sess, victim) {
			victim = sess
		}
	}
	if !dropped && victim != nil {
		delete(s.byID, victim.id)
	}
}

// evictBefore reports whether a should go before b: sessions not signed in
// first, then the least recently used.
func evictBefore(a, b *session) bool {
	if a.authed != b.authed {
		return !a.authed
	}
	return a.seen.Before(b.seen)
}
