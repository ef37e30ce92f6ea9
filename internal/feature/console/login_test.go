package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const testKey = "console-test-key-8d1f2a-0123456789abcdef0123456789"

// sessionCookie returns the session cookie p sets, or nil.
func sessionCookie(p page) *http.Cookie {
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "invoiced_console" {
			return c
		}
	}
	return nil
}

func TestLoginIsRequiredWhenTheServiceHasKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--api-keys", testKey+",other-key-0123456789abcdef0123456789")
	b := e.browser()
	for _, path := range []string{"/console", "/console/invoices", "/console/deliveries/x", "/console/dead-letters"} {
		if p := b.get(path); p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/login" {
			t.Fatalf("%s before login: %d to %q", path, p.status, p.header.Get("Location"))
		}
	}
	if p := b.get("/console/live/deliveries"); p.status != http.StatusUnauthorized {
		t.Fatalf("live fragment before login: %d", p.status)
	}
	login := b.get("/console/login")
	checkPage(t, login)
	mustContain(t, login, `id="login-form"`, `<label for="api-key">`)
	if strings.Contains(login.body, `id="nav-invoices"`) {
		t.Error("the login page shows the navigation")
	}
	before := sessionCookie(login)

	if p := b.post("/console/login", url.Values{"csrf_token": {"forged"}, "api_key": {testKey}}); p.status != http.StatusForbidden {
		t.Fatalf("login without the form's token: %d", p.status)
	}
	wrong := b.post("/console/login", url.Values{"api_key": {"not-a-key"}})
	if wrong.status != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", wrong.status)
	}
	mustContain(t, wrong, "That API key is not accepted.")
	if p := b.get("/console"); p.status != http.StatusSeeOther {
		t.Fatalf("after a wrong key: %d", p.status)
	}

	ok := b.post("/console/login", url.Values{"api_key": {testKey}})
	if ok.status != http.StatusSeeOther || ok.header.Get("Location") != "/console" {
		t.Fatalf("right key: %d to %q", ok.status, ok.header.Get("Location"))
	}
	ck := sessionCookie(ok)
	switch {
	case ck == nil:
		t.Fatal("no session cookie after login")
	case before != nil && ck.Value == before.Value:
		t.Error("the session ID did not change at login")
	case !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" || ck.Secure:
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/console, not Secure over plain HTTP", ck)
	case strings.Contains(ck.Value, testKey):
		t.Error("the cookie carries the key")
	}
	home := b.get("/console")
	checkPage(t, home)
	mustContain(t, home, `id="sign-out"`, `id="health-operator-only"`) // a key given with --api-keys is an account of its own
	if strings.Contains(home.body, testKey) || strings.Contains(ok.header.Get("Location"), testKey) {
		t.Error("the key reached the page or a URL")
	}
	if lost := b.get("/console/no-such-page"); lost.status != http.StatusNotFound || !strings.Contains(lost.body, `id="nav-invoices"`) {
		t.Errorf("an unknown page, signed in: %d, navigation shown: %v", lost.status, strings.Contains(lost.body, `id="nav-invoices"`))
	}

	out := b.post("/console/logout", nil)
	if out.status != http.StatusSeeOther || out.header.Get("Location") != "/console/login" {
		t.Fatalf("logout: %d to %q", out.status, out.header.Get("Location"))
	}
	if p := b.get("/console"); p.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", p.status)
	}
	replay := e.browser()
	replay.client.Jar.SetCookies(mustParse(t, e.base+"/console"), []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/console"}})
	if p := replay.get("/console"); p.status != http.StatusSeeOther {
		t.Fatalf("the ended session's cookie still works: %d", p.status)
	}
}

func TestNoLoginWithoutKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	home := b.get("/console")
	if home.status != http.StatusOK || strings.Contains(home.body, `id="sign-out"`) {
		t.Fatalf("without keys: %d, sign out offered: %v", home.status, strings.Contains(home.body, `id="sign-out"`))
	}
	checkPage(t, home)
	if p := b.get("/console/login"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/console" {
		t.Fatalf("login page without keys: %d to %q", p.status, p.header.Get("Location"))
	}
}

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
