package api_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// oaSpec is the embedded OpenAPI document, validated and routable.
type oaSpec struct {
	doc    *openapi3.T
	router routers.Router
}

func loadOASpec(t testing.TB) *oaSpec {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPIDocument())
	if err != nil {
		t.Fatalf("load the document: %v", err)
	}
	if err := doc.Validate(loader.Context, openapi3.EnableMultiError(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("the document is invalid: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("route the document: %v", err)
	}
	return &oaSpec{doc: doc, router: router}
}

// oaOptions validate as a client would: a bearer token must be sent where
// the document asks for one, every uuid must be one, and an answer's status
// must be documented.
func oaOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		IncludeResponseStatus: true,
		AuthenticationFunc:    oaBearer,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			openapi3.WithStringFormatValidator("uuid", openapi3.NewCallbackValidator(func(s string) error {
				if _, err := uuid.Parse(s); err != nil || len(s) != 36 {
					return fmt.Errorf("%q is not a UUID", s)
				}
				return nil
			})),
		},
	}
}

// oaBearer admits a request that carries a bearer token, as the document's
// apiKey scheme asks.
func oaBearer(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "apiKey" || in.SecurityScheme.Type != "http" || in.SecurityScheme.Scheme != "bearer" {
		return fmt.Errorf("unexpected security scheme %q", in.SecuritySchemeName)
	}
	scheme, token, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// oaRoute is the operation a request routes to, and its path parameters.
type oaRoute struct {
	*routers.Route
	params map[string]string
}

// find routes req. The legacy router lets a path parameter at the end of a
// template match nothing (PATCH /webhooks/subscriptions finds PATCH
// /webhooks/subscriptions/{id}); such a match is no route here.
func (s *oaSpec) find(req *http.Request) (oaRoute, error) {
	route, params, err := s.router.FindRoute(req)
	if err != nil {
		return oaRoute{}, err
	}
	for name, v := range params {
		if v == "" {
			return oaRoute{}, fmt.Errorf("%s %s matches %s only with an empty %s", req.Method, req.URL.Path, route.Path, name)
		}
	}
	return oaRoute{Route: route, params: params}, nil
}

// documented returns every operation's documented statuses.
func (s *oaSpec) documented() map[string][]string {
	out := map[string][]string{}
	for _, item := range s.doc.Paths.Map() {
		for _, op := range item.Operations() {
			out[op.OperationID] = op.Responses.Keys()
		}
	}
	return out
}

// validateAs checks r, the answer to req that no operation documents,
// against the components' response name.
func (s *oaSpec) validateAs(t testing.TB, req *http.Request, r oaResult, name string) {
	t.Helper()
	ref := s.doc.Components.Responses[name]
	if ref == nil {
		t.Fatalf("no response %s in the components", name)
	}
	op := openapi3.NewOperation()
	op.Responses = openapi3.NewResponses(openapi3.WithStatus(r.status, ref))
	in := &openapi3filter.RequestValidationInput{
		Request: req, Route: &routers.Route{Spec: s.doc, Path: req.URL.Path, Method: req.Method, Operation: op}, Options: oaOptions(),
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header, Options: oaOptions()}
	out.SetBodyBytes(r.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("the answer breaks components/responses/%s: %v\nheaders %v\nbody %s", name, err, r.header, r.body)
	}
}

// answer checks a made-up answer to method path against the document.
func (s *oaSpec) answer(t testing.TB, method, path string, status int, header http.Header, body string) error {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	route, err := s.find(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: route.params, Route: route.Route, Options: oaOptions()}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: oaOptions()}
	out.SetBodyBytes([]byte(body))
	return openapi3filter.ValidateResponse(context.Background(), out)
}

// TestOpenAPIDocumentIsValid loads the document as OpenAPI 3.1, validates
// it, examples included, and checks it has a webhook per event type.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	s := loadOASpec(t)
	if s.doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", s.doc.OpenAPI)
	}
	if !s.doc.IsOpenAPI31OrLater() {
		t.Fatal("not read as OpenAPI 3.1")
	}
	for name, item := range s.doc.Webhooks {
		if item.Post == nil || item.Post.RequestBody == nil {
			t.Fatalf("webhook %s documents no POST with a body", name)
		}
	}
	if got, want := slices.Sorted(maps.Keys(s.doc.Webhooks)), slices.Sorted(slices.Values(webhook.AllEventTypes)); !slices.Equal(got, want) {
		t.Fatalf("webhooks %v, want one per event type %v", got, want)
	}
}
