package app

import (
	"net/http"

	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/feature/console"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/history"
	"github.com/invoiced/invoiced/internal/infra/metrics"
	"github.com/invoiced/invoiced/processor"
)

// durableConsumers are the consumers whose lag the console and the metrics
// show.
var durableConsumers = []console.Consumer{
	{Stream: events.StreamInvoices, Name: processor.ConsumerName},
	{Stream: events.StreamInvoices, Name: dispatcher.FanOutConsumer},
	{Stream: webhook.StreamWebhooks, Name: dispatcher.DeliveryConsumer},
}

// withConsole serves the web console beside apiHandler on a process with
// the api role; others get apiHandler as it is. The console calls
// apiHandler in process, asks for a login when the API has keys, and
// draws its charts from the read model's activity and the lag it samples
// until the service closes.
func (s *Service) withConsole(apiHandler http.Handler) (http.Handler, error) {
	if !s.cfg.Has(config.RoleAPI) {
		return apiHandler, nil
	}
	log := s.log.With("role", "console")
	src := s.consoleSource()
	src.Skips = history.NewSkips("console", log)
	if err := s.metrics.WatchUndecodable(metrics.ReaderConsole, src.Skips.Count); err != nil {
		return nil, err
	}
	c, err := console.New(apiHandler, console.Sources{History: src, Health: src, Lag: src, Activity: s.model.Activity()}, console.Config{
		RequireLogin: s.cfg.KeysConfigured(),
		Logger:       log,
	})
	if err != nil {
		return nil, err
	}
	c.Start()
	s.console = c
	return console.Beside(apiHandler, c), nil
}

// consoleSource returns what the console reads beside the API.
func (s *Service) consoleSource() console.Stored {
	return console.Stored{Model: s.model, Invoices: s.handles.Invoices, JS: s.js, Consumers: durableConsumers}
}
