package console_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleInTheBrowser drives the console in headless Chromium through
// an operator's journey on a live service with API keys: sign in with the
// keyboard alone, create a subscription through the form, watch an
// invoice's deliveries arrive without a reload, read an attempt, let a
// delivery go dead and retry it from the dead letters, see the overview's
// charts drawn from that traffic, then create an ed25519 subscription and
// read its public keys. Every page reached
// is audited (accessible names, contrast) and saved as a screenshot.
func TestConsoleInTheBrowser(t *testing.T) {
	t.Parallel()
	browser := needChromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	e := newEnv(t, append(keysFile(t, testKey+" operator"), "--webhook-retry-schedule", "50ms")...)
	e.apiKey = testKey
	b := openTab(ctx, t, browser, e.base)

	signInByKeyboard(b, e.apiKey)
	createSubscription(b, e.recv.srv.URL+"/hook")
	delivered := watchDeliveriesArrive(b, e)
	readDelivery(b, delivered)
	retryDeadLetter(b, e)
	browseInvoices(b)
	b.visit("/console", "#chart-attempts svg")
	b.checkCharts("overview", 5, "chart-accepted", "chart-outcomes", "chart-attempts")
	b.step("overview-charts")
	createEd25519Subscription(b, e.recv.srv.URL+"/signed")
	b.click("#sign-out", "#login-form")

	b.audit.report(b)
	b.checkConsole()
	t.Logf("journey took %s; screenshots in %s", time.Since(began).Round(time.Millisecond), b.shots.dir)
}

// signInByKeyboard opens the console, is sent to the login form, and signs
// in without the mouse: Tab to the key field, type, Tab to the button,
// Enter.
func signInByKeyboard(b *tab, key string) {
	b.t.Helper()
	b.visit("/console", "#login-form")
	if loc := b.location(); loc != b.base+"/console/login" {
		b.t.Fatalf("the console before login is at %s, not the login form", loc)
	}
	b.step("login")
	path := b.tabTo("api-key", 6)
	b.do("type the key", chromedp.KeyEvent(key))
	b.tabTo("sign-in", 1)
	b.do("press Enter", chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.ID("health")))
	if loc := b.location(); loc != b.base+"/console" {
		b.t.Fatalf("signed in at %s, not the overview", loc)
	}
	b.t.Logf("keyboard: Tab %s, typed the key, Tab to sign-in, Enter", strings.Join(path, " → "))
	b.step("overview")
}

// createSubscription creates a subscription of url to every event type
// through the console's form.
func createSubscription(b *tab, url string) {
	b.t.Helper()
	b.click("#nav-subscriptions", "#create-subscription")
	b.step("subscriptions")
	b.do("fill the form",
		chromedp.SendKeys(chromedp.ID("new-url"), url),
		chromedp.SendKeys(chromedp.ID("new-description"), "browser test receiver"))
	b.click("#create", "#secret")
	if secret := eval[string](b, `document.getElementById("secret").value`); secret == "" {
		b.t.Fatal("the new subscription's secret is not shown")
	}
	b.step("subscription-created")
	b.click("#to-subscription", "#subscription-fields")
	if got := b.text("#subscription-fields"); !strings.Contains(got, url) || !strings.Contains(got, "enabled") {
		b.t.Fatalf("the new subscription's page shows %q", got)
	}
	b.step("subscription")
}

// createEd25519Subscription creates a subscription of url signed with
// ed25519 through the form: its public key shows instead of a secret, and
// again on its page.
func createEd25519Subscription(b *tab, url string) {
	b.t.Helper()
	b.click("#nav-subscriptions", "#create-subscription")
	if !eval[bool](b, `document.getElementById("new-signing-hmac").checked`) {
		b.t.Fatal("hmac is not the form's default signing")
	}
	if !eval[bool](b, `document.getElementById("new-ordering-none").checked`) {
		b.t.Fatal("none is not the form's default ordering")
	}
	b.do("fill the form", chromedp.SendKeys(chromedp.ID("new-url"), url), chromedp.Click(chromedp.ID("new-signing-ed25519")))
	b.click("#create", "#public-keys")
	key := b.text("#public-keys tbody th")
	if !strings.HasPrefix(key, "whpk_") || eval[bool](b, `!!document.getElementById("secret")`) {
		b.t.Fatalf("the new ed25519 subscription shows key %q, or a secret", key)
	}
	b.step("created-ed25519")
	b.click("#to-subscription", "#public-keys")
	if got := b.text("#subscription-signing"); !strings.HasPrefix(got, "ed25519") || b.text("#public-keys tbody th") != key {
		b.t.Fatalf("the ed25519 subscription's page shows signing %q and not key %s", got, key)
	}
	b.step("subscription-ed25519")
}

