package api

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
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

// parseLimit reads the limit parameter: default when empty, else 1 to max.
func parseLimit(s string, def, maxLimit int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, invalidField("limit", "must be a whole number from 1 to %d, not %q", maxLimit, s)
	}
	return n, nil
}

// parseStatus reads the status filter.
func parseStatus(s string) (events.Status, error) {
	st := events.Status(s)
	if s != "" && !st.Valid() {
		return "", invalidField("status", "must be %s, %s or %s, not %q",
			events.StatusCreated, events.StatusProcessed, events.StatusFailed, s)
	}
	return st, nil
}

// rfc3339Rule is what a time given in a query or a body must be.
const rfc3339Rule = "must be an RFC 3339 time such as 2006-01-02T15:04:05Z"

// The parameters that bound a list by creation time.
const (
	createdAfterParam  = "created_after"
	createdBeforeParam = "created_before"
)

// parseCreatedRange reads created_after and created_before, the exclusive
// bounds of a list by creation time, and returns them, each the zero time
// when not given. A value that is not an RFC 3339 time, and a
// created_after that is not before created_before, are problems added to
// v.
func parseCreatedRange(q url.Values, v *ValidationError) (after, before time.Time) {
	after, hasAfter := parseTimeParam(q, createdAfterParam, v)
	before, hasBefore := parseTimeParam(q, createdBeforeParam, v)
	if hasAfter && hasBefore && !after.Before(before) {
		v.add(createdBeforeParam, "must be later than %s", createdAfterParam)
	}
	if hasBefore && before.IsZero() {
		// Nothing was created before the zero time, which as a bound
		// would mean none: the next instant keeps the list as empty.
		before = before.Add(time.Nanosecond)
	}
	return after, before
}

// parseTimeParam returns the RFC 3339 time the query parameter name gives,
// and whether it gives a valid one; a value that is not one is a problem
// added to v.
func parseTimeParam(q url.Values, name string, v *ValidationError) (time.Time, bool) {
	if !q.Has(name) {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, q.Get(name))
	if err != nil {
		v.add(name, "%s (a + in its offset sent as %%2B), not %q", rfc3339Rule, q.Get(name))
		return time.Time{}, false
	}
	return t, true
}

// parseIDParam returns the canonical form of the UUID the query parameter
// name gives, "" when it is not given; a value that is not a UUID is a
// problem added to v, which says it must be what.
func parseIDParam(q url.Values, name, what string, v *ValidationError) string {
	if !q.Has(name) {
		return ""
	}
	id, err := uuid.Parse(q.Get(name))
	if err != nil {
		v.add(name, "must be %s, not %q", what, q.Get(name))
		return ""
	}
	return id.String()
}
