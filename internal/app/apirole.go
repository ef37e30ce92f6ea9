package app

import (
	"context"
	"path/filepath"
	"time"

	"github.com/invoiced/invoiced/api"
	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/internal/feature/readmodel"
	"github.com/invoiced/invoiced/internal/infra/config"
)

// apiResources opens the read model, starts following the history into it,
// reports its lag and the oldest undelivered webhook, and fills in the
// resources of the api role.
func (s *Service) apiResources(res *api.Resources) error {
	keys, err := apiKeys(s.cfg)
	if err != nil {
		return err
	}
	auth, err := api.NewAuth(keys, api.AuthConfig{RateLimit: s.cfg.RateLimit, RateBurst: s.cfg.RateBurst, Logger: s.log})
	if err != nil {
		return err
	}
	s.auth, res.Auth = auth, auth
	if s.model, err = readmodel.Open(filepath.Join(s.cfg.Data, readmodel.FileName)); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.follower, err = s.model.Follow(ctx, s.js, s.handles.Deliveries, s.log.With("role", config.RoleAPI)); err != nil {
		return err
	}
	if err := s.metrics.WatchReadModel(s.follower.Behind); err != nil {
		return err
	}
	waiting := func(ctx context.Context) (time.Time, bool, error) { return dispatcher.OldestWaitingTask(ctx, s.js) }
	if err := s.metrics.WatchOldestUndelivered(s.model.OldestUndelivered, waiting); err != nil {
		return err
	}
	resource := api.ResourceConfig{RequestTimeout: s.cfg.RequestTimeout, Logger: s.log}
	ledger := api.NewLedger(s.apiJS, s.handles.Invoices, s.model, s.follower, s.cfg.ReadModelMaxLag())
	if res.Invoices, err = api.NewInvoices(ledger, resource); err != nil {
		return err
	}
	if res.Events, err = api.NewEvents(ledger, s.model, resource); err != nil {
		return err
	}
	res.Subscriptions, err = api.NewSubscriptions(s.handles.Subscriptions, s.ending(), api.SubscriptionsConfig{
		SecretOverlap:  s.cfg.WebhookSecretOverlap,
		Targets:        s.cfg.WebhookTargets(),
		RequireHTTPS:   s.cfg.WebhookRequireHTTPS,
		RequestTimeout: s.cfg.RequestTimeout,
		Secrets:        s.secrets,
		Outcomes:       s.model,
		Logger:         s.log,
	})
	if err != nil {
		return err
	}
	res.Deliveries, err = api.NewDeliveries(s.model, s.handles.Subscriptions, s.apiJS, resource)
	return err
}