// watchDeliveriesArrive opens the deliveries, posts an invoice through the
// API and waits, without a reload, for its two deliveries (created and
// processed) to show as delivered; it returns one's ID.
func watchDeliveriesArrive(b *tab, e *env) string {
	b.t.Helper()
	b.click("#nav-deliveries", "#deliveries")
	b.awaitLive()
	if n := eval[int](b, `document.querySelectorAll('#delivery-rows tr[id^="delivery-"]').length`); n != 0 {
		b.t.Fatalf("%d deliveries before any invoice", n)
	}
	b.step("deliveries-empty")
	b.markPage()
	e.invoice("cust_browser")
	b.waitFor("two delivered deliveries", `document.querySelectorAll("#delivery-rows .badge-delivered").length === 2`)
	b.samePage("the deliveries' live update")
	b.step("deliveries-live")
	return eval[string](b, `document.querySelector("#delivery-rows .badge-delivered").closest("tr").id.slice("delivery-".length)`)
}

// attemptRow is one row of a delivery's attempts, as the page shows it.
type attemptRow struct {
	Class    string `json:"class"`
	Trigger  string `json:"trigger"`
	Duration string `json:"duration"`
	Status   string `json:"status"`
}

var durationText = regexp.MustCompile(`^\d+ ms$`)

// attempt reads attempt number n of the delivery page shown and checks it
// succeeded by trigger with a duration.
func (b *tab) attempt(n int, trigger string) attemptRow {
	b.t.Helper()
	a := eval[attemptRow](b, fmt.Sprintf(`(() => {
	  const r = document.getElementById("attempt-%d"), c = r.cells, t = (i) => c[i].textContent.trim();
	  return { class: r.className, trigger: t(1), duration: t(3), status: t(4) };
	})()`, n))
	if a.Class != "attempt-success" || a.Status != "200" || a.Trigger != trigger || !durationText.MatchString(a.Duration) {
		b.t.Fatalf("attempt %d: %+v; want a %s success, 200, with a duration", n, a, trigger)
	}
	return a
}

// readDelivery opens delivery id from the list and reads its attempt.
func readDelivery(b *tab, id string) {
	b.t.Helper()
	b.click(`#delivery-`+id+` th a`, "#attempt-1")
	if got := b.text("#delivery-status"); got != "delivered" {
		b.t.Fatalf("delivery %s is %q", id, got)
	}
	a := b.attempt(1, "scheduled")
	b.t.Logf("delivery %s: attempt 1 %s in %s", id, a.Status, a.Duration)
	b.step("delivery")
}

// retryDeadLetter lets an invoice's deliveries go dead against a failing
// receiver, waits for them on the dead letters page without a reload,
// heals the receiver, retries one with its button and waits for the new
// attempt to succeed.
func retryDeadLetter(b *tab, e *env) {
	b.t.Helper()
	e.recv.status.Store(http.StatusInternalServerError)
	b.click("#nav-dead-letters", "#dead-letters")
	b.awaitLive()
	b.markPage()
	e.invoice("cust_browser_dead")
	b.waitFor("two dead letters", `document.querySelectorAll('#dead-rows tr[id^="dead-"]').length === 2`)
	b.samePage("the dead letters' live update")
	b.step("dead-letters")
	id := eval[string](b, `document.querySelector('#dead-rows tr[id^="dead-"]').id.slice("dead-".length)`)
	attempts := eval[int](b, fmt.Sprintf(`Number(document.getElementById("dead-%s").cells[4].textContent)`, id))

	e.recv.status.Store(http.StatusOK)
	b.click("#retry-"+id, "#flash")
	if got := b.text("#flash"); !strings.Contains(got, "Another attempt is queued") {
		b.t.Fatalf("after retry the page says %q", got)
	}
	b.waitFor("the retried delivery to leave the dead letters", fmt.Sprintf(`!document.getElementById("dead-%s")`, id))
	b.step("retry-queued")

	b.visit("/console/deliveries/"+id, "#attempt-1")
	b.waitFor("the retry's successful attempt", fmt.Sprintf(
		`document.querySelector("#attempt-%d.attempt-success") && document.querySelector("#delivery-status .badge-delivered")`, attempts+1))
	a := b.attempt(attempts+1, "manual")
	b.t.Logf("dead letter %s: %d failed attempts, then the retry answered %s in %s", id, attempts, a.Status, a.Duration)
	b.step("delivery-retried")
}

// browseInvoices opens the invoices and the newest one's events, and a
// page that does not exist.
func browseInvoices(b *tab) {
	b.t.Helper()
	b.click("#nav-invoices", "#invoices")
	b.step("invoices")
	b.click(`#invoices tbody th a`, "#history")
	b.step("invoice")
	b.visit("/console/no-such-page", "#problem")
	b.step("not-found")
}

// awaitLive waits for the page's script to start its live updates.
func (b *tab) awaitLive() {
	b.t.Helper()
	b.waitFor("live updates", `document.getElementById("live-status").textContent.startsWith("Live:")`)
}

// location returns the URL the tab shows.
func (b *tab) location() string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("location: %v", err)
	}
	return loc
}
