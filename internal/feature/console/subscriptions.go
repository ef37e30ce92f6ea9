package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/invoiced/invoiced/client"
	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// subscriptionForm is what the new-subscription form holds.
type subscriptionForm struct {
	URL         string
	Description string
	EventTypes  []string
	Signing     string // hmac, ed25519, or empty for hmac
	Ordering    string // none, per_invoice, or empty for none
}

// Has reports whether the form ticks eventType.
func (f subscriptionForm) Has(eventType string) bool { return slices.Contains(f.EventTypes, eventType) }

// SignsWith reports whether the form chooses signing; an empty choice is
// hmac, the API's default.
func (f subscriptionForm) SignsWith(signing string) bool {
	return f.Signing == signing || (f.Signing == "" && signing == string(client.SigningHMAC))
}

// OrdersBy reports whether the form chooses ordering; an empty choice is
// none, the API's default.
func (f subscriptionForm) OrdersBy(ordering string) bool {
	return f.Ordering == ordering || (f.Ordering == "" && ordering == string(client.OrderingNone))
}

// subscriptionsData is the subscriptions page's data.
type subscriptionsData struct {
	List  []client.Subscription
	Form  subscriptionForm
	Error *errorView
}

func (c *Console) subscriptionsPage(w http.ResponseWriter, r *http.Request) {
	c.showSubscriptions(w, r, http.StatusOK, subscriptionForm{EventTypes: webhook.EventTypes, Signing: string(client.SigningHMAC),
		Ordering: string(client.OrderingNone)}, nil)
}

