package api

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/invoiced/invoiced/events"
)

// queryValues returns the parameters of r's query string, each given once.
// It fails with ErrInvalid when the raw query does not parse (a ";"
// separator, a bad "%" escape), or names a parameter without a name, one
// not in known, or one twice: r.URL.Query would drop what does not parse
// and keep the first of repeated values, so a list would quietly answer
// another question than the one asked.
func queryValues(r *http.Request, known ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: the query string does not parse: %w", ErrInvalid, err)
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		switch {
		case name == "":
			return nil, fmt.Errorf("%w: a query parameter has no name", ErrInvalid)
		case !slices.Contains(known, name):
			return nil, invalidField(name, "unknown query parameter")
		case len(q[name]) > 1:
			return nil, invalidField(name, "must be given once")
		}
	}
	return q, nil
}

// listedAccount returns the account a list is narrowed to: the caller's
// own, or for an operator the one the account parameter names, "" for
// every account. A caller who is not an operator naming another account is
// a problem added to v.
func listedAccount(q url.Values, c Caller, v *ValidationError) string {
	name, named := q.Get("account"), q.Has("account")
	switch {
	case named && !events.ValidAccount(name):
		v.add("account", "must be 1 to 63 lower-case letters, digits, _ and -")
	case named && !c.Sees(name):
		v.add("account", "only an operator key may list another account's")
	case named:
		return name
	case c.Operator:
		return ""
	}
	return c.Account
}
