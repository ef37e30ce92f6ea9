package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
)

var (
	rowPattern  = regexp.MustCompile(`(?s)<tr><th scope="row">(\d\d:\d\d)</th>(.*?)</tr>`)
	cellPattern = regexp.MustCompile(`<td>([^<]*)</td>`)
)

// chartTable returns the columns' sums of the values table of chart id on
// p, and how many of its cells hold a value; it fails when p has no such
// chart, image and table both.
func chartTable(t testing.TB, p page, id string) (sums []float64, values int) {
	t.Helper()
	start := strings.Index(p.body, `<figure class="chart" id="`+id+`">`)
	if start < 0 {
		t.Fatalf("no chart %s on the page:\n%s", id, p.body)
	}
	fig := p.body[start:]
	fig = fig[:strings.Index(fig, "</figure>")]
	if !strings.Contains(fig, `<svg `) || !strings.Contains(fig, `aria-labelledby="`+id+`-title `+id+`-desc"`) ||
		!strings.Contains(fig, `<table id="`+id+`-table">`) {
		t.Fatalf("chart %s lacks its image, its text or its table:\n%s", id, fig)
	}
	rows := rowPattern.FindAllStringSubmatch(fig, -1)
	if len(rows) != 60 {
		t.Fatalf("chart %s: %d rows, want 60", id, len(rows))
	}
	for _, row := range rows {
		cells := cellPattern.FindAllStringSubmatch(row[2], -1)
		if sums == nil {
			sums = make([]float64, len(cells))
		}
		for i, c := range cells {
			if c[1] == "—" {
				continue
			}
			v, err := strconv.ParseFloat(strings.ReplaceAll(c[1], ",", ""), 64)
			if err != nil {
				t.Fatalf("chart %s: cell %q", id, c[1])
			}
			sums[i] += v
			values++
		}
	}
	return sums, values
}

// sumsAre reports whether got holds want.
func sumsAre(got []float64, want ...float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestChartsShowTheServicesActivity runs invoices through a service to a
// receiver that answers, then to one that fails until its deliveries are
// dead, and reads the overview's and the subscription's charts.
func TestChartsShowTheServicesActivity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sub := e.subscribe()
	const ok, failing = 4, 1
	for range ok {
		e.invoice("cust_chart")
	}
	e.awaitDeliveries("status=delivered", 2*ok)
	e.recv.status.Store(http.StatusInternalServerError)
	for range failing {
		e.invoice("cust_chart_dead")
	}
	dead := e.awaitDeliveries("status=dead", 2*failing)
	failures := 0
	for _, d := range dead {
		failures += len(d.Attempts)
	}

	b := e.browser()
	var overview page
	natstest.Eventually(t, 15*time.Second, "the overview's charts count every invoice and attempt", func() bool {
		overview = b.get("/console")
		accepted, _ := chartTable(t, overview, "chart-accepted")
		outcomes, _ := chartTable(t, overview, "chart-outcomes")
		attempts, _ := chartTable(t, overview, "chart-attempts")
		return sumsAre(accepted, ok+failing) && sumsAre(outcomes, ok+failing, 0) && sumsAre(attempts, 2*ok, float64(failures), 0)
	})
	checkPage(t, overview)
	if _, n := chartTable(t, overview, "chart-latency"); n == 0 {
		t.Error("the latency chart has no value")
	}
	if _, n := chartTable(t, overview, "chart-lag"); n == 0 {
		t.Error("the lag chart has no sample")
	}
	mustContain(t, overview, "Invoices accepted per minute", "total "+strconv.Itoa(ok+failing)+", peak", `data-live="/console/live/activity"`)
	if strings.Contains(overview.body, "newest failing deliveries") {
		t.Error("the overview still counts attempts over a sample of deliveries")
	}

	p := b.get("/console/subscriptions/" + sub)
	checkPage(t, p)
	if attempts, _ := chartTable(t, p, "chart-sub-attempts"); !sumsAre(attempts, 2*ok, float64(failures), 0) {
		t.Errorf("the subscription's attempts: %v", attempts)
	}
	if deadSums, _ := chartTable(t, p, "chart-sub-dead"); !sumsAre(deadSums, 2*failing) {
		t.Errorf("the subscription's dead deliveries: %v", deadSums)
	}
	if _, n := chartTable(t, p, "chart-sub-latency"); n == 0 {
		t.Error("the subscription's latency chart has no value")
	}

	live := b.get("/console/live/subscriptions/" + sub + "/activity")
	if live.status != http.StatusOK || strings.Contains(live.body, "<html") {
		t.Fatalf("the subscription's chart fragment: %d", live.status)
	}
	chartTable(t, live, "chart-sub-attempts")
	if p := b.get("/console/live/subscriptions/00000000-0000-0000-0000-000000000000/activity"); p.status != http.StatusNotFound {
		t.Errorf("an unknown subscription's charts: %d", p.status)
	}
	other := e.subscribe()
	if attempts, _ := chartTable(t, b.get("/console/subscriptions/"+other), "chart-sub-attempts"); !sumsAre(attempts, 0, 0, 0) {
		t.Errorf("a new subscription's attempts: %v", attempts)
	}
}

// TestAnAccountsKeySeesItsOwnActivityAlone signs in with an account's key
// and an operator's on a service with both, after each of two accounts
// made invoices: the account sees its own counts and none of the
// service's queues; the operator sees everything.
func TestAnAccountsKeySeesItsOwnActivityAlone(t *testing.T) {
	t.Parallel()
	const (
		acme   = "acme-console-key-0123456789abcdef0123456789"
		globex = "globex-console-key-0123456789abcdef0123456789"
		ops    = "ops-console-key-0123456789abcdef0123456789"
	)
	e := newEnv(t, keysFile(t, acme+" account=acme", globex+" account=globex", ops+" operator account=ops")...)
	for key, n := range map[string]int{acme: 2, globex: 3} {
		e.apiKey = key
		for range n {
			e.invoice("cust_scope")
		}
	}
	signIn := func(key string) *browser {
		b := e.browser()
		b.get("/console/login")
		if p := b.post("/console/login", url.Values{"api_key": {key}}); p.status != http.StatusSeeOther {
			t.Fatalf("sign in: %d", p.status)
		}
		return b
	}
	acmeB, opsB := signIn(acme), signIn(ops)

	var all page
	natstest.Eventually(t, 15*time.Second, "the operator's overview counts both accounts' invoices", func() bool {
		all = opsB.get("/console")
		accepted, _ := chartTable(t, all, "chart-accepted")
		return sumsAre(accepted, 5)
	})
	mustContain(t, all, "Counts of every account.", `id="consumer-lag"`, `id="chart-lag"`, `id="dead-count"`)

	overview := acmeB.get("/console")
	checkPage(t, overview)
	live := acmeB.get("/console/live/activity")
	for name, p := range map[string]page{"overview": overview, "live charts": live} {
		if accepted, _ := chartTable(t, p, "chart-accepted"); !sumsAre(accepted, 2) {
			t.Errorf("%s: acme's key sees %v invoices accepted, want its 2", name, accepted)
		}
		mustContain(t, p, "Counts of account acme alone.")
	}
	health := acmeB.get("/console/live/health")
	for name, p := range map[string]page{"overview": overview, "live charts": live, "live health": health} {
		for _, leak := range []string{`id="chart-lag"`, `id="consumer-lag"`, `id="dead-count"`} {
			if strings.Contains(p.body, leak) {
				t.Errorf("%s shows acme's key %s", name, leak)
			}
		}
	}
	mustContain(t, health, `id="health-operator-only"`)
	mustContain(t, overview, `id="health-operator-only"`)
}
