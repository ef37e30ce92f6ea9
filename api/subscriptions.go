package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/netguard"
	"github.com/nats-io/nats.go/jetstream"
)

// SubscriptionStore keeps subscriptions by ID; jetstream.KeyValue is one.
type SubscriptionStore interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error)
	Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error)
	Purge(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error
	WatchAll(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error)
}

// WaitingEnder ends the deliveries of a subscription that wait for a
// scheduled retry; webhook.Ending is one.
type WaitingEnder interface {
	End(ctx context.Context, subID, reason string, now time.Time) (int, error)
}

// SubscriptionsConfig holds the subscriptions resource's options.
type SubscriptionsConfig struct {
	// SecretOverlap is how long the previous secret keeps signing after a
	// rotation; 0 means 24h.
	SecretOverlap time.Duration
	// RequestTimeout bounds the store work of one request; 0 means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Targets is where a subscription URL may point; the zero Policy
	// allows public addresses only.
	Targets netguard.Policy
	// RequireHTTPS refuses plain-http subscription URLs.
	RequireHTTPS bool
	// Secrets seals every signing secret before it is stored: the keyring
	// of the key file every api and dispatcher process shares. Required.
	Secrets webhook.SecretSealer
	// Outcomes gives a subscription's recent success rate, shown in its
	// health when it is read alone; nil shows none.
	Outcomes RecentOutcomes
	// Logger receives server-side failures; nil discards them.
	Logger *slog.Logger
}

// Validate reports the first invalid option.
func (c SubscriptionsConfig) Validate() error {
	if c.SecretOverlap < 0 || c.RequestTimeout < 0 {
		return errors.New("subscriptions: durations must not be negative")
	}
	if c.Secrets == nil {
		return errors.New("subscriptions: no keyring to seal signing secrets with")
	}
	return c.Targets.Validate()
}

func (c SubscriptionsConfig) urlRules() urlRules {
	return urlRules{targets: c.Targets, requireHTTPS: c.RequireHTTPS}
}

// Subscriptions is the /webhooks/subscriptions resource.
type Subscriptions struct {
	store   SubscriptionStore
	waiting WaitingEnder
	cfg     SubscriptionsConfig
	now     func() time.Time
}

// NewSubscriptions returns the resource that keeps subscriptions in store
// and, through waiting, ends the waiting deliveries of a subscription that
// is disabled or deleted. It fails when cfg is invalid.
func NewSubscriptions(store SubscriptionStore, waiting WaitingEnder, cfg SubscriptionsConfig) (*Subscriptions, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SecretOverlap == 0 {
		cfg.SecretOverlap = 24 * time.Hour
	}
	cfg.RequestTimeout, cfg.Logger = requestDefaults(cfg.RequestTimeout, cfg.Logger)
	return &Subscriptions{store: store, waiting: waiting, cfg: cfg, now: time.Now}, nil
}

// Routes returns the resource's routes, to mount at /webhooks/subscriptions.
func (h *Subscriptions) Routes() chi.Router {
	r := chi.NewRouter()
	r.Post("/", h.handle(h.create))
	r.Get("/", h.handle(h.list))
	r.Get("/{id}", h.handle(h.get))
	r.Patch("/{id}", h.handle(h.patch))
	r.Delete("/{id}", h.handle(h.delete))
	r.Post("/{id}/rotate-secret", h.handle(h.rotate))
	r.Get("/{id}/public-keys", h.handle(h.publicKeys))
	return r
}

func (h *Subscriptions) handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return withErrors(h.cfg.RequestTimeout, h.cfg.Logger, fn)
}

