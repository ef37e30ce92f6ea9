package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

type subscriptionPage struct {
	Data       []subscription `json:"data"`
	HasMore    bool           `json:"has_more"`
	NextCursor string         `json:"next_cursor"`
}

// subscriptionPages walks GET /webhooks/subscriptions limit at a time,
// calling between each page and the next what is given, and returns the
// IDs in the order listed.
func (e *env) subscriptionPages(t testing.TB, limit int, between ...func()) []string {
	t.Helper()
	var ids []string
	for cursor := ""; ; {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := e.do(t, http.MethodGet, "/webhooks/subscriptions?"+q.Encode(), nil)
		var p subscriptionPage
		r.json(t, &p)
		if r.status != http.StatusOK || p.HasMore != (p.NextCursor != "") || len(p.Data) > limit {
			t.Fatalf("page: %d %s", r.status, r.body)
		}
		for _, s := range p.Data {
			ids = append(ids, s.ID)
		}
		if !p.HasMore {
			return ids
		}
		for _, fn := range between {
			fn()
		}
		cursor = p.NextCursor
	}
}

// putSubscription stores s as the API does, its secret sealed.
func (e *env) putSubscription(t testing.TB, s webhook.Subscription) {
	t.Helper()
	data, err := webhook.EncodeSubscription(s, e.secrets)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.subs.Create(context.Background(), s.ID, data); err != nil {
		t.Fatal(err)
	}
}

// TestSubscriptionPagesAreStableUnderConcurrentCreates pages through the
// subscriptions a few at a time while others are created: every one that
// existed before is listed once, newest first, subscriptions created at
// the same instant in order of their IDs, and none twice.
func TestSubscriptionPagesAreStableUnderConcurrentCreates(t *testing.T) {
	e := newEnv(t, envOptions{})
	same := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
	var before []webhook.Subscription
	for i := range 12 {
		created := same
		if i%3 == 0 {
			created = same.Add(-time.Duration(i) * time.Second)
		}
		s := webhook.Subscription{ID: uuid.NewString(), URL: "https://example.com/hook", EventTypes: webhook.EventTypes,
			Status: webhook.StatusEnabled, Secrets: []webhook.Secret{{Value: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: created}},
			CreatedAt: created, UpdatedAt: created}
		e.putSubscription(t, s)
		before = append(before, s)
	}
	for range 5 {
		s := e.subscribe(t, `{"url":"https://example.com/hook"}`)
		before = append(before, e.stored(t, s.ID))
	}
	slices.SortFunc(before, func(a, b webhook.Subscription) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	want := make([]string, len(before))
	for i, s := range before {
		want[i] = s.ID
	}
	if got := e.subscriptionPages(t, 100); !slices.Equal(got, want) {
		t.Fatalf("one page: %v\nwant %v", got, want)
	}

	create := func() {
		r := e.do(t, http.MethodPost, "/webhooks/subscriptions", []byte(`{"url":"https://example.com/late"}`), "Content-Type", "application/json")
		if r.status != http.StatusCreated {
			t.Errorf("a concurrent create: %d %s", r.status, r.body)
		}
	}
	for _, limit := range []int{1, 3, 7} {
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for range 4 {
					create()
				}
			})
		}
		got := e.subscriptionPages(t, limit, create)
		wg.Wait()
		seen := map[string]bool{}
		var old []string
		for _, id := range got {
			if seen[id] {
				t.Fatalf("limit %d: %s listed twice", limit, id)
			}
			seen[id] = true
			if slices.Contains(want, id) {
				old = append(old, id)
			}
		}
		if !slices.Equal(old, want) {
			t.Fatalf("limit %d: the subscriptions there before, as listed: %v\nwant %v", limit, old, want)
		}
	}
}

func TestSubscriptionListRefusesBadParameters(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.subscribe(t, `{"url":"https://example.com/hook"}`)
	for _, tt := range []struct{ query, field string }{
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"cursor=garbage", "cursor"},
		{"cursor=", "cursor"},
		{"status=enabled", "status"},
		{"account=NOT", "account"},
		{"limit=1&limit=2", "limit"},
	} {
		t.Run(tt.query, func(t *testing.T) {
			wantProblem(t, e.do(t, http.MethodGet, "/webhooks/subscriptions?"+tt.query, nil), http.StatusBadRequest, tt.field)
		})
	}
}
