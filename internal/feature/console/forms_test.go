package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/natstest"
)

var (
	secretPattern       = regexp.MustCompile(`id="secret"[^>]*value="(whsec_[^"]+)"`)
	subscriptionPattern = regexp.MustCompile(`href="/console/subscriptions/([0-9a-f-]{36})" id="to-subscription"`)
)

// apiSubscription is a subscription as the API shows it.
type apiSubscription struct {
	EventTypes []string `json:"event_types"`
	Status     string   `json:"status"`
	Ordering   string   `json:"ordering"`
}

func TestSubscriptionLifecycleThroughTheForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.get("/console/subscriptions")

	refused := b.post("/console/subscriptions", url.Values{"url": {"ftp://nowhere"}, "description": {"kept <as typed>"}})
	if refused.status != http.StatusBadRequest {
		t.Fatalf("a bad URL: %d", refused.status)
	}
	checkPage(t, refused)
	mustContain(t, refused, `id="problem"`, "<code>url</code>", `value="ftp://nowhere"`, `value="kept &lt;as typed&gt;"`)

	created := b.post("/console/subscriptions", url.Values{
		"url": {e.recv.srv.URL + "/hook"}, "event_types": {"invoice.created", "invoice.failed"}, "description": {"from the console"},
	})
	checkPage(t, created)
	secret, id := secretPattern.FindStringSubmatch(created.body), subscriptionPattern.FindStringSubmatch(created.body)
	if created.status != http.StatusOK || secret == nil || id == nil || strings.Contains(created.body, `id="public-keys"`) {
		t.Fatalf("create: %d: %s", created.status, created.body)
	}
	subPath := "/webhooks/subscriptions/" + id[1]
	pagePath := "/console/subscriptions/" + id[1]
	if p := b.get(pagePath); strings.Contains(p.body, secret[1]) {
		t.Fatal("the secret is shown again")
	}
	var sub apiSubscription
	e.api(http.MethodGet, subPath, "", &sub)
	if !slices.Equal(sub.EventTypes, []string{"invoice.created", "invoice.failed"}) {
		t.Fatalf("event types %v", sub.EventTypes)
	}

	steps := []struct {
		name   string
		action string
		form   url.Values
		flash  string
		check  func(apiSubscription) bool
	}{
		{"edit event types", "/event-types", url.Values{"event_types": {"invoice.processed"}}, "Event types saved.",
			func(s apiSubscription) bool { return slices.Equal(s.EventTypes, []string{"invoice.processed"}) }},
		{"disable", "/status", url.Values{"status": {"disabled"}}, "Subscription disabled.",
			func(s apiSubscription) bool { return s.Status == "disabled" }},
		{"enable", "/status", url.Values{"status": {"enabled"}}, "Subscription enabled.",
			func(s apiSubscription) bool { return s.Status == "enabled" }},
		{"order per invoice", "/ordering", url.Values{"ordering": {"per_invoice"}}, "Ordering saved.",
			func(s apiSubscription) bool { return s.Ordering == "per_invoice" }},
		{"order none", "/ordering", url.Values{"ordering": {"none"}}, "Ordering saved.",
			func(s apiSubscription) bool { return s.Ordering == "none" }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			b.get(pagePath)
			back := b.follow(b.post(pagePath+s.action, s.form))
			checkPage(t, back)
			mustContain(t, back, s.flash)
			var got apiSubscription
			e.api(http.MethodGet, subPath, "", &got)
			if !s.check(got) {
				t.Fatalf("the API shows %+v", got)
			}
		})
	}

	t.Run("test event", func(t *testing.T) {
		page := b.get(pagePath)
		mustContain(t, page, `id="send-test"`, `<option value="invoice.processed" selected>`)
		sent := b.post(pagePath+"/test", url.Values{"event_type": {"invoice.failed"}})
		if sent.status != http.StatusSeeOther || !strings.HasPrefix(sent.header.Get("Location"), "/console/deliveries/") {
			t.Fatalf("test event: %d to %q", sent.status, sent.header.Get("Location"))
		}
		deliveryPath := strings.TrimPrefix(sent.header.Get("Location"), "/console")
		natstest.Eventually(t, 20*time.Second, "the test event's delivery", func() bool {
			var d struct {
				EventType string `json:"event_type"`
				Status    string `json:"status"`
			}
			status := e.api(http.MethodGet, "/webhooks"+deliveryPath, "", &d)
			return status == http.StatusOK && d.EventType == "invoice.failed" && d.Status != ""
		})
		mustContain(t, b.follow(sent), "Test event sent")
		// The payload is shown as sent, the test marker too.
		mustContain(t, b.get("/console"+deliveryPath), `id="payload"`, `&#34;test&#34;: true`, `&#34;customer_id&#34;: &#34;cust_test&#34;`)
	})
	t.Run("unknown ordering", func(t *testing.T) {
		b.get(pagePath)
		refused := b.post(pagePath+"/ordering", url.Values{"ordering": {"fifo"}})
		if refused.status != http.StatusBadRequest {
			t.Fatalf("ordering fifo: %d", refused.status)
		}
		mustContain(t, refused, `id="problem"`, "must be none or per_invoice")
	})
	t.Run("no event types", func(t *testing.T) {
		b.get(pagePath)
		refused := b.post(pagePath+"/event-types", url.Values{})
		if refused.status != http.StatusBadRequest {
			t.Fatalf("an empty choice of event types: %d", refused.status)
		}
		mustContain(t, refused, `id="problem"`, "must name at least one event type")
	})
	t.Run("rotate", func(t *testing.T) {
		p := b.post(pagePath+"/rotate-secret", nil)
		rotated := secretPattern.FindStringSubmatch(p.body)
		if p.status != http.StatusOK || rotated == nil || rotated[1] == secret[1] {
			t.Fatalf("rotate: %d: %s", p.status, p.body)
		}
		checkPage(t, p)
	})
	t.Run("delete needs the confirmation", func(t *testing.T) {
		if p := b.post(pagePath+"/delete", nil); p.status != http.StatusBadRequest {
			t.Fatalf("unconfirmed delete: %d", p.status)
		}
		if status := e.api(http.MethodGet, subPath, "", nil); status != http.StatusOK {
			t.Fatalf("deleted without confirmation: %d", status)
		}
	})
	t.Run("delete", func(t *testing.T) {
		list := b.follow(b.post(pagePath+"/delete", url.Values{"confirm": {"yes"}}))
		mustContain(t, list, "Subscription deleted.", "No subscriptions yet.")
		if status := e.api(http.MethodGet, subPath, "", nil); status != http.StatusNotFound {
			t.Fatalf("after delete the API answers %d", status)
		}
	})
}