// subscriptions lists every subscription who may see.
func subscriptions(ctx context.Context, who caller) ([]client.Subscription, error) {
	var out []client.Subscription
	for s, err := range who.api.ListSubscriptions(ctx, client.SubscriptionListParams{}, who.id) {
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// showSubscriptions renders the list with the form as given and, after a
// refused create, the API's problem.
func (c *Console) showSubscriptions(w http.ResponseWriter, r *http.Request, status int, form subscriptionForm, problem *errorView) {
	list, err := subscriptions(r.Context(), c.callerOf(r))
	if err != nil {
		c.fail(w, r, err, Prefix)
		return
	}
	data := subscriptionsData{List: list, Form: form, Error: problem}
	c.render(w, r, status, "subscriptions", view{Title: "Subscriptions", Nav: "subscriptions", Data: data})
}

func (c *Console) createSubscription(w http.ResponseWriter, r *http.Request) {
	form := subscriptionForm{
		URL: r.PostForm.Get("url"), Description: r.PostForm.Get("description"), EventTypes: r.PostForm["event_types"],
		Signing: r.PostForm.Get("signing"), Ordering: r.PostForm.Get("ordering"),
	}
	// The API checks the signing and ordering chosen, and says what it
	// refuses.
	params := client.SubscriptionParams{URL: form.URL, Description: form.Description, Signing: client.Signing(form.Signing),
		Ordering: client.Ordering(form.Ordering)}
	if len(form.EventTypes) > 0 {
		params.EventTypes = eventTypes(form.EventTypes)
	}
	who := c.callerOf(r)
	sub, err := who.api.CreateSubscription(r.Context(), params, who.id)
	var ae *client.Error
	if errors.As(err, &ae) && ae.Status != http.StatusUnauthorized {
		p := problemView(ae, "")
		c.showSubscriptions(w, r, ae.Status, form, &p)
		return
	}
	if err != nil {
		c.fail(w, r, err, Prefix+"/subscriptions")
		return
	}
	c.showSecret(w, r, *sub, true)
}

// secretData is the page shown after a create or a rotation: an hmac
// subscription's new secret, shown once, or an ed25519 one's public keys.
type secretData struct {
	Sub     subscription
	Created bool
}

func (c *Console) showSecret(w http.ResponseWriter, r *http.Request, sub client.Subscription, created bool) {
	data := secretData{Sub: subscription{sub}, Created: created}
	title := "Secret rotated"
	switch {
	case created:
		title = "Subscription created"
	case data.Sub.Ed25519():
		title = "Key rotated"
	}
	c.render(w, r, http.StatusOK, "secret", view{Title: title, Nav: "subscriptions", Data: data})
}

// subscriptionData is one subscription's page data.
type subscriptionData struct {
	Sub      subscription
	Since    string // the recover form's default: a day ago
	Activity activityView
}

func (c *Console) subscriptionPage(w http.ResponseWriter, r *http.Request) {
	who := c.callerOf(r)
	sub, err := who.api.GetSubscription(r.Context(), chi.URLParam(r, "id"), who.id)
	if err != nil {
		c.fail(w, r, err, Prefix+"/subscriptions")
		return
	}
	data := subscriptionData{Sub: subscription{*sub}, Since: c.dayAgo(), Activity: c.subscriptionActivity(sub.ID)}
	c.render(w, r, http.StatusOK, "subscription", view{Title: "Subscription " + short(data.Sub.ID), Nav: "subscriptions", Data: data})
}

// dayAgo is the default of a recover form's since: a day ago, to the second.
func (c *Console) dayAgo() string {
	return c.now().UTC().Add(-24 * time.Hour).Truncate(time.Second).Format(time.RFC3339)
}

// subscriptionPage returns the console page of the subscription r names.
func subscriptionPage(r *http.Request) string {
	return Prefix + "/subscriptions/" + url.PathEscape(chi.URLParam(r, "id"))
}

func (c *Console) setEventTypes(w http.ResponseWriter, r *http.Request) {
	// Sent even when empty: the API says what an empty choice means.
	c.patch(w, r, client.SubscriptionUpdateParams{EventTypes: eventTypes(r.PostForm["event_types"])}, "Event types saved.")
}

// eventTypes returns types as the client takes them; never nil.
func eventTypes(types []string) []client.EventType {
	out := make([]client.EventType, len(types))
	for i, t := range types {
		out[i] = client.EventType(t)
	}
	return out
}

func (c *Console) setOrdering(w http.ResponseWriter, r *http.Request) {
	// Sent as chosen, even empty: the API says what it refuses.
	ordering := client.Ordering(r.PostForm.Get("ordering"))
	c.patch(w, r, client.SubscriptionUpdateParams{Ordering: &ordering}, "Ordering saved.")
}

func (c *Console) setStatus(w http.ResponseWriter, r *http.Request) {
	status := client.SubscriptionStatus(r.PostForm.Get("status"))
	c.patch(w, r, client.SubscriptionUpdateParams{Status: &status}, "Subscription "+string(status)+".")
}

// patch changes the subscription r names and goes back to its page.
func (c *Console) patch(w http.ResponseWriter, r *http.Request, params client.SubscriptionUpdateParams, done string) {
	who := c.callerOf(r)
	if _, err := who.api.UpdateSubscription(r.Context(), chi.URLParam(r, "id"), params, who.id); err != nil {
		c.fail(w, r, err, subscriptionPage(r))
		return
	}
	c.done(w, r, subscriptionPage(r), done)
}

func (c *Console) rotateSecret(w http.ResponseWriter, r *http.Request) {
	who := c.callerOf(r)
	sub, err := who.api.RotateSubscriptionSecret(r.Context(), chi.URLParam(r, "id"), who.id)
	if err != nil {
		c.fail(w, r, err, subscriptionPage(r))
		return
	}
	c.showSecret(w, r, *sub, false)
}

func (c *Console) deleteSubscription(w http.ResponseWriter, r *http.Request) {
	if r.PostForm.Get("confirm") != "yes" {
		c.showError(w, r, errorView{Status: http.StatusBadRequest, Title: "Not deleted",
			Detail: "Tick the confirmation box to delete the subscription.", Back: subscriptionPage(r)})
		return
	}
	who := c.callerOf(r)
	if err := who.api.DeleteSubscription(r.Context(), chi.URLParam(r, "id"), who.id); err != nil {
		c.fail(w, r, err, subscriptionPage(r))
		return
	}
	c.done(w, r, Prefix+"/subscriptions", "Subscription deleted.")
}

func (c *Console) recoverSubscription(w http.ResponseWriter, r *http.Request) {
	back := returnTo(r, subscriptionPage(r))
	since, err := time.Parse(time.RFC3339, r.PostForm.Get("since"))
	if err != nil {
		why := fmt.Sprintf("must be an RFC 3339 time such as 2006-01-02T15:04:05Z, not %q", r.PostForm.Get("since"))
		c.showError(w, r, errorView{Status: http.StatusBadRequest, Title: "Not recovered", Detail: "Since " + why + ".",
			Fields: []client.FieldError{{Field: "since", Detail: why}}, Back: back})
		return
	}
	who := c.callerOf(r)
	out, err := who.api.RecoverSubscription(r.Context(), chi.URLParam(r, "id"), client.RecoverParams{Since: since}, who.id)
	if err != nil {
		c.fail(w, r, err, back)
		return
	}
	c.done(w, r, back, plural(out.Recovered, "delivery", "deliveries")+" queued for another attempt.")
}

// sendTestEvent asks the API to send the subscription a test event and
// goes to its delivery.
func (c *Console) sendTestEvent(w http.ResponseWriter, r *http.Request) {
	who := c.callerOf(r)
	out, err := who.api.SendTestEvent(r.Context(), chi.URLParam(r, "id"),
		client.TestEventParams{EventType: client.EventType(r.PostForm.Get("event_type"))}, who.id)
	if err != nil {
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
