package app

import (
	"strings"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/infra/groupcommit"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// groupedStreams are the streams the roles publish to through group-commit
// writers, by subject prefix.
var groupedStreams = map[string]string{
	events.StreamInvoices:  events.SubjectPrefix + ".",
	webhook.StreamWebhooks: strings.TrimSuffix(webhook.AllTasks, ">"),
}

// group sets up the writers the roles publish through: one per stream, so
// concurrent writes share disk syncs, and for the API writers of its own
// when other roles share the process, since a client waits on each of its
// publishes and they should not queue behind the processor's outcomes or
// fan-out's tasks. It fails when the writers cannot be made or watched.
func (s *Service) group(nc *nats.Conn, js jetstream.JetStream) error {
	var err error
	if s.grouped, err = groupcommit.Group(nc, js, groupcommit.Config{}, groupedStreams); err != nil {
		return err
	}
	s.apiGrouped = s.grouped
	if s.cfg.Has(config.RoleAPI) && (s.cfg.Has(config.RoleProcessor) || s.cfg.Has(config.RoleDispatcher)) {
		if s.apiGrouped, err = groupcommit.Group(nc, js, groupcommit.Config{}, groupedStreams); err != nil {
			return err
		}
	}
	for stream := range groupedStreams {
		if err := s.metrics.WatchGroupCommit(stream, groupcommit.StatsOf(stream, s.grouped, s.apiGrouped)); err != nil {
			return err
		}
	}
	s.js = s.metrics.JetStream(s.grouped)
	s.apiJS = s.metrics.JetStream(s.apiGrouped)
	return nil
}
