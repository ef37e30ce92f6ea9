package api_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/api"
)

// oaMethods are the methods a path may document.
var oaMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// oaHandler is every resource of the API, on no JetStream at all: enough to
// route, and to answer what needs no resource.
func oaHandler(t testing.TB) http.Handler {
	t.Helper()
	inv, err := api.NewInvoices(nil, api.InvoicesConfig{})
	if err != nil {
		t.Fatal(err)
	}
	subs, err := api.NewSubscriptions(nil, nil, api.SubscriptionsConfig{Secrets: newKeyring(t)})
	if err != nil {
		t.Fatal(err)
	}
	dl, err := api.NewDeliveries(nil, nil, nil, api.DeliveriesConfig{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := api.NewEvents(nil, nil, api.EventsConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return api.NewHandler(api.Resources{
		Health:   api.NewHealth(func(context.Context) error { return nil }),
		Invoices: inv, Subscriptions: subs, Deliveries: dl, Events: evs, Auth: oaAuth(t, oaKey, 0),
	})
}

// oaServedRoutes walks the router of h: every method and route it serves.
func oaServedRoutes(t testing.TB, h http.Handler) map[string]bool {
	t.Helper()
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatal("NewHandler returns no chi.Routes")
	}
	served := map[string]bool{}
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if route != "/" {
			route = strings.TrimSuffix(route, "/")
		}
		served[method+" "+route] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return served
}

// routes returns every method and path the document documents.
func (s *oaSpec) routes() map[string]bool {
	documented := map[string]bool{}
	for path, item := range s.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	return documented
}

// TestOpenAPIDocumentsEveryRoute walks the router: every route it serves is
// a documented operation and every documented operation a route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	s := loadOASpec(t)
	served := oaServedRoutes(t, oaHandler(t))
	documented := s.routes()
	for _, r := range slices.Sorted(maps.Keys(served)) {
		if !documented[r] {
			t.Errorf("%s is served but not documented", r)
		}
	}
	for _, r := range slices.Sorted(maps.Keys(documented)) {
		if !served[r] {
			t.Errorf("%s is documented but not served", r)
		}
	}
	if len(served) < 16 {
		t.Fatalf("only %d routes walked: %v", len(served), served)
	}
}

// oaAllowed returns the methods item documents, in the order of oaMethods.
func oaAllowed(item *openapi3.PathItem) []string {
	var allow []string
	for _, m := range oaMethods {
		if item.GetOperation(m) != nil {
			allow = append(allow, m)
		}
	}
	return allow
}

// TestOpenAPIUndocumentedMethodsAndPaths replays every method a path does
// not document, and paths that do not exist: 405 with Allow naming exactly
// the documented methods, and 404, as the components describe them.
func TestOpenAPIUndocumentedMethodsAndPaths(t *testing.T) {
	s := loadOASpec(t)
	srv := httptest.NewServer(oaHandler(t))
	t.Cleanup(srv.Close)
	id := uuid.NewString()
	for _, path := range slices.Sorted(maps.Keys(s.doc.Paths.Map())) {
		item := s.doc.Paths.Value(path)
		allow := oaAllowed(item)
		for _, m := range append(slices.Clone(oaMethods), http.MethodHead, http.MethodOptions) {
			if item.GetOperation(m) != nil {
				continue
			}
			t.Run(m+" "+path, func(t *testing.T) {
				s.checkMethodNotAllowed(t, srv, oaCase{method: m, path: strings.ReplaceAll(path, "{id}", id)}, allow)
			})
		}
	}
	for _, path := range []string{"/nope", "/invoices/" + id + "/items", "/webhooks", "/webhooks/deliveries/" + id + "/retry/now"} {
		t.Run("GET "+path, func(t *testing.T) {
			s.checkNotFound(t, srv, oaCase{method: http.MethodGet, path: path})
		})
	}
}

// checkMethodNotAllowed sends c, whose method its path does not document:
// the document routes it nowhere, and the answer is a 405 whose Allow
// names exactly allow.
func (s *oaSpec) checkMethodNotAllowed(t testing.TB, srv *httptest.Server, c oaCase, allow []string) {
	t.Helper()
	req := c.request(t, srv.URL)
	if route, err := s.find(req); err == nil {
		t.Fatalf("the document routes it to %s", route.Operation.OperationID)
	}
	r := oaSend(t, srv, c)
	if r.status != http.StatusMethodNotAllowed {
		t.Fatalf("status %d, want 405: %s", r.status, r.body)
	}
	want := strings.Join(allow, ", ")
	if got := r.header.Get("Allow"); got != want {
		t.Errorf("Allow %q, want %q", got, want)
	}
	if c.method != http.MethodHead {
		s.validateAs(t, req, r, "MethodNotAllowed")
	}
}

// checkNotFound sends c, whose path the document does not have: the
// answer is a 404.
func (s *oaSpec) checkNotFound(t testing.TB, srv *httptest.Server, c oaCase) {
	t.Helper()
	req := c.request(t, srv.URL)
	var routeErr *routers.RouteError
	if _, err := s.find(req); !errors.As(err, &routeErr) || routeErr.Reason != routers.ErrPathNotFound.Error() {
		t.Fatalf("the document routes it: %v", err)
	}
	r := oaSend(t, srv, c)
	if r.status != http.StatusNotFound {
		t.Fatalf("status %d, want 404: %s", r.status, r.body)
	}
	s.validateAs(t, req, r, "NotFound")
}