func (h *Subscriptions) create(w http.ResponseWriter, r *http.Request) error {
	var in subscriptionBody
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	if err := in.validate(true, h.cfg.urlRules()); err != nil {
		return err
	}
	caller := CallerFrom(r.Context())
	if err := in.allowedFor(caller); err != nil {
		return err
	}
	secret, err := in.signingSecret()
	if err != nil {
		return err
	}
	now := h.now().UTC().Truncate(time.Microsecond)
	stored, err := webhook.NewStoredSecret(secret, now)
	if err != nil {
		return err
	}
	sub := webhook.Subscription{
		ID: uuid.NewString(), Account: caller.Account, Status: webhook.StatusEnabled, CreatedAt: now, UpdatedAt: now,
		Signing: in.signing(), Secrets: []webhook.Secret{stored},
	}
	in.apply(&sub)
	data, err := webhook.EncodeSubscription(sub, h.cfg.Secrets)
	if err != nil {
		return err
	}
	if _, err := h.store.Create(r.Context(), sub.ID, data); err != nil {
		return unavailable("store subscription", err)
	}
	w.Header().Set("Location", "/webhooks/subscriptions/"+sub.ID)
	writeJSON(w, http.StatusCreated, newSubscriptionResponse(sub, secret, now))
	return nil
}

