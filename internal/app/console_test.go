package app

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/testing/calltest"
)

func TestConsoleIsServedBesideTheAPI(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	cases := []struct {
		path, contentType string
		status            int
	}{
		{"/console", "text/html", http.StatusOK},
		{"/console/", "text/html", http.StatusOK},
		{"/console/invoices", "text/html", http.StatusOK},
		{"/consoles", "application/problem+json", http.StatusNotFound},
		{"/healthz", "application/json", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			a := calltest.Call(t, http.MethodGet, base+c.path, "")
			if a.Status != c.status || !strings.HasPrefix(a.Header.Get("Content-Type"), c.contentType) {
				t.Fatalf("%d %q: %s", a.Status, a.Header.Get("Content-Type"), a.Body)
			}
		})
	}
	awaitMetrics(t, base+"/metrics", map[string]float64{
		`invoiced_http_requests_total{method="GET",route="/console/invoices",status="200"}`: 1,
	})

	noAPI := startService(t, serveConfig(t, "", "--roles", "processor"))
	if a := calltest.Call(t, http.MethodGet, "http://"+noAPI.Addr()+"/console", ""); a.Status != http.StatusNotFound {
		t.Fatalf("a process without the api role serves the console: %d", a.Status)
	}
}

func TestConsoleSourceReadsHistoryAndHealth(t *testing.T) {
	svc := startService(t, serveConfig(t, ""))
	base := "http://" + svc.Addr()
	id := calltest.Field(t, calltest.PostInvoice(t, base, "console-1", calltest.InvoiceBody).Body, "id")
	calltest.AwaitStatus(t, base, id, "processed")
	src := svc.consoleSource()
	ctx := context.Background()

	cases := []struct {
		name  string
		id    string
		types []events.Type
		fails bool
	}{
		{"an invoice, oldest first", id, []events.Type{events.InvoiceRequested, events.InvoiceProcessed}, false},
		{"an unknown invoice", "8c6a8951-867b-5867-ad21-f9492ab1066f", nil, false},
		{"no invoice ID", "invoices.>", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hist, err := src.History(ctx, c.id)
			if (err != nil) != c.fails {
				t.Fatalf("History: %v", err)
			}
			var got []events.Type
			for _, ev := range hist {
				got = append(got, ev.Type)
			}
			if !slices.Equal(got, c.types) {
				t.Fatalf("history %v, want %v", got, c.types)
			}
		})
	}

	h, err := src.Health(ctx)
	if err != nil || len(h.Consumers) != 3 || h.Dead != 0 {
		t.Fatalf("health %+v, %v", h, err)
	}
	for _, c := range h.Consumers {
		if c.Error != "" || c.Pending != 0 {
			t.Errorf("consumer %+v", c)
		}
	}

	apiOnly := startService(t, serveConfig(t, "", "--roles", "api"))
	h, _ = apiOnly.consoleSource().Health(ctx)
	if len(h.Consumers) != 3 || !strings.HasPrefix(h.Consumers[0].Error, "not found") {
		t.Fatalf("without a processor: %+v", h.Consumers)
	}
}
