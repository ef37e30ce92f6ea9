package console_test

import (
	"net/http"
	"net/url"
	"testing"
)

func TestFormsRefuseRequestsFromElsewhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.get("/console/subscriptions")
	form := func(token string) url.Values {
		f := url.Values{"url": {e.recv.srv.URL + "/hook"}}
		if token != "" {
			f.Set("csrf_token", token)
		}
		return f
	}
	cases := []struct {
		name    string
		form    url.Values
		headers []string
		want    int
	}{
		{"no token", form(""), []string{"Origin", e.base}, http.StatusForbidden},
		{"wrong token", form("AAAA" + b.csrf[4:]), []string{"Origin", e.base}, http.StatusForbidden},
		{"another origin", form(b.csrf), []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"opaque origin", form(b.csrf), []string{"Origin", "null"}, http.StatusForbidden},
		{"another referer", form(b.csrf), []string{"Referer", "http://evil.example/page"}, http.StatusForbidden},
		{"cross-site fetch", form(b.csrf), []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"this console's page", form(b.csrf), []string{"Origin", e.base, "Sec-Fetch-Site", "same-origin"}, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := b.do(http.MethodPost, "/console/subscriptions", c.form, c.headers...)
			if p.status != c.want {
				t.Fatalf("%d, want %d: %s", p.status, c.want, p.body)
			}
			checkPage(t, p)
		})
	}
	var list struct{ Data []struct{ ID string } }
	e.api(http.MethodGet, "/webhooks/subscriptions", "", &list)
	if len(list.Data) != 1 {
		t.Fatalf("%d subscriptions exist, want only the one from the console's own page", len(list.Data))
	}
}
