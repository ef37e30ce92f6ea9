package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/invoiced/invoiced/internal/webhook"
)

// subscriptionForm is what the new-subscription form holds.
type subscriptionForm struct {
	URL         string
	Description string
	EventTypes  []string
}

// Has reports whether the form ticks eventType.
func (f subscriptionForm) Has(eventType string) bool { return slices.Contains(f.EventTypes, eventType) }

// subscriptionsData is the subscriptions page's data.
type subscriptionsData struct {
	List  []subscription
	Form  subscriptionForm
	Error *errorView
}

func (c *Console) subscriptionsPage(w http.ResponseWriter, r *http.Request) {
	c.showSubscriptions(w, r, http.StatusOK, subscriptionForm{EventTypes: webhook.EventTypes}, nil)
}

// showSubscriptions renders the list with the form as given and, after a
// refused create, the API's problem.
func (c *Console) showSubscriptions(w http.ResponseWriter, r *http.Request, status int, form subscriptionForm, problem *errorView) {
	var list subscriptionList
	if err := c.api.get(r.Context(), callerOf(r), "/webhooks/subscriptions", nil, &list); err != nil {
		c.fail(w, r, err, Prefix)
		return
	}
	data := subscriptionsData{List: list.Data, Form: form, Error: problem}
	c.render(w, r, status, "subscriptions", view{Title: "Subscriptions", Nav: "subscriptions", Data: data})
}

func (c *Console) createSubscription(w http.ResponseWriter, r *http.Request) {
	form := subscriptionForm{
		URL: r.PostForm.Get("url"), Description: r.PostForm.Get("description"), EventTypes: r.PostForm["event_types"],
	}
	body := map[string]any{"url": form.URL}
	if len(form.EventTypes) > 0 {
		body["event_types"] = form.EventTypes
	}
	if form.Description != "" {
		body["description"] = form.Description
	}
	var sub subscription
	err := c.api.do(r.Context(), callerOf(r), http.MethodPost, "/webhooks/subscriptions", body, &sub)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status != http.StatusUnauthorized {
		p := ae.Problem
		c.showSubscriptions(w, r, ae.Status, form, &errorView{Status: ae.Status, Title: p.Title, Detail: p.Detail, Fields: p.Errors})
		return
	}
	if err != nil {
		c.fail(w, r, err, Prefix+"/subscriptions")
		return
	}
	c.showSecret(w, r, sub, true)
}

// secretData is the page that shows a new signing secret, once.
type secretData struct {
	Sub     subscription
	Created bool
}

func (c *Console) showSecret(w http.ResponseWriter, r *http.Request, sub subscription, created bool) {
	title := "Secret rotated"
	if created {
		title = "Subscription created"
	}
	c.render(w, r, http.StatusOK, "secret", view{Title: title, Nav: "subscriptions", Data: secretData{Sub: sub, Created: created}})
}

// subscriptionData is one subscription's page data.
type subscriptionData struct {
	Sub   subscription
	Since string // the recover form's default: a day ago
}

func (c *Console) subscriptionPage(w http.ResponseWriter, r *http.Request) {
	var data subscriptionData
	if err := c.api.get(r.Context(), callerOf(r), subscriptionPath(r), nil, &data.Sub); err != nil {
		c.fail(w, r, err, Prefix+"/subscriptions")
		return
	}
	data.Since = c.dayAgo()
	c.render(w, r, http.StatusOK, "subscription", view{Title: "Subscription " + short(data.Sub.ID), Nav: "subscriptions", Data: data})
}