func (h *Subscriptions) get(w http.ResponseWriter, r *http.Request) error {
	sub, _, err := h.load(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	resp := newSubscriptionResponse(sub, "", h.now().UTC())
	if h.cfg.Outcomes != nil {
		delivered, counted, err := h.cfg.Outcomes.RecentOutcomes(r.Context(), sub.ID, recentDeliveries)
		if err != nil {
			return unavailable("read recent deliveries", err)
		}
		resp.Health.Recent = newRecentHealth(delivered, counted)
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (h *Subscriptions) patch(w http.ResponseWriter, r *http.Request) error {
	var in subscriptionBody
	if err := readJSON(w, r, &in); err != nil {
		return err
	}
	if err := in.validate(false, h.cfg.urlRules()); err != nil {
		return err
	}
	if err := in.allowedFor(CallerFrom(r.Context())); err != nil {
		return err
	}
	sub, err := h.change(r.Context(), chi.URLParam(r, "id"), in.apply)
	if err != nil {
		return err
	}
	if in.Status != nil && *in.Status == webhook.StatusDisabled {
		h.endWaiting(r.Context(), sub.ID, "the subscription was disabled")
	}
	writeJSON(w, http.StatusOK, newSubscriptionResponse(sub, "", h.now().UTC()))
	return nil
}

// endWaiting ends the subscription's waiting deliveries. It only logs a
// failure: the dispatcher ends each of them anyway when it comes due.
func (h *Subscriptions) endWaiting(ctx context.Context, id, reason string) {
	if _, err := h.waiting.End(ctx, id, reason, h.now()); err != nil {
		h.cfg.Logger.Warn("waiting deliveries not ended", "subscription", id, "err", err)
	}
}

func (h *Subscriptions) delete(w http.ResponseWriter, r *http.Request) error {
	sub, _, err := h.load(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	// Purge, not delete: no earlier revision, and so no secret, stays behind.
	if err := h.store.Purge(r.Context(), sub.ID); err != nil {
		return unavailable("delete subscription", err)
	}
	h.endWaiting(r.Context(), sub.ID, "the subscription was deleted")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Subscriptions) rotate(w http.ResponseWriter, r *http.Request) error {
	now := h.now().UTC()
	var secret string
	var made error // the system's randomness failing: nothing rotated
	sub, err := h.change(r.Context(), chi.URLParam(r, "id"), func(s *webhook.Subscription) {
		var stored webhook.Secret
		if secret, made = webhook.NewSigningSecret(s.Signing); made == nil {
			stored, made = webhook.NewStoredSecret(secret, now)
		}
		if made == nil {
			s.Rotate(stored, now, h.cfg.SecretOverlap)
		}
	})
	if err = cmp.Or(made, err); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newSubscriptionResponse(sub, secret, now))
	return nil
}

// publicKeysResponse is GET /webhooks/subscriptions/{id}/public-keys: a
// JSON Web Key Set of the keys that sign now, newest first.
type publicKeysResponse struct {
	Keys []publicKey `json:"keys"`
}

func (h *Subscriptions) publicKeys(w http.ResponseWriter, r *http.Request) error {
	sub, _, err := h.load(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, publicKeysResponse{Keys: publicKeys(sub, h.now().UTC())})
	return nil
}

// load reads one subscription and its revision for the caller in ctx; see
// readSubscription.
func (h *Subscriptions) load(ctx context.Context, id string) (webhook.Subscription, uint64, error) {
	key, err := subscriptionKey(id)
	if err != nil {
		return webhook.Subscription{}, 0, err
	}
	return readSubscription(ctx, h.store, key, h.cfg.Logger)
}

// readSubscription reads subscription key and its revision from subs for
// the caller in ctx. It fails with ErrNotFound when the subscription is
// absent, another account's (which must not learn even that it exists), or
// stored as something that does not decode (logged: there is nothing to
// show or act on), and with ErrUnavailable when the bucket cannot be read.
func readSubscription(ctx context.Context, subs EntryGetter, key string, log *slog.Logger) (webhook.Subscription, uint64, error) {
	entry, err := subs.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return webhook.Subscription{}, 0, fmt.Errorf("%w: no subscription %s", ErrNotFound, key)
	}
	if err != nil {
		return webhook.Subscription{}, 0, unavailable("read subscription", err)
	}
	sub, err := decodeSubscription(ctx, entry, log)
	return sub, entry.Revision(), err
}

// decodeSubscription returns the subscription entry holds, for the caller
// in ctx. It fails with ErrNotFound when entry is not the subscription its
// key names (logged) or holds another account's.
func decodeSubscription(ctx context.Context, entry jetstream.KeyValueEntry, log *slog.Logger) (webhook.Subscription, error) {
	var sub webhook.Subscription
	if err := json.Unmarshal(entry.Value(), &sub); err != nil || sub.ID != entry.Key() {
		log.Warn("stored subscription passed over: it does not decode", "subscription", entry.Key(), "revision", entry.Revision(), "err", err)
		return webhook.Subscription{}, fmt.Errorf("%w: no subscription %s", ErrNotFound, entry.Key())
	}
	if !CallerFrom(ctx).Sees(sub.Owner()) {
		return webhook.Subscription{}, fmt.Errorf("%w: no subscription %s", ErrNotFound, entry.Key())
	}
	return sub, nil
}

// change applies edit to a subscription with compare-and-set, storing its
// secrets sealed.
func (h *Subscriptions) change(ctx context.Context, id string, edit func(*webhook.Subscription)) (webhook.Subscription, error) {
	// Reading first answers as load does for what cannot be changed; the
	// check inside edit holds should the account change meanwhile.
	current, _, err := h.load(ctx, id)
	if err != nil {
		return webhook.Subscription{}, err
	}
	key := current.ID
	caller, hidden := CallerFrom(ctx), false
	sub, err := webhook.ModifySubscription(ctx, h.store, key, h.cfg.Secrets, func(s *webhook.Subscription) bool {
		if hidden = !caller.Sees(s.Owner()); hidden {
			return false
		}
		edit(s)
		s.UpdatedAt = h.now().UTC().Truncate(time.Microsecond)
		return true
	})
	switch {
	case hidden, errors.Is(err, jetstream.ErrKeyNotFound):
		return webhook.Subscription{}, fmt.Errorf("%w: no subscription %s", ErrNotFound, key)
	case err != nil:
		return webhook.Subscription{}, unavailable("update subscription", err)
	}
	return sub.Value, nil
}

// subscriptionKey returns the canonical form of a subscription ID, the key
// it is stored under; ErrNotFound for anything that is not a UUID.
func subscriptionKey(id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", fmt.Errorf("%w: no subscription %q", ErrNotFound, id)
	}
	return u.String(), nil
}

// readJSON reads a JSON request body into v under the body limit.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}
