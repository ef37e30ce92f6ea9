package console_test

import (
	"regexp"
	"strings"
	"testing"
)

var (
	scriptTag    = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)
	handlerAttr  = regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`)
	styleAttr    = regexp.MustCompile(`(?i)<[a-z][^>]*\sstyle\s*=`)
	controlTag   = regexp.MustCompile(`(?i)<(input|select|textarea)\b[^>]*>`)
	idAttr       = regexp.MustCompile(`\sid="([^"]+)"`)
	thTag        = regexp.MustCompile(`(?i)<th\b[^>]*>`)
	titleElement = regexp.MustCompile(`(?s)<title>[^<]+</title>`)
)

// checkPage fails unless p is a whole console page that is safe and
// accessible as the console promises.
func checkPage(t testing.TB, p page) {
	t.Helper()
	checkHeaders(t, p)
	checkNoInlineCode(t, p.body)
	checkAccessible(t, p.body)
}

// checkHeaders fails unless p carries the console's security headers.
func checkHeaders(t testing.TB, p page) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy allows inline code: %q", csp)
	}
	if got := p.header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options %q", got)
	}
	if got := p.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", got)
	}
}

// checkNoInlineCode fails on inline scripts, event handler attributes,
// inline styles and javascript: URLs, which the policy would block anyway.
func checkNoInlineCode(t testing.TB, body string) {
	t.Helper()
	for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("inline script: %s", m[0])
		}
	}
	lower := strings.ToLower(body)
	switch {
	case handlerAttr.MatchString(body):
		t.Errorf("event handler attribute: %s", handlerAttr.FindString(body))
	case styleAttr.MatchString(body) || strings.Contains(lower, "<style"):
		t.Error("inline style")
	case strings.Contains(lower, "javascript:"):
		t.Error("javascript: URL")
	}
}

// checkAccessible fails unless the page has a title and a heading, every
// visible control has a label, and every table header a scope.
func checkAccessible(t testing.TB, body string) {
	t.Helper()
	if !titleElement.MatchString(body) || !strings.Contains(body, "<h1>") {
		t.Error("no title or no h1")
	}
	for _, tag := range controlTag.FindAllString(body, -1) {
		if strings.Contains(tag, `type="hidden"`) {
			continue
		}
		id := idAttr.FindStringSubmatch(tag)
		if id == nil || !strings.Contains(body, `<label for="`+id[1]+`"`) {
			t.Errorf("control without a label: %s", tag)
		}
	}
	for _, th := range thTag.FindAllString(body, -1) {
		if !strings.Contains(th, "scope=") {
			t.Errorf("table header without scope: %s", th)
		}
	}
}
