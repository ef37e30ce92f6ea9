package console_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var publicKeyPattern = regexp.MustCompile(`<code class="key">(whpk_[^<]+)</code>`)

// shownKeys returns the public keys p shows, in its order.
func shownKeys(p page) []string {
	var out []string
	for _, m := range publicKeyPattern.FindAllStringSubmatch(p.body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// apiPublicKeys returns the subscription's public keys as the API's key
// discovery gives them.
func (e *env) apiPublicKeys(id string) []string {
	e.t.Helper()
	var set struct {
		Keys []struct {
			Key string `json:"key"`
		} `json:"keys"`
	}
	if status := e.api(http.MethodGet, "/webhooks/subscriptions/"+id+"/public-keys", "", &set); status != http.StatusOK {
		e.t.Fatalf("public keys: %d", status)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Key)
	}
	return out
}

// mustNotShowSecrets fails when p shows a signing secret or a private key.
func mustNotShowSecrets(t testing.TB, p page) {
	t.Helper()
	for _, s := range []string{"whsec_", "whsk_", `id="secret"`} {
		if strings.Contains(p.body, s) {
			t.Fatalf("page (%d) shows %q:\n%s", p.status, s, p.body)
		}
	}
}

// TestEd25519SubscriptionThroughTheForms chooses ed25519 in the create
// form: the console shows the public keys where an hmac subscription shows
// its secret, on the created page, the subscription's page and after a
// rotation (new key first, the old one with when it stops), and never a
// secret or private key.
func TestEd25519SubscriptionThroughTheForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	list := b.get("/console/subscriptions")
	checkPage(t, list)
	mustContain(t, list, `id="new-signing-hmac" name="signing" value="hmac" checked>`, `id="new-signing-ed25519" name="signing" value="ed25519">`,
		`id="new-ordering-none" name="ordering" value="none" checked>`, `id="new-ordering-per-invoice" name="ordering" value="per_invoice">`)

	refused := b.post("/console/subscriptions", url.Values{"url": {"ftp://nowhere"}, "signing": {"ed25519"}, "ordering": {"per_invoice"}})
	if refused.status != http.StatusBadRequest {
		t.Fatalf("a bad URL: %d", refused.status)
	}
	mustContain(t, refused, `id="problem"`, `value="hmac">`, `value="ed25519" checked>`, `value="none">`, `value="per_invoice" checked>`)
	unknown := b.post("/console/subscriptions", url.Values{"url": {e.recv.srv.URL + "/hook"}, "signing": {"rsa"}})
	if unknown.status != http.StatusBadRequest {
		t.Fatalf("signing rsa: %d", unknown.status)
	}
	mustContain(t, unknown, `id="problem"`, "<code>signing</code>")
	unordered := b.post("/console/subscriptions", url.Values{"url": {e.recv.srv.URL + "/hook"}, "ordering": {"fifo"}})
	if unordered.status != http.StatusBadRequest {
		t.Fatalf("ordering fifo: %d", unordered.status)
	}
	mustContain(t, unordered, `id="problem"`, "<code>ordering</code>")

	created := b.post("/console/subscriptions", url.Values{"url": {e.recv.srv.URL + "/hook"}, "signing": {"ed25519"}, "ordering": {"per_invoice"}})
	checkPage(t, created)
	mustNotShowSecrets(t, created)
	id := subscriptionPattern.FindStringSubmatch(created.body)
	if created.status != http.StatusOK || id == nil {
		t.Fatalf("create: %d: %s", created.status, created.body)
	}
	mustContain(t, created, "<title>Subscription created", `id="signing-note"`, `id="public-keys"`)
	first := shownKeys(created)
	if api := e.apiPublicKeys(id[1]); len(first) != 1 || !slices.Equal(first, api) {
		t.Fatalf("created page shows %v, the API %v", first, api)
	}

	pagePath := "/console/subscriptions/" + id[1]
	p := b.get(pagePath)
	checkPage(t, p)
	mustNotShowSecrets(t, p)
	mustContain(t, p, `id="subscription-signing">ed25519`, `id="subscription-ordering">per_invoice`, "Signing keys", "Rotate key", "/public-keys</code>")
	if got := shownKeys(p); !slices.Equal(got, first) {
		t.Fatalf("the subscription's page shows %v, want %v", got, first)
	}
	mustContain(t, b.get("/console/subscriptions"), "<td>ed25519</td>\n<td>per_invoice</td>")

	rotated := b.post(pagePath+"/rotate-secret", nil)
	checkPage(t, rotated)
	mustNotShowSecrets(t, rotated)
	mustContain(t, rotated, "<title>Key rotated", "The key is rotated")
	keys := shownKeys(rotated)
	if api := e.apiPublicKeys(id[1]); len(keys) != 2 || keys[1] != first[0] || !slices.Equal(keys, api) {
		t.Fatalf("after rotation the page shows %v, the API %v; the old key was %v", keys, api, first)
	}
	// The old key's row says when it stops signing; the new one's does not.
	rows := strings.Split(rotated.body, `<tr id="public-key-`)
	if len(rows) != 3 || strings.Count(rows[1], "<time") != 1 || strings.Count(rows[2], "<time") != 2 {
		t.Fatalf("the keys' rows: %q", rows[1:])
	}
	if got := shownKeys(b.get(pagePath)); !slices.Equal(got, keys) {
		t.Fatalf("the subscription's page shows %v after rotation, want %v", got, keys)
	}
}
