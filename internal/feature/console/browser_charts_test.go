package console_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// docsScreenshotEnv names a file to save a light-mode screenshot of the
// overview's charts to, for the README; unset, none is saved. Made with
//
//	INVOICED_DOCS_SCREENSHOT=$PWD/docs/images/console-charts.png go test -run ChartsInTheBrowser ./internal/feature/console/
const docsScreenshotEnv = "INVOICED_DOCS_SCREENSHOT"

// chartReport is what chartsJS finds of one chart.
type chartReport struct {
	ID       string  `json:"id"`
	Role     string  `json:"role"`
	Named    string  `json:"named"` // its title and description, as aria-labelledby names them
	Width    float64 `json:"width"`
	Height   float64 `json:"height"`
	Drawn    int     `json:"drawn"` // data elements drawn with a non-empty box
	Rows     int     `json:"rows"`  // of its values table
	Fill     string  `json:"fill"`  // the first series' colour
	Backdrop string  `json:"backdrop"`
}

// chartsJS reports every chart of the page: its image's size, role and
// accessible text, how many of its bars, lines and points have a box
// (lines may be flat), its table's rows and its first series' colour.
const chartsJS = `(() => Array.from(document.querySelectorAll("figure.chart")).map((fig) => {
  const svg = fig.querySelector("svg"), box = svg.getBoundingClientRect();
  const named = (svg.getAttribute("aria-labelledby") || "").split(/\s+/).map((id) => {
    const el = document.getElementById(id);
    return el && svg.contains(el) ? el.textContent : "";
  }).join(" | ");
  const drawn = Array.from(fig.querySelectorAll("g.chart-data rect, g.chart-data path, g.chart-data circle")).filter((el) => {
    const r = el.getBoundingClientRect();
    return el.tagName === "path" ? r.width > 0 || r.height > 0 : r.width > 0 && r.height > 0;
  }).length;
  const first = svg.querySelector(".series-1");
  return { id: fig.id, role: svg.getAttribute("role"), named: named, width: box.width, height: box.height, drawn: drawn,
    rows: fig.querySelectorAll("details table tbody tr").length, fill: first ? getComputedStyle(first).fill : "",
    backdrop: getComputedStyle(document.body).backgroundColor };
}))()`

// TestConsoleChartsInTheBrowser sends invoices through a service to a
// receiver that answers and then fails, and checks in headless Chromium,
// in the light and the dark colour scheme, that the overview's and the
// subscription's charts are drawn from that traffic, with their text and
// tables, readable (the audit's contrast) and saved as screenshots.
func TestConsoleChartsInTheBrowser(t *testing.T) {
	t.Parallel()
	browser := needChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	e := newEnv(t)
	sub := e.subscribe()
	for range 12 {
		e.invoice("cust_chart")
	}
	e.awaitDeliveries("status=delivered&limit=100", 24)
	e.recv.status.Store(http.StatusServiceUnavailable)
	e.invoice("cust_chart_dead")
	e.awaitDeliveries("status=dead", 2)
	b := openTab(ctx, t, browser, e.base)

	b.visit("/console", "#chart-attempts svg")
	light := b.checkCharts("overview", 5, "chart-accepted", "chart-outcomes", "chart-attempts", "chart-latency")
	b.step("charts-light")
	if path := os.Getenv(docsScreenshotEnv); path != "" {
		b.saveElement("#activity", path)
	}
	b.colorScheme("dark")
	dark := b.checkCharts("overview", 5, "chart-accepted", "chart-attempts")
	if light[0].Backdrop == dark[0].Backdrop || light[0].Fill == dark[0].Fill {
		t.Errorf("the dark scheme changes neither the background (%s) nor the series' colour (%s)", dark[0].Backdrop, dark[0].Fill)
	}
	b.step("charts-dark")

	b.visit("/console/subscriptions/"+sub, "#chart-sub-attempts svg")
	b.checkCharts("subscription", 3, "chart-sub-attempts", "chart-sub-latency", "chart-sub-dead")
	b.step("subscription-charts-dark")
	b.colorScheme("light")
	b.step("subscription-charts-light")
	b.checkConsole()
}

// checkCharts waits until the page shows n charts, those named in drawn
// with data drawn, and fails unless each is an image of a size, named by
// its title and a description, with a table of 60 minutes; it returns
// what it found.
func (b *tab) checkCharts(page string, n int, drawn ...string) []chartReport {
	b.t.Helper()
	cond := `(() => { const r = ` + chartsJS + `; return r.length === ` + strconv.Itoa(n) + ` && ["` + strings.Join(drawn, `","`) +
		`"].every((id) => r.some((c) => c.id === id && c.drawn > 0)); })()`
	b.waitFor(page+": charts drawn from the traffic", cond)
	charts := eval[[]chartReport](b, chartsJS)
	for _, c := range charts {
		if c.Role != "img" || c.Width < 100 || c.Height < 40 || c.Rows != 60 || !strings.Contains(c.Named, "Last 60 minutes") {
			b.t.Errorf("%s: chart %s: %+v", page, c.ID, c)
		}
	}
	return charts
}

// colorScheme makes the page prefer scheme, "light" or "dark".
func (b *tab) colorScheme(scheme string) {
	b.t.Helper()
	b.do("prefer the "+scheme+" colour scheme", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	}))
	b.waitFor("the "+scheme+" scheme", `matchMedia("(prefers-color-scheme: `+scheme+`)").matches`)
}

// saveElement writes a PNG screenshot of the element sel names to path.
func (b *tab) saveElement(sel, path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", sel, err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot %s: %v", sel, err)
	}
	b.t.Logf("saved %s as %s", sel, path)
}
