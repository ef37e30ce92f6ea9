package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/invoiced/invoiced/internal/app"
	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/config"
)

// brokerDescription says, for the start-up log, who may reach NATS.
func brokerDescription(cfg config.Serve) string {
	switch {
	case !cfg.Embedded():
		return "NATS as its server's accounts allow"
	case cfg.NATSListen == broker.ListenOff:
		return "embedded NATS in-process only"
	case cfg.BrokerLocked():
		return "embedded NATS on " + cfg.NATSListen + " admits only the nkey in " + filepath.Join(cfg.Data, broker.UserFile)
	}
	return "embedded NATS on " + cfg.NATSListen + " open to anyone on this machine"
}

// securityDescription says, for the start-up log, how exposed the service
// is.
func securityDescription(cfg config.Serve) string {
	callers := "no API key required (loopback: this machine is trusted)"
	if cfg.KeysConfigured() {
		callers = "API key required"
	}
	targets := "webhooks may reach private addresses"
	if !cfg.WebhookAllowPrivate {
		targets = "webhooks blocked from loopback, private and link-local addresses"
		if cfg.WebhookAllowCIDRs != "" {
			targets += " except " + cfg.WebhookAllowCIDRs
		}
	}
	if cfg.WebhookRequireHTTPS {
		targets += ", https only"
	}
	if cfg.RateLimit > 0 {
		callers += fmt.Sprintf(", %g requests/s per key (burst %d)", cfg.RateLimit, cfg.RateBurst)
	}
	return callers + "; " + targets + "; " + brokerDescription(cfg)
}

func natsDescription(svc *app.Service, cfg config.Serve) string {
	switch {
	case !cfg.Embedded():
		return "external"
	case svc.NATSURL() == "":
		return "embedded (in-process only)"
	}
	return "embedded at " + svc.NATSURL()
}

func fsyncDescription(cfg config.Serve) string {
	if !cfg.Embedded() {
		return "set by the NATS servers"
	}
	return cfg.Fsync
}

// dataDescription says, for the start-up log, what --data holds for this
// process: the embedded JetStream store, the api role's read model, the
// default secrets key file, the embedded server's user seed; or that it
// holds nothing.
func dataDescription(cfg config.Serve) string {
	var holds []string
	if cfg.Embedded() {
		holds = append(holds, "JetStream store")
	}
	if cfg.Has(config.RoleAPI) {
		holds = append(holds, "read model")
	}
	if cfg.NeedsSecretsKey() && cfg.SecretsKey().MayCreate() {
		holds = append(holds, "secrets key file")
	}
	if cfg.BrokerLocked() {
		holds = append(holds, "NATS user seed")
	}
	switch {
	case len(holds) == 0:
		return "unused (JetStream is on the external NATS)"
	case !cfg.Embedded():
		return cfg.Data + " (" + strings.Join(holds, ", ") + "; JetStream is on the external NATS)"
	}
	return cfg.Data + " (" + strings.Join(holds, ", ") + ")"
}

// secretsDescription says, for the start-up log, which key file seals.
func secretsDescription(svc *app.Service, cfg config.Serve) string {
	ids := svc.SecretsKeyIDs()
	if len(ids) == 0 {
		return "not used by these roles"
	}
	return fmt.Sprintf("%s (key %s seals, %d in all)", cfg.SecretsKey().Path(), ids[0], len(ids))
}
