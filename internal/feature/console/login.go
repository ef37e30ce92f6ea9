package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/invoiced/invoiced/client"
)

// maxKeyLen bounds an API key typed into the login form.
const maxKeyLen = 1024

// loginData is the login page's data.
type loginData struct {
	Error string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if !c.cfg.RequireLogin || stateOf(r).sess.authed {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Data: loginData{}})
}

// login verifies the posted API key by calling the API with it and, when
// the API accepts it, starts a new session that holds it: a new ID, so a
// session ID known before the login is worth nothing after it.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if !c.cfg.RequireLogin {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("api_key"))
	if key == "" || len(key) > maxKeyLen {
		c.loginRefused(w, r, http.StatusBadRequest, "Enter an API key.")
		return
	}
	who := c.callerWith(r, key)
	_, err := who.api.ListDeliveriesPage(r.Context(), client.DeliveryListParams{Limit: 1}, who.id)
	var ae *client.Error
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		c.loginRefused(w, r, http.StatusUnauthorized, "That API key is not accepted.")
		return
	case errors.As(err, &ae):
		c.loginRefused(w, r, ae.Status, ae.Title+": "+ae.Detail)
		return
	case err != nil:
		c.fail(w, r, err, Prefix+"/login")
		return
	}
	c.sessions.remove(stateOf(r).sess.id)
	sess := c.sessions.create(key, true)
	setSessionCookie(w, r, sess.id)
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

func (c *Console) loginRefused(w http.ResponseWriter, r *http.Request, status int, why string) {
	c.render(w, r, status, "login", view{Title: "Sign in", Data: loginData{Error: why}})
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.endSession(w, r)
	if c.cfg.RequireLogin {
		http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// endSession forgets the request's session, here and in the browser.
func (c *Console) endSession(w http.ResponseWriter, r *http.Request) {
	c.sessions.remove(stateOf(r).sess.id)
	clearSessionCookie(w, r)
}
