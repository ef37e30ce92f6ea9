package app

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/metrics"
	"github.com/invoiced/invoiced/internal/testing/calltest"
)

var (
	// inventedMethodChars are the characters of an HTTP token.
	inventedMethodChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"
	clientMethods       = []string{http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPatch, ""}
	pathPrefixes        = []string{"/", "/invoices/", "/webhooks/subscriptions/", "/webhooks/deliveries/", "/console/", "/x/"}
)

// inventedRequest returns method, or an invented one (sometimes thousands
// of characters long) for "", and a path of depth random segments under
// prefix.
func inventedRequest(rng *rand.Rand, method, prefix string, depth int) (string, string) {
	if method == "" {
		var b strings.Builder
		for range 1 + rng.IntN(40)*rng.IntN(100) {
			b.WriteByte(inventedMethodChars[rng.IntN(len(inventedMethodChars))])
		}
		method = b.String()
	}
	path := prefix
	for range depth {
		path += strings.Repeat(string(rune('a'+rng.IntN(26))), 1+rng.IntN(60)) + "/"
	}
	return method, path
}

// httpSeries counts the series of the HTTP metrics at url.
func httpSeries(t *testing.T, url string) int {
	t.Helper()
	_, series := scrape(t, url)
	n := 0
	for name := range series {
		if strings.HasPrefix(name, "invoiced_http_") {
			n++
		}
	}
	return n
}

func TestMetricsSeriesDoNotGrowWithWhatClientsInvent(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	rng := rand.New(rand.NewPCG(1, 2))
	send := func(method, prefix string, depth int) {
		method, path := inventedRequest(rng, method, prefix, depth)
		calltest.Call(t, method, base+path, "")
	}
	for _, method := range clientMethods { // every kind of request once
		for _, prefix := range pathPrefixes {
			for depth := range 4 {
				send(method, prefix, depth)
			}
		}
	}
	httpSeries(t, base+metrics.Path) // and a scrape, which is counted too
	before := httpSeries(t, base+metrics.Path)
	for range 1000 {
		send(clientMethods[rng.IntN(len(clientMethods))], pathPrefixes[rng.IntN(len(pathPrefixes))], rng.IntN(4))
	}
	if after := httpSeries(t, base+metrics.Path); after != before {
		t.Fatalf("1,000 more invented methods and paths made %d HTTP series from %d", after, before)
	}
	_, series := scrape(t, base+metrics.Path)
	for name := range series {
		if strings.HasPrefix(name, "invoiced_http_") && len(name) > 200 {
			t.Fatalf("a series carries what a client sent: %.200s…", name)
		}
	}
}
