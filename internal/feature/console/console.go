// Package console is invoiced's web console: server-rendered pages under
// /console to browse invoices and their events, manage webhook
// subscriptions, read and retry deliveries, recover dead letters and watch
// the service's health. It does its work through the service's own HTTP
// API, called in process with the session's API key, so authentication,
// validation and problem answers are the API's; it reads only what the API
// does not offer (an invoice's events, consumer lag) through the narrow
// interfaces in sources.go.
package console

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// Prefix is the path the console is served under: the console answers
// Prefix and every path below Prefix+"/".
const Prefix = "/console"

// Config holds the console's options; zero fields take the defaults in
// parentheses.
type Config struct {
	// RequireLogin asks every visitor for an API key, verified against the
	// API, before showing anything: set it when the service has API keys.
	RequireLogin bool
	// SessionIdle ends a session unused this long (30m).
	SessionIdle time.Duration
	// SessionLifetime ends a session this long after it began (12h).
	SessionLifetime time.Duration
	// MaxSessions bounds the sessions kept in memory (1000); past it the
	// oldest are dropped, sessions not signed in first.
	MaxSessions int
	// Poll is how often a page's live parts refresh themselves (2.5s).
	Poll time.Duration
	// LagEvery is how often the consumers' lag is sampled for its chart
	// (15s).
	LagEvery time.Duration
	// Logger receives the console's own failures; nil discards them.
	Logger *slog.Logger
}

// Validate reports the first invalid option.
func (c Config) Validate() error {
	switch {
	case c.SessionIdle < 0 || c.SessionLifetime < 0:
		return errors.New("console: session durations must not be negative")
	case c.MaxSessions < 0:
		return errors.New("console: max sessions must not be negative")
	case c.Poll != 0 && (c.Poll < 500*time.Millisecond || c.Poll > time.Minute):
		return fmt.Errorf("console: poll interval must be between 500ms and 1m, not %s", c.Poll)
	case c.LagEvery != 0 && (c.LagEvery < 100*time.Millisecond || c.LagEvery > time.Minute):
		return fmt.Errorf("console: lag sampling interval must be between 100ms and 1m, not %s", c.LagEvery)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.SessionIdle == 0 {
		c.SessionIdle = 30 * time.Minute
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = 12 * time.Hour
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = 1000
	}
	if c.Poll == 0 {
		c.Poll = 2500 * time.Millisecond
	}
	if c.LagEvery == 0 {
		c.LagEvery = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Console serves the web console. Create it with New.
type Console struct {
	// apiHandler serves the console's calls of the API, in process.
	apiHandler http.Handler
	src        Sources
	sessions   *sessionStore
	pages      map[string]*template.Template
	cfg        Config
	router     http.Handler
	now        func() time.Time
	lag        *lagHistory // nil without a lag reader
}

// New returns the console that works through apiHandler (the service's
// HTTP API, without the console) and reads what the API lacks from src,
// whose nil members are shown as unavailable. It fails when cfg is invalid.
func New(apiHandler http.Handler, src Sources, cfg Config) (*Console, error) {
	if apiHandler == nil {
		return nil, errors.New("console: no API handler")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	c := &Console{
		apiHandler: apiHandler,
		src:        src,
		sessions:   newSessionStore(cfg, time.Now),
		pages:      pages,
		cfg:        cfg,
		now:        time.Now,
	}
	if src.Lag != nil {
		c.lag = newLagHistory(src.Lag, cfg.LagEvery, time.Now)
	}
	c.router = c.routes()
	return c, nil
}

// Start begins sampling the consumers' lag for its chart, at once and
// then every LagEvery, until Stop. A console never started draws no lag.
func (c *Console) Start() {
	if c.lag != nil {
		c.lag.start()
	}
}

// Stop ends what Start began and returns once it has ended.
func (c *Console) Stop() {
	if c.lag != nil {
		c.lag.stop()
	}
}

// ServeHTTP answers a request for Prefix or a path below it.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.router.ServeHTTP(w, r) }

// routes builds the console's router: static files, then everything else
// behind a session, the form guard and, when required, a login.
func (c *Console) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(secureHeaders)
	r.NotFound(c.withKnownSession(c.notFound))
	r.MethodNotAllowed(c.withKnownSession(c.methodNotAllowed))
	r.Handle(Prefix+"/static/*", staticHandler())
	r.Group(func(r chi.Router) {
		r.Use(c.withSession, c.guardForms, c.strictQuery)
		r.Get(Prefix+"/login", c.loginPage)
		r.Post(Prefix+"/login", c.login)
		r.Post(Prefix+"/logout", c.logout)
		r.Group(func(r chi.Router) {
			r.Use(c.requireLogin)
			c.pageRoutes(r)
			c.actionRoutes(r)
			c.liveRoutes(r)
		})
	})
	return r
}

// pageRoutes registers the pages.
func (c *Console) pageRoutes(r chi.Router) {
	r.Get(Prefix, c.overviewPage)
	r.Get(Prefix+"/", c.overviewPage)
	r.Get(Prefix+"/invoices", c.invoicesPage)
	r.Get(Prefix+"/invoices/{id}", c.invoicePage)
	r.Get(Prefix+"/subscriptions", c.subscriptionsPage)
	r.Get(Prefix+"/subscriptions/{id}", c.subscriptionPage)
	r.Get(Prefix+"/deliveries", c.deliveriesPage)
	r.Get(Prefix+"/deliveries/{id}", c.deliveryPage)
	r.Get(Prefix+"/dead-letters", c.deadLettersPage)
}

// actionRoutes registers the forms' targets.
func (c *Console) actionRoutes(r chi.Router) {
	r.Post(Prefix+"/subscriptions", c.createSubscription)
	r.Post(Prefix+"/subscriptions/{id}/event-types", c.setEventTypes)
	r.Post(Prefix+"/subscriptions/{id}/status", c.setStatus)
	r.Post(Prefix+"/subscriptions/{id}/ordering", c.setOrdering)
	r.Post(Prefix+"/subscriptions/{id}/rotate-secret", c.rotateSecret)
	r.Post(Prefix+"/subscriptions/{id}/delete", c.deleteSubscription)
	r.Post(Prefix+"/subscriptions/{id}/recover", c.recoverSubscription)
	r.Post(Prefix+"/subscriptions/{id}/test", c.sendTestEvent)
	r.Post(Prefix+"/deliveries/{id}/retry", c.retryDelivery)
}

// liveRoutes registers the fragments the pages' script polls.
func (c *Console) liveRoutes(r chi.Router) {
	r.Get(Prefix+"/live/deliveries", c.liveDeliveries)
	r.Get(Prefix+"/live/deliveries/{id}", c.liveDelivery)
	r.Get(Prefix+"/live/dead-letters", c.liveDeadLetters)
	r.Get(Prefix+"/live/health", c.liveHealth)
	r.Get(Prefix+"/live/activity", c.liveActivity)
	r.Get(Prefix+"/live/subscriptions/{id}/activity", c.liveSubscriptionActivity)
}

// Beside answers /console and every path below /console/ with
// consoleHandler, and everything else with apiHandler. The console stays
// outside the API's router, so it is no API route.
func Beside(apiHandler, consoleHandler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isConsolePath(r.URL.Path) {
			consoleHandler.ServeHTTP(w, r)
			return
		}
		apiHandler.ServeHTTP(w, r)
	})
}

// isConsolePath reports whether path is the console's.
func isConsolePath(path string) bool {
	return path == Prefix || strings.HasPrefix(path, Prefix+"/")
}
