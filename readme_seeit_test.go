package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/config"
)

const seeItHeading = "## See it: traces, charts, dashboards"

// TestREADMESeeIt holds the README's "See it" section to the service: each
// `go run .` line parses as serve's flags, the trace it shows names the
// spans the service makes, and every image it shows is in the repository.
func TestREADMESeeIt(t *testing.T) {
	ran, traced := 0, false
	for _, b := range docSection(t, "README.md", seeItHeading) {
		for _, line := range strings.Split(strings.TrimSpace(b.text), "\n") {
			switch {
			case b.lang == "sh" && strings.HasPrefix(line, "go run . "):
				ran++
				if _, err := config.ParseServe(strings.Fields(strings.TrimPrefix(line, "go run . ")), func(string) string { return "" }, io.Discard); err != nil {
					t.Errorf("%s: %v", line, err)
				}
			case b.lang == "text" && strings.HasPrefix(line, "POST /invoices"):
				traced = true
			}
		}
		if b.lang == "text" {
			for _, span := range []string{"POST /invoices", "publish InvoiceRequested", "process", "publish InvoiceProcessed", "fan-out", "webhook attempt"} {
				if !strings.Contains(b.text, span) {
					t.Errorf("the trace shown has no %q span", span)
				}
			}
		}
	}
	if ran == 0 || !traced {
		t.Errorf("the section runs %d commands and shows a trace: %v", ran, traced)
	}
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`!\[[^\]]*\]\(([^)]+)\)`).FindAllStringSubmatch(string(data), -1) {
		if _, err := os.Stat(m[1]); err != nil {
			t.Errorf("README shows %s: %v", m[1], err)
		}
	}
}
