package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
)

// contentSecurityPolicy lets pages load only the console's own files: no
// inline script or style, no framing, forms posted only here.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"

// cookieName names the session cookie.
const cookieName = "invoiced_console"

// csrfField names the hidden field that carries the session's CSRF token.
const csrfField = "csrf_token"

// maxFormBytes bounds a posted form.
const maxFormBytes = 64 << 10

// secureHeaders sets the headers every answer of the console carries.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// reqState is what the console knows of one browser request.
type reqState struct {
	sess      session
	requestID string
}

type reqStateKey struct{}

// stateOf returns the request's state; the zero state outside withSession.
func stateOf(r *http.Request) reqState {
	st, _ := r.Context().Value(reqStateKey{}).(reqState)
	return st
}

// withSession finds the request's session by its cookie, or starts one,
// not signed in unless no login is required.
func (c *Console) withSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess session
		ok := false
		if ck, err := r.Cookie(cookieName); err == nil {
			sess, ok = c.sessions.get(ck.Value)
		}
		if !ok {
			sess = c.sessions.create("", !c.cfg.RequireLogin)
			setSessionCookie(w, r, sess.id)
		}
		st := reqState{sess: sess, requestID: "console-" + rand.Text()}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reqStateKey{}, st)))
	})
}

// withKnownSession is withSession for the answers outside the session's
// routes (an unknown path, a wrong method): it finds the request's session
// by its cookie, so a signed-in operator keeps the navigation, but starts
// none.
func (c *Console) withKnownSession(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ck, err := r.Cookie(cookieName); err == nil {
			if sess, ok := c.sessions.get(ck.Value); ok {
				st := reqState{sess: sess, requestID: "console-" + rand.Text()}
				r = r.WithContext(context.WithValue(r.Context(), reqStateKey{}, st))
			}
		}
		next(w, r)
	}
}

// setSessionCookie gives the browser the session's ID: unreadable to
// scripts, sent only to the console, never along a link from another
// site, and only over TLS when the request came over TLS.
func setSessionCookie(w http.ResponseWriter, r *http.Request, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: id, Path: Prefix,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// clearSessionCookie tells the browser to forget the session.
func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: Prefix, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// guardForms refuses, with 403, every request that may change something
// (any method but GET and HEAD) unless it comes from this console's own
// page: same origin by Sec-Fetch-Site, Origin or Referer when the browser
// sends them, and carrying the session's CSRF token.
func (c *Console) guardForms(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		if !sameOrigin(r) {
			c.refuse(w, r, "The form came from another site.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			c.refuse(w, r, "The form could not be read.")
			return
		}
		token, want := r.PostForm.Get(csrfField), stateOf(r).sess.csrf
		if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(want)) != 1 {
			c.refuse(w, r, "The form's security token is missing or out of date: reload the page and try again.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin reports whether r may come from a page of this console. A
// browser names the page's origin in Sec-Fetch-Site, Origin or Referer; a
// request with none of them (not from a browser) passes here and still
// needs the CSRF token.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		return hostIs(origin, r.Host)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return hostIs(ref, r.Host)
	}
	return true
}

// hostIs reports whether raw is an http(s) URL on host.
func hostIs(raw, host string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// requireLogin sends a visitor who is not signed in to the login form; a
// live fragment answers 401 instead, which stops the page's polling.
func (c *Console) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stateOf(r).sess.authed {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, Prefix+"/live/") {
			http.Error(w, "sign in to the console", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
	})
}

// strictQuery refuses, with 400, a request whose query string does not
// parse: the pages pass their filters on to the API, and what the standard
// library would drop unsaid would make a page answer another question than
// the one asked.
func (c *Console) strictQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
			c.showError(w, r, errorView{Status: http.StatusBadRequest, Title: "Address not understood",
				Detail: "Its query string does not parse: " + err.Error()})
			return
		}
		next.ServeHTTP(w, r)
	})
}
