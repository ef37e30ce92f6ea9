package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHandlerAnswers sends the handler a good delivery and each kind of
// bad one, and checks the status and what reached the function.
func TestHandlerAnswers(t *testing.T) {
	v, err := NewVerifier(0, secretA)
	if err != nil {
		t.Fatal(err)
	}
	var got []Event
	h := Handler(v, func(_ context.Context, ev Event) error {
		got = append(got, ev)
		if ev.ID == "evt-fail" {
			return errors.New("database down")
		}
		return nil
	})
	now := time.Now()
	for _, tc := range []struct {
		name, method, id, body string
		secret                 string
		want                   int
	}{
		{"good", "POST", "evt-ok", eventBody, secretA, http.StatusNoContent},
		{"handler fails", "POST", "evt-fail", eventBody, secretA, http.StatusInternalServerError},
		{"wrong secret", "POST", "evt-bad", eventBody, secretB, http.StatusUnauthorized},
		{"not an event", "POST", "evt-json", `[1,2]`, secretA, http.StatusBadRequest},
		{"too large", "POST", "evt-big", `{"type":"x","pad":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, secretA, http.StatusRequestEntityTooLarge},
		{"GET", "GET", "evt-get", "", secretA, http.StatusMethodNotAllowed},
	} {
		req := httptest.NewRequest(tc.method, "/webhook", strings.NewReader(tc.body))
		req.Header = signed(t, tc.id, now, tc.body, tc.secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body, tc.want)
		}
		if tc.want == http.StatusInternalServerError && strings.Contains(rec.Body.String(), "database") {
			t.Errorf("the function's error is shown: %s", rec.Body)
		}
	}
	if len(got) != 2 || got[0].ID != "evt-ok" || got[1].ID != "evt-fail" || got[0].Data.CustomerID != "cust_123" {
		t.Fatalf("the function got %+v", got)
	}
}

// TestHandlerNeedsBoth checks that a nil verifier or function is refused
// at once.
func TestHandlerNeedsBoth(t *testing.T) {
	v, _ := NewVerifier(0, secretA)
	for name, build := range map[string]func(){
		"no verifier": func() { Handler(nil, func(context.Context, Event) error { return nil }) },
		"no function": func() { Handler(v, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			build()
		}()
	}
}
