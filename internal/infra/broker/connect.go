package broker

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Connect opens a connection named name to the NATS server at url or, when
// srv is not nil, an in-process connection to srv. The connection reconnects
// forever, and a server that is down at start is retried in the background,
// so a broker outage heals by itself. auth signs in to an external server.
// Connect fails only on bad options.
func Connect(url string, srv *server.Server, name string, log *slog.Logger, auth Auth) (*nats.Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(true),
		// No buffering while disconnected: a publish fails at once, so an
		// answered 503 can never be followed by a late write.
		nats.ReconnectBufSize(-1),
		nats.DrainTimeout(10 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("NATS reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("NATS async error", "subject", subject, "err", err)
		}),
	}
	if srv != nil {
		opts = append(opts, nats.InProcessServer(srv))
		url = ""
	}
	authOpts, err := auth.Options()
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	opts = append(opts, authOpts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	return nc, nil
}
