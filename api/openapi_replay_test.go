package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/invoiced/invoiced/api"
)

// oaCase is one request replayed against the API and the document.
type oaCase struct {
	name    string
	op      string // the operationId the request must route to
	on      oaServer
	method  string
	path    string
	header  []string // name, value pairs
	auth    string   // Authorization: "" for the server's key, "-" for none
	body    string
	chunked bool // send the body without a Content-Length
	status  int
	// invalid marks a request that breaks the document, which
	// ValidateRequest must then refuse; the service refuses it too.
	invalid bool
	// lax marks a request the service refuses for a rule the document
	// states only in prose, so that ValidateRequest accepts it.
	lax   bool
	field string // the problem of a 400 must name this field first
	check func(t testing.TB, r oaResult)
}

// oaResult is one answer, body read.
type oaResult struct {
	status int
	header http.Header
	body   []byte
}

func (r oaResult) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// request builds c's request to base.
func (c oaCase) request(t testing.TB, base string) *http.Request {
	t.Helper()
	var body io.Reader = http.NoBody
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, base+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if c.chunked {
		req.ContentLength = -1
		req.GetBody = nil
		req.Body = io.NopCloser(strings.NewReader(c.body))
	}
	for i := 0; i+1 < len(c.header); i += 2 {
		req.Header.Add(c.header[i], c.header[i+1])
	}
	switch {
	case c.auth == "-":
	case c.auth != "":
		req.Header.Set("Authorization", c.auth)
	case c.on == oaLimited:
		req.Header.Set("Authorization", "Bearer "+oaLimitedKey)
	default:
		req.Header.Set("Authorization", "Bearer "+oaKey)
	}
	return req
}

// oaSend sends c to srv.
func oaSend(t testing.TB, srv *httptest.Server, c oaCase) oaResult {
	t.Helper()
	res, err := srv.Client().Do(c.request(t, srv.URL))
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return oaResult{status: res.StatusCode, header: res.Header, body: b}
}

// oaCoverage counts the answers replayed, by operation and status.
type oaCoverage map[string]map[string]int

func (c oaCoverage) add(op string, status int) {
	if c[op] == nil {
		c[op] = map[string]int{}
	}
	c[op][fmt.Sprint(status)]++
}

// check fails t for each documented answer not replayed, and returns how
// many answers are documented.
func (c oaCoverage) check(t testing.TB, documented map[string][]string) (answers int) {
	t.Helper()
	for _, op := range slices.Sorted(maps.Keys(documented)) {
		for _, status := range documented[op] {
			answers++
			if c[op][status] == 0 {
				t.Errorf("%s %s is documented but was not replayed", op, status)
			}
		}
	}
	return answers
}

// replay sends c to its server and checks the request and the answer
// against the document: the request is valid exactly when c says so, the
// answer has c's status and matches the document, headers included.
func (s *oaSpec) replay(t testing.TB, e map[oaServer]*oaEnv, cov oaCoverage, c oaCase) oaResult {
	t.Helper()
	env := e[c.on]
	if env == nil || env.servers[c.on] == nil {
		t.Fatalf("no %s server", c.on)
	}
	srv := env.servers[c.on]
	in := s.checkRequest(t, c, c.request(t, srv.URL))
	r := oaSend(t, srv, c)
	s.checkAnswer(t, c, in, r)
	cov.add(c.op, r.status)
	return r
}

// checkRequest routes req, c's request, to c's operation and validates it:
// the document refuses it exactly when c is invalid.
func (s *oaSpec) checkRequest(t testing.TB, c oaCase, req *http.Request) *openapi3filter.RequestValidationInput {
	t.Helper()
	route, err := s.find(req)
	if err != nil {
		t.Fatalf("the document has no operation for %s %s: %v", c.method, c.path, err)
	}
	if route.Operation.OperationID != c.op {
		t.Fatalf("%s %s routes to %s, want %s", c.method, c.path, route.Operation.OperationID, c.op)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: route.params, Route: route.Route, Options: oaOptions()}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case c.invalid && reqErr == nil:
		t.Errorf("the document accepts this request, which breaks its rules")
	case !c.invalid && reqErr != nil:
		t.Errorf("the document refuses this request: %v", reqErr)
	}
	return in
}

// checkAnswer checks r, the answer to c: its status, the document, an
// empty 204, the field a problem names, and c's own check.
func (s *oaSpec) checkAnswer(t testing.TB, c oaCase, in *openapi3filter.RequestValidationInput, r oaResult) {
	t.Helper()
	if r.status != c.status {
		t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.status, Header: r.header, Options: oaOptions(),
	}
	out.SetBodyBytes(r.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("the answer breaks the document: %v\nheaders %v\nbody %s", err, r.header, r.body)
	}
	if r.status == http.StatusNoContent && len(r.body) != 0 {
		t.Fatalf("a 204 with a body: %s", r.body)
	}
	if c.field != "" {
		var p struct {
			Field  string           `json:"field"`
			Errors []api.FieldError `json:"errors"`
		}
		r.decode(t, &p)
		if p.Field != c.field || len(p.Errors) == 0 || p.Errors[0].Field != c.field {
			t.Fatalf("the problem names %q, want %q: %s", p.Field, c.field, r.body)
		}
	}
	if c.check != nil {
		c.check(t, r)
	}
}

// TestOpenAPIReplaysEveryAnswer replays, over HTTP against real JetStream,
// every documented operation's success and every error it documents, and
// checks each request and answer against the document. Every documented
// answer must be replayed at least once.
func TestOpenAPIReplaysEveryAnswer(t *testing.T) {
	s := loadOASpec(t)
	main := newOAEnv(t, oaEnvOptions{limited: true, broken: true})
	corrupt := newOAEnv(t, oaEnvOptions{})
	corrupt.servers[oaCorrupt] = corrupt.servers[oaMain]
	full := newOAEnv(t, oaEnvOptions{maxStore: oaMaxStore})
	full.servers[oaFull] = full.servers[oaMain]
	f := oaSetupMain(t, main)
	oaSetupCorrupt(t, corrupt, f)
	ff := oaSetupFull(t, full, f)
	etag := oaSend(t, main.servers[oaMain], oaCase{method: http.MethodGet, path: "/openapi.json"}).header.Get("ETag")
	envs := map[oaServer]*oaEnv{oaMain: main, oaLimited: main, oaBroken: main, oaCorrupt: corrupt, oaFull: full}

	cov := oaCoverage{}
	cases := slices.Concat(oaCases(t, f, etag), oaShared(s, f), oaStorageCases(ff, f))
	lax, invalid := 0, 0
	for _, c := range cases {
		switch {
		case c.lax:
			lax++
		case c.invalid:
			invalid++
		}
		t.Run(c.op+"/"+c.name, func(t *testing.T) { s.replay(t, envs, cov, c) })
	}
	documented := s.documented()
	answers := cov.check(t, documented)
	t.Logf("replayed %d requests (%d that break the document, %d refused for rules it states in prose only): %d operations, %d documented answers",
		len(cases), invalid, lax, len(documented), answers)
}
