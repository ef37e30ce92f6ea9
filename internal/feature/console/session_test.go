package console

import (
	"testing"
	"time"
)

// clock is a settable time for the session store.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestStore(max int, requireLogin bool) (*sessionStore, *clock) {
	c := &clock{t: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	cfg := Config{RequireLogin: requireLogin, MaxSessions: max}.withDefaults()
	return newSessionStore(cfg, c.now), c
}

func TestSessionsExpire(t *testing.T) {
	cases := []struct {
		name   string
		authed bool
		pass   []time.Duration // the store's clock moves by each, then the session is read
		alive  bool
	}{
		{"used within the idle time", true, []time.Duration{20 * time.Minute, 20 * time.Minute}, true},
		{"idle too long", true, []time.Duration{31 * time.Minute}, false},
		{"not signed in, idle past the login form's time", false, []time.Duration{16 * time.Minute}, false},
		{"past its lifetime however used", true, repeat(25, 29*time.Minute), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, clk := newTestStore(10, true)
			sess := s.create("key", c.authed)
			alive := true
			for _, d := range c.pass {
				clk.t = clk.t.Add(d)
				if _, alive = s.get(sess.id); !alive {
					break
				}
			}
			if alive != c.alive {
				t.Fatalf("alive %v, want %v", alive, c.alive)
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestFullStoreDropsGuestsFirst(t *testing.T) {
	s, clk := newTestStore(3, true)
	signedIn := s.create("key", true)
	clk.t = clk.t.Add(time.Second)
	guest := s.create("", false)
	clk.t = clk.t.Add(time.Second)
	newer := s.create("key", true)
	clk.t = clk.t.Add(time.Second)
	s.create("key", true) // the store is full: the guest goes, though newer
	for _, c := range []struct {
		name  string
		id    string
		alive bool
	}{{"guest", guest.id, false}, {"oldest signed in", signedIn.id, true}, {"newer", newer.id, true}} {
		if _, ok := s.get(c.id); ok != c.alive {
			t.Errorf("%s: alive %v, want %v", c.name, ok, c.alive)
		}
	}
	if s.len() != 3 {
		t.Fatalf("%d sessions, want 3", s.len())
	}
}

func TestSessionsAreUnguessableAndFlashesShownOnce(t *testing.T) {
	s, _ := newTestStore(10, false)
	a, b := s.create("", true), s.create("", true)
	if a.id == b.id || a.csrf == b.csrf || a.id == a.csrf || len(a.id) < 43 || len(a.csrf) < 43 {
		t.Fatalf("ids %q %q, tokens %q %q", a.id, b.id, a.csrf, b.csrf)
	}
	s.setFlash(a.id, flash{Kind: "ok", Text: "done"})
	if f := s.takeFlash(a.id); f.Text != "done" {
		t.Fatalf("flash %+v", f)
	}
	if f := s.takeFlash(a.id); f != (flash{}) {
		t.Fatalf("flash shown twice: %+v", f)
	}
	s.remove(a.id)
	if _, ok := s.get(a.id); ok {
		t.Fatal("a removed session lives")
	}
}