// dayAgo is the default of a recover form's since: a day ago, to the second.
func (c *Console) dayAgo() string {
	return c.now().UTC().Add(-24 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
}

// subscriptionPath is the API path of the subscription r names.
func subscriptionPath(r *http.Request) string {
	return "/webhooks/subscriptions/" + url.PathEscape(chi.URLParam(r, "id"))
}

// subscriptionPage returns the console page of the subscription r names.
func subscriptionPage(r *http.Request) string {
	return Prefix + "/subscriptions/" + url.PathEscape(chi.URLParam(r, "id"))
}

func (c *Console) setEventTypes(w http.ResponseWriter, r *http.Request) {
	types := r.PostForm["event_types"]
	if types == nil {
		types = []string{} // the API says what an empty choice means
	}
	c.patch(w, r, map[string]any{"event_types": types}, "Event types saved.")
}

func (c *Console) setStatus(w http.ResponseWriter, r *http.Request) {
	status := r.PostForm.Get("status")
	c.patch(w, r, map[string]any{"status": status}, "Subscription "+status+".")
}

// patch changes the subscription r names and goes back to its page.
func (c *Console) patch(w http.ResponseWriter, r *http.Request, body map[string]any, done string) {
	if err := c.api.do(r.Context(), callerOf(r), http.MethodPatch, subscriptionPath(r), body, nil); err != nil {
		c.fail(w, r, err, subscriptionPage(r))
		return
	}
	c.done(w, r, subscriptionPage(r), done)
}

func (c *Console) rotateSecret(w http.ResponseWriter, r *http.Request) {
	var sub subscription
	if err := c.api.do(r.Context(), callerOf(r), http.MethodPost, subscriptionPath(r)+"/rotate-secret", nil, &sub); err != nil {
		c.fail(w, r, err, subscriptionPage(r))
		return
	}
	c.showSecret(w, r, sub, false)
}

func (c *Console) deleteSubscription(w http.ResponseWriter, r *http.Request) {
	if r.PostForm.Get("confirm") != "yes" {
		c.showError(w, r, errorView{Status: http.StatusBadRequest, Title: "Not deleted",
			Detail: "Tick the confirmation box to delete the subscription.", Back: subscriptionPage(r)})
		return
	}
	if err := c.api.do(r.Context(), callerOf(r), http.MethodDelete, subscriptionPath(r), nil, nil); err != nil {
		c.fail(w, r, err, subscriptionPage(r))
		return
	}
	c.done(w, r, Prefix+"/subscriptions", "Subscription deleted.")
}

func (c *Console) recoverSubscription(w http.ResponseWriter, r *http.Request) {
	back := returnTo(r, subscriptionPage(r))
	var out recovered
	body := map[string]any{"since": r.PostForm.Get("since")}
	if err := c.api.do(r.Context(), callerOf(r), http.MethodPost, subscriptionPath(r)+"/recover", body, &out); err != nil {
		c.fail(w, r, err, back)
		return
	}
	c.done(w, r, back, plural(out.Recovered, "delivery", "deliveries")+" queued for another attempt.")
}

// sendTestEvent asks the API to send the subscription a test event and
// goes to its delivery.
func (c *Console) sendTestEvent(w http.ResponseWriter, r *http.Request) {
	var out struct {
		DeliveryID string `json:"delivery_id"`
	}
	body := map[string]any{"event_type": r.PostForm.Get("event_type")}
	if err := c.api.do(r.Context(), callerOf(r), http.MethodPost, subscriptionPath(r)+"/test", body, &out); err != nil {
		c.fail(w, r, err, subscriptionPage(r))
		return
	}
	c.done(w, r, Prefix+"/deliveries/"+url.PathEscape(out.DeliveryID),
		"Test event sent; its delivery shows here from its first attempt.")
}

// done leaves a message for the next page and goes there.
func (c *Console) done(w http.ResponseWriter, r *http.Request, to, text string) {
	c.sessions.setFlash(stateOf(r).sess.id, flash{Kind: "ok", Text: text})
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// returnTo is where a form asks to go back to: one of the console's own
// pages it names in its "return" field, else def.
func returnTo(r *http.Request, def string) string {
	switch r.PostForm.Get("return") {
	case "dead-letters":
		return Prefix + "/dead-letters"
	case "deliveries":
		return Prefix + "/deliveries"
	}
	return def
}