func TestDeadLettersAreRetriedAndRecoveredThroughTheForms(t *testing.T) {
	t.Parallel()
	d := newDeadEnv(t)
	d.recv.status.Store(http.StatusOK)
	b := d.browser()
	first, second := d.dead[0].ID, d.dead[1].ID

	b.get("/console/dead-letters")
	back := b.follow(b.post("/console/deliveries/"+first+"/retry", url.Values{"return": {"dead-letters"}}))
	mustContain(t, back, "Another attempt is queued")
	natstest.Eventually(t, 20*time.Second, "the retry's attempt shows on the delivery's page", func() bool {
		p := b.get("/console/deliveries/" + first)
		return strings.Contains(p.body, `id="attempt-3"`) && strings.Contains(p.body, "badge-delivered")
	})
	p := b.get("/console/deliveries/" + first)
	checkPage(t, p)
	mustContain(t, p, "<td>manual</td>")

	b.get("/console/subscriptions/" + d.subID)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	recovered := b.follow(b.post("/console/subscriptions/"+d.subID+"/recover", url.Values{"since": {since}, "return": {"dead-letters"}}))
	mustContain(t, recovered, "1 delivery queued for another attempt.")
	natstest.Eventually(t, 20*time.Second, "the recovered delivery is delivered", func() bool {
		return strings.Contains(b.get("/console/live/deliveries/"+second).body, "badge-delivered")
	})
	if p := b.get("/console/dead-letters"); !strings.Contains(p.body, "No dead letters.") {
		t.Fatalf("dead letters left:\n%s", p.body)
	}
}

func TestLiveFragmentsShowNewDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.subscribe()
	b := e.browser()
	empty := b.get("/console/live/deliveries")
	if empty.status != http.StatusOK || !strings.HasPrefix(empty.header.Get("Content-Type"), "text/html") {
		t.Fatalf("fragment: %d %q", empty.status, empty.header.Get("Content-Type"))
	}
	checkHeaders(t, empty)
	checkNoInlineCode(t, empty.body)
	if !strings.Contains(empty.body, "No deliveries.") || strings.Contains(empty.body, "<html") {
		t.Fatalf("an empty fragment: %s", empty.body)
	}
	e.invoice("cust_live")
	ds := e.awaitDeliveries("status=delivered", 2)
	natstest.Eventually(t, 10*time.Second, "the fragment lists both new deliveries", func() bool {
		p := b.get("/console/live/deliveries")
		return strings.Contains(p.body, `id="delivery-`+ds[0].ID) && strings.Contains(p.body, `id="delivery-`+ds[1].ID)
	})
	one := b.get("/console/live/deliveries?event_type=invoice.created")
	if strings.Count(one.body, `<tr id="delivery-`) != 1 {
		t.Fatalf("the filtered fragment: %s", one.body)
	}
	attempts := b.get("/console/live/deliveries/" + ds[0].ID)
	mustContain(t, attempts, `id="attempt-1"`, "badge-delivered")
	health := b.get("/console/live/health")
	mustContain(t, health, `id="consumer-dispatcher"`, `id="dead-count"`)
	if health.status != http.StatusOK || strings.Contains(health.body, "<html") {
		t.Fatalf("health fragment: %d", health.status)
	}
}
