package api_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/nats-io/nats.go/jetstream"
)

// secretOf is a well-formed secret whose key is n bytes.
func secretOf(n int) string {
	return webhook.SecretPrefix + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("s", n)))
}

// noSubscriptions fails t when the bucket holds any subscription.
func (e *env) noSubscriptions(t testing.TB) {
	t.Helper()
	keys, err := e.subs.Keys(context.Background())
	if !errors.Is(err, jetstream.ErrNoKeysFound) {
		t.Fatalf("the bucket holds %v, %v", keys, err)
	}
}

func TestASecretGivenAtCreationSigns(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, n := range []int{24, 32, 64} {
		given := secretOf(n)
		s := e.subscribe(t, `{"url":"https://example.com/hook","secret":"`+given+`"}`)
		if s.Secret != given {
			t.Fatalf("%d bytes: the answer shows %q", n, s.Secret)
		}
		if got := e.activeSecrets(t, s.ID, time.Now()); !slices.Equal(got, []string{given}) {
			t.Fatalf("%d bytes: signs with %v", n, got)
		}
		stored := e.stored(t, s.ID).Secrets[0]
		if stored.Value != "" || stored.Sealed == "" || strings.Contains(stored.Sealed, given[len(webhook.SecretPrefix):]) {
			t.Fatalf("%d bytes: stored %+v, not sealed", n, stored)
		}
		for _, path := range []string{"/webhooks/subscriptions/" + s.ID, "/webhooks/subscriptions"} {
			if r := e.do(t, http.MethodGet, path, nil); strings.Contains(string(r.body), given[len(webhook.SecretPrefix):]) {
				t.Fatalf("GET %s shows the secret: %s", path, r.body)
			}
		}
	}
	// Rotated, the given secret keeps signing for the overlap, as one made here does.
	s := e.subscribe(t, `{"url":"https://example.com/hook","secret":"`+secretOf(40)+`"}`)
	var rotated subscription
	e.do(t, http.MethodPost, "/webhooks/subscriptions/"+s.ID+"/rotate-secret", nil).json(t, &rotated)
	if got := e.activeSecrets(t, s.ID, time.Now()); !slices.Equal(got, []string{rotated.Secret, secretOf(40)}) {
		t.Fatalf("after a rotation: %v", got)
	}
}

func TestAWeakOrMalformedSecretIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	create := func(secret string) response {
		body := `{"url":"https://example.com/hook","secret":"` + secret + `"}`
		return e.do(t, http.MethodPost, "/webhooks/subscriptions", []byte(body), "Content-Type", "application/json")
	}
	for _, n := range []int{1, 16, 23} {
		r := create(secretOf(n))
		p := wantProblem(t, r, http.StatusUnprocessableEntity, "")
		if p.Type != "urn:invoiced:problem:weak-secret" || strings.Contains(string(r.body), secretOf(n)[len(webhook.SecretPrefix):]) {
			t.Fatalf("%d bytes: %s", n, r.body)
		}
	}
	for _, bad := range []string{
		"whsec_", "whsec_not base64!", strings.TrimPrefix(secretOf(32), webhook.SecretPrefix), secretOf(65),
		strings.TrimRight(secretOf(31), "="), strings.Replace(secretOf(32), "c", "-", 1) + "\\n",
	} {
		r := create(bad)
		wantProblem(t, r, http.StatusBadRequest, "secret")
		if len(bad) > len(webhook.SecretPrefix)+2 && strings.Contains(string(r.body), strings.TrimPrefix(bad, webhook.SecretPrefix)) {
			t.Fatalf("the problem repeats the secret: %s", r.body)
		}
	}
	// Other rules are reported first, so a weak secret with a bad URL is a 400.
	r := e.do(t, http.MethodPost, "/webhooks/subscriptions", []byte(`{"url":"ftp://x","secret":"`+secretOf(8)+`"}`), "Content-Type", "application/json")
	wantProblem(t, r, http.StatusBadRequest, "url")
	e.noSubscriptions(t)

	s := e.subscribe(t, `{"url":"https://example.com/hook"}`)
	patch := e.do(t, http.MethodPatch, "/webhooks/subscriptions/"+s.ID, []byte(`{"secret":"`+secretOf(32)+`"}`), "Content-Type", "application/json")
	wantProblem(t, patch, http.StatusBadRequest, "secret")
	if got := e.activeSecrets(t, s.ID, time.Now()); !slices.Equal(got, []string{s.Secret}) {
		t.Fatalf("a refused PATCH changed the secrets: %v", got)
	}
}
