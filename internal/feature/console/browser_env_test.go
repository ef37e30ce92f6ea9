package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests run when Chromium is found: at /usr/bin/chromium or as
// one of chromiumNames on PATH. CI sets requireBrowserEnv, so a missing
// browser fails there instead of skipping; artifactsEnv names where the
// screenshots go (a temporary directory otherwise).
const (
	requireBrowserEnv = "INVOICED_REQUIRE_BROWSER"
	artifactsEnv      = "INVOICED_ARTIFACTS"
	// stepTimeout bounds each browser action and each wait for an outcome.
	stepTimeout = 20 * time.Second
)

var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

const installChromium = "the console's browser tests need Chromium: install it with " +
	"`apt-get install -y --no-install-recommends chromium` (Debian; Ubuntu: chromium-browser) " +
	"or put chromium, chromium-browser, google-chrome or headless-shell on PATH"

// findChromium returns the Chromium to drive, or "" when there is none.
func findChromium() string {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needChromium returns the browser's path; without one it skips t, or fails
// it when requireBrowserEnv is set.
func needChromium(t testing.TB) string {
	t.Helper()
	path := findChromium()
	switch {
	case path != "":
		return path
	case os.Getenv(requireBrowserEnv) != "":
		t.Fatalf("%s is set but no Chromium was found: %s", requireBrowserEnv, installChromium)
	default:
		t.Skipf("no Chromium found (set %s to fail instead): %s", requireBrowserEnv, installChromium)
	}
	return ""
}

// tab is one headless Chromium tab on a console.
type tab struct {
	t     testing.TB
	ctx   context.Context // the tab's, bounded by the whole test's timeout
	base  string          // the service's URL
	shots *shots
	audit *audit
	last  time.Time // when the previous step ended
	// console collects what the page logged as an error, and every
	// exception.
	mu      sync.Mutex
	console []string
}

// openTab starts headless Chromium (the executable browser) within ctx and
// opens a tab on the console at base; cleanup closes the browser.
func openTab(ctx context.Context, t testing.TB, browser, base string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses its sandbox to root
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	started := time.Now()
	if err := chromedp.Do(tabCtx); err != nil { // starts the browser
		cancelTab()
		cancelAlloc()
		t.Fatalf("start %s: %v", browser, err)
	}
	t.Logf("headless Chromium started in %s", time.Since(started).Round(time.Millisecond))
	b := &tab{t: t, ctx: tabCtx, base: base, shots: newShots(t), audit: &audit{}, last: time.Now()}
	done := b.watchConsole()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		<-done
	})
	return b
}

// watchConsole collects the page's errors and exceptions until the tab
// closes; the returned channel closes then.
func (b *tab) watchConsole() <-chan struct{} {
	messages := chromedp.Console(b.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if (m.IsException() || m.Type == chromedp.ConsoleError) && !expectedMiss(m) {
				b.mu.Lock()
				b.console = append(b.console, fmt.Sprintf("%s (%s %s)", m, m.Source, m.URL))
				b.mu.Unlock()
			}
		}
	}()
	return done
}

// expectedMisses are the paths the browser may be told are missing: its own
// guess at an icon, and the page the journey visits to see the console's
// 404.
var expectedMisses = []string{"/favicon.ico", "/console/no-such-page"}

// expectedMiss reports whether m is the browser logging an expected 404.
func expectedMiss(m chromedp.ConsoleMessage) bool {
	return m.Source == "network" && slices.ContainsFunc(expectedMisses, func(p string) bool { return strings.HasSuffix(m.URL, p) })
}

// checkConsole fails if the page logged an error or threw: a script
// failure or a Content-Security-Policy violation.
func (b *tab) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		b.t.Errorf("browser console: %s", m)
	}
}

// do runs actions within stepTimeout; what says what they do.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates the JavaScript expression js in the page.
func eval[T any](b *tab, js string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %.60q: %v", js, err)
	}
	return v
}

// waitFor waits until the JavaScript expression cond is true, polling the
// page at each animation frame, for at most stepTimeout.
func (b *tab) waitFor(what, cond string) {
	b.t.Helper()
	b.do("wait for "+what, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(stepTimeout)))
}

// visit loads path and waits for sel to be visible.
func (b *tab) visit(path, sel string) {
	b.t.Helper()
	b.do("visit "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// click clicks sel, then waits for want (a selector on the page it leads
// to) to be visible.
func (b *tab) click(sel, want string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitVisible(chromedp.CSS(want)))
}

// text returns the text of the element sel names, which must exist.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.querySelector(%q).textContent.trim()`, sel))
}

// step ends a step of the journey: it audits the page as it is and saves a
// full-page screenshot named name.
func (b *tab) step(name string) {
	b.t.Helper()
	lowest := b.audit.page(b, name)
	path := b.shots.save(b, name)
	b.t.Logf("step %-21s %7s  lowest contrast %5.2f:1  %s", name, time.Since(b.last).Round(time.Millisecond), lowest, path)
	b.last = time.Now()
}

// markPage marks the loaded document, so samePage can tell a live update
// from a reload.
func (b *tab) markPage() {
	b.t.Helper()
	eval[chromedp.Void](b, `window.invoicedTestMark = "not reloaded"`)
}

// samePage fails unless the document markPage marked is still shown.
func (b *tab) samePage(what string) {
	b.t.Helper()
	if got := eval[string](b, `String(window.invoicedTestMark)`); got != "not reloaded" {
		b.t.Fatalf("%s: the page reloaded (mark %q)", what, got)
	}
}

// shots saves numbered screenshots into one directory.
type shots struct {
	dir string
	n   int
}

// newShots saves into $INVOICED_ARTIFACTS when set, else a test directory.
func newShots(t testing.TB) *shots {
	t.Helper()
	dir := os.Getenv(artifactsEnv)
	if dir == "" {
		return &shots{dir: t.TempDir()}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("%s: %v", artifactsEnv, err)
	}
	return &shots{dir: dir}
}

// save writes a full-page PNG screenshot of b's page and returns its path.
func (s *shots) save(b *tab, name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	path := filepath.Join(s.dir, fmt.Sprintf("console-%02d-%s.png", s.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	return path
}
