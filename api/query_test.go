package api

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

// FuzzQueryValues checks queryValues against url.ParseQuery: it refuses,
// as a 400 problem, every raw query that does not parse, and otherwise
// returns exactly what parses when every name is known and given once.
func FuzzQueryValues(f *testing.F) {
	for _, seed := range []string{
		"", "a=1", "a=1&b=2", "a=1&a=2", "a=1;b=2", "a=%zz", "%zz=1", "a=1%2", "=1", "a", "a=&b=",
		"c=1", "a=1&&b=2", "a=%2B%20+x", "a=1&c", "%61=1&a=2", "a=\x00", "a=\xff",
	} {
		f.Add(seed)
	}
	known := []string{"a", "b"}
	f.Fuzz(func(t *testing.T, raw string) {
		r := &http.Request{URL: &url.URL{RawQuery: raw}}
		got, err := queryValues(r, known...)
		want, parseErr := url.ParseQuery(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("queryValues(%q) = %v, not ErrInvalid", raw, err)
			}
			if p := problemFor(err); p.Status != http.StatusBadRequest || (p.Errors != nil && p.Field == "") {
				t.Fatalf("queryValues(%q) answers %+v", raw, p)
			}
			if parseErr == nil && acceptable(want, known) {
				t.Fatalf("queryValues(%q) refuses a query of known names given once: %v", raw, err)
			}
			return
		}
		if parseErr != nil {
			t.Fatalf("queryValues(%q) accepts a query url.ParseQuery refuses: %v", raw, parseErr)
		}
		if !acceptable(got, known) || len(got) != len(want) {
			t.Fatalf("queryValues(%q) = %v, ParseQuery %v", raw, got, want)
		}
		for name, vals := range want {
			if got.Get(name) != vals[0] {
				t.Fatalf("queryValues(%q)[%q] = %q, want %q", raw, name, got.Get(name), vals[0])
			}
		}
	})
}

// acceptable reports whether q names only known parameters, each once.
func acceptable(q url.Values, known []string) bool {
	for name, vals := range q {
		if len(vals) != 1 || (name != known[0] && name != known[1]) {
			return false
		}
	}
	return true
}
