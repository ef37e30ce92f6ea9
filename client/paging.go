package client

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Page is one page of a list, newest first.
type Page[T any] struct {
	// Data holds the page's items.
	Data []T `json:"data"`
	// HasMore is true when another page follows.
	HasMore bool `json:"has_more"`
	// NextCursor, set exactly when HasMore is, asks for the next page when
	// passed back as the list parameters' Cursor.
	NextCursor string `json:"next_cursor,omitempty"`
}

// listQuery holds the query parameters every paged list takes.
type listQuery struct {
	limit  int
	cursor string
}

// set adds the paging parameters to q.
func (l listQuery) set(q url.Values) {
	if l.limit > 0 {
		q.Set("limit", strconv.Itoa(l.limit))
	}
	if l.cursor != "" {
		q.Set("cursor", l.cursor)
	}
}

// setIf adds name=value to q when value is not empty.
func setIf(q url.Values, name, value string) {
	if value != "" {
		q.Set(name, value)
	}
}

// setTimeIf sets name to t in RFC 3339 with nanoseconds, unless t is zero.
func setTimeIf(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
}

// getPage fetches the page of path that q names.
func getPage[T any](ctx context.Context, c *Client, path string, q url.Values, opts []CallOption) (*Page[T], error) {
	var p Page[T]
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q, safe: true}, newCallConfig(opts), &p); err != nil {
		return nil, err
	}
	if p.HasMore && p.NextCursor == "" {
		return nil, fmt.Errorf("invoiced: GET %s: the answer has more but no next_cursor", path)
	}
	return &p, nil
}

// listAll returns an iterator over every item of path from the page q
// names on, fetching each page as the one before is used up. An error ends
// it, yielded with the zero T.
func listAll[T any](ctx context.Context, c *Client, path string, q url.Values, opts []CallOption) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		q := cloneValues(q)
		for {
			p, err := getPage[T](ctx, c, path, q, opts)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Data {
				if !yield(item, nil) {
					return
				}
			}
			if !p.HasMore {
				return
			}
			if p.NextCursor == q.Get("cursor") {
				var zero T
				yield(zero, fmt.Errorf("invoiced: GET %s: the next page's cursor is this page's", path))
				return
			}
			q.Set("cursor", p.NextCursor)
		}
	}
}

// cloneValues copies q, so that an iterator can run more than once.
func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
