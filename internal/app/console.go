package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/invoiced/invoiced/dispatcher"
	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/config"
	"github.com/invoiced/invoiced/internal/console"
	"github.com/invoiced/invoiced/internal/readmodel"
	"github.com/invoiced/invoiced/internal/webhook"
	"github.com/invoiced/invoiced/processor"
	"github.com/nats-io/nats.go/jetstream"
)

// durableConsumers are the consumers whose lag the console and the metrics
// show.
var durableConsumers = []struct{ stream, name string }{
	{events.StreamInvoices, processor.ConsumerName},
	{events.StreamInvoices, dispatcher.FanOutConsumer},
	{webhook.StreamWebhooks, dispatcher.DeliveryConsumer},
}

// withConsole serves the web console beside apiHandler on a process with
// the api role; others get apiHandler as it is. The console calls
// apiHandler in process and asks for a login when the API has keys.
func (s *Service) withConsole(apiHandler http.Handler) (http.Handler, error) {
	if !s.cfg.Has(config.RoleAPI) {
		return apiHandler, nil
	}
	src := consoleSource{model: s.model, stream: s.handles.Invoices, js: s.js}
	c, err := console.New(apiHandler, console.Sources{History: src, Health: src}, console.Config{
		RequireLogin: s.cfg.KeysConfigured(),
		Logger:       s.log.With("role", "console"),
	})
	if err != nil {
		return nil, err
	}
	return besideConsole(apiHandler, c), nil
}

// besideConsole answers /console and every path below /console/ with
// consoleHandler, and everything else with apiHandler. The console stays outside the
// API's router, so it is no API route.
func besideConsole(apiHandler, consoleHandler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isConsolePath(r.URL.Path) {
			consoleHandler.ServeHTTP(w, r)
			return
		}
		apiHandler.ServeHTTP(w, r)
	})
}

func isConsolePath(path string) bool {
	return path == console.Prefix || strings.HasPrefix(path, console.Prefix+"/")
}

// consoleSource reads for the console what the API does not show.
type consoleSource struct {
	model  *readmodel.Store
	stream jetstream.Stream // INVOICES
	js     jetstream.JetStream
}

// History returns the events of invoice invoiceID in the order they
// happened: those the read model holds, and any newer one still on its way
// there from the INVOICES stream.
func (c consoleSource) History(ctx context.Context, invoiceID string) ([]events.Event, error) {
	id, err := uuid.Parse(invoiceID)
	if err != nil {
		return nil, fmt.Errorf("history: %q is no invoice ID", invoiceID)
	}
	var found []events.Event
	inv, err := c.model.Invoice(ctx, id.String())
	switch {
	case err == nil:
		found = inv.Events()
	case !errors.Is(err, readmodel.ErrNotFound):
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	var out []events.Event
	for _, t := range events.Types { // the order events of one invoice happen in
		if i := slices.IndexFunc(found, func(ev events.Event) bool { return ev.Type == t }); i >= 0 {
			out = append(out, found[i])
			continue
		}
		msg, err := c.stream.GetLastMsgForSubject(ctx, events.Subject(id.String(), t))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		ev, err := events.DecodeMsg(msg.Subject, msg.Data)
		if err != nil {
			return nil, fmt.Errorf("history of %s: event %d: %w", id, msg.Sequence, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

// Health returns each durable consumer's lag, as its info reports it, and
// how many deliveries are dead letters.
func (c consoleSource) Health(ctx context.Context) (console.Health, error) {
	var h console.Health
	for _, dc := range durableConsumers {
		h.Consumers = append(h.Consumers, c.lag(ctx, dc.stream, dc.name))
	}
	dead, err := c.model.CountDeliveries(ctx, readmodel.DeliveryFilter{Status: webhook.DeliveryDead})
	if err != nil {
		return h, err
	}
	h.Dead = dead
	return h, nil
}

// lag reads one consumer's info within two seconds.
func (c consoleSource) lag(ctx context.Context, stream, name string) console.ConsumerLag {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	lag := console.ConsumerLag{Stream: stream, Name: name}
	cons, err := c.js.Consumer(ctx, stream, name)
	if err != nil {
		lag.Error = consumerProblem(err)
		return lag
	}
	info, err := cons.Info(ctx)
	if err != nil {
		lag.Error = consumerProblem(err)
		return lag
	}
	lag.Pending, lag.AckPending = info.NumPending, uint64(max(info.NumAckPending, 0))
	return lag
}

// consumerProblem says briefly why a consumer could not be read.
func consumerProblem(err error) string {
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return "not found: no process with its role has started"
	}
	return "unreadable: " + err.Error()
}
