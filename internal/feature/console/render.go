package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/invoiced/invoiced/client"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// pageNames are the pages, each templates/<name>.html on the layout.
var pageNames = []string{
	"overview", "invoices", "invoice", "subscriptions", "subscription", "secret",
	"deliveries", "delivery", "dead-letters", "login", "error",
}

// fragmentSet names the template set that renders live fragments alone.
const fragmentSet = "fragments"

// parsePages parses every page with the layout and the partials, and the
// partials alone for fragments.
func parsePages() (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(templateFuncs).ParseFS(templateFiles,
			"templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("console page %s: %w", name, err)
		}
		pages[name] = t
	}
	t, err := template.New(fragmentSet).Funcs(templateFuncs).ParseFS(templateFiles, "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("console fragments: %w", err)
	}
	pages[fragmentSet] = t
	return pages, nil
}

// view is what every page template gets; Data is the page's own.
type view struct {
	Title   string // the page's title and heading
	Nav     string // the navigation entry it belongs to
	SignOut bool   // a login is required, so offer to sign out
	Guest   bool   // a login is required and not done: no navigation
	CSRF    string
	Flash   flash
	Poll    int64  // live refresh interval, in milliseconds
	Self    string // the page's own URL, for its Refresh link
	Data    any
}

// errorView is the error page's data.
type errorView struct {
	Status int
	Title  string
	Detail string
	Fields []client.FieldError
	Back   string
}

// problemView returns the error page's data for e, an error answer of the
// API, with a link back to back.
func problemView(e *client.Error, back string) errorView {
	return errorView{Status: e.Status, Title: e.Title, Detail: e.Detail, Fields: e.Errors, Back: back}
}

// render writes page with v as an answer with status.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	c.fill(r, &v)
	if v.Flash == (flash{}) {
		v.Flash = c.sessions.takeFlash(stateOf(r).sess.id)
	}
	c.write(w, r, status, c.pages[page], "layout", v)
}

// fragment writes the partial template name with data, for a live region.
func (c *Console) fragment(w http.ResponseWriter, r *http.Request, name string, data any) {
	v := view{Data: data}
	c.fill(r, &v)
	c.write(w, r, http.StatusOK, c.pages[fragmentSet], name, v)
}

func (c *Console) fill(r *http.Request, v *view) {
	st := stateOf(r)
	v.CSRF = st.sess.csrf
	v.SignOut = c.cfg.RequireLogin && st.sess.authed
	v.Guest = c.cfg.RequireLogin && !st.sess.authed
	v.Poll = c.cfg.Poll.Milliseconds()
	if v.Self == "" {
		v.Self = r.URL.RequestURI()
	}
}

// write renders into memory first, so a template failure is a clean 500.
func (c *Console) write(w http.ResponseWriter, r *http.Request, status int, t *template.Template, name string, v view) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		c.cfg.Logger.Error("console template failed", "template", name, "path", r.URL.Path, "err", err)
		http.Error(w, "the console failed to render this page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows err: an API problem as the API put it (a refused API key ends
// the session), anything else as an internal failure, logged.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error, back string) {
	var ae *client.Error
	if errors.As(err, &ae) {
		if ae.Status == http.StatusUnauthorized && c.cfg.RequireLogin {
			c.endSession(w, r)
			http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
			return
		}
		c.showError(w, r, problemView(ae, back))
		return
	}
	if errors.Is(err, client.ErrInvalidID) { // no such resource, as the API would say
		c.showError(w, r, errorView{Status: http.StatusNotFound, Title: "Not found", Detail: "There is no such resource.", Back: back})
		return
	}
	c.cfg.Logger.Error("console request failed", "path", r.URL.Path, "request_id", stateOf(r).requestID, "err", err)
	c.showError(w, r, errorView{Status: http.StatusInternalServerError, Title: "The console failed",
		Detail: "The cause is in the service's log under request ID " + stateOf(r).requestID + ".", Back: back})
}

// failFragment answers a live fragment's failure briefly: the page keeps
// what it shows, and a 401 stops its polling.
func (c *Console) failFragment(w http.ResponseWriter, r *http.Request, err error) {
	var ae *client.Error
	if errors.As(err, &ae) {
		http.Error(w, ae.Title, ae.Status)
		return
	}
	if errors.Is(err, client.ErrInvalidID) {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	c.cfg.Logger.Error("console fragment failed", "path", r.URL.Path, "err", err)
	http.Error(w, "the console failed", http.StatusInternalServerError)
}

func (c *Console) showError(w http.ResponseWriter, r *http.Request, e errorView) {
	if e.Back == "" {
		e.Back = Prefix
	}
	c.render(w, r, e.Status, "error", view{Title: e.Title, Data: e})
}

// refuse answers 403 to a form that did not pass the guard.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, why string) {
	c.showError(w, r, errorView{Status: http.StatusForbidden, Title: "Form refused", Detail: why})
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.showError(w, r, errorView{Status: http.StatusNotFound, Title: "Not found", Detail: "The console has no page " + r.URL.Path + "."})
}

func (c *Console) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	c.showError(w, r, errorView{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
		Detail: r.Method + " is not answered at " + r.URL.Path + "."})
}

// staticHandler serves the embedded stylesheet and script; no listings.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded tree always has it
	}
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
