package main

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/config"
)

func TestComposeRunsEachRoleTwiceAgainstTheCluster(t *testing.T) {
	c := readCompose(t)
	procs := parseDeployed(t, c)

	byRole := map[string][]string{}
	for _, p := range procs {
		if len(p.cfg.Roles) != 1 {
			t.Errorf("%s runs roles %v, want one role a service", p.name, p.cfg.Roles)
			continue
		}
		byRole[p.cfg.Roles[0]] = append(byRole[p.cfg.Roles[0]], p.name)
	}
	for _, tt := range []struct {
		role string
		want int
	}{
		{config.RoleAPI, 2},
		{config.RoleProcessor, 2},
		{config.RoleDispatcher, 2},
	} {
		if got := len(byRole[tt.role]); got != tt.want {
			t.Errorf("%d services run the %s role (%v), want %d", got, tt.role, byRole[tt.role], tt.want)
		}
	}

	first := procs[0]
	for _, p := range procs {
		t.Run(p.name, func(t *testing.T) {
			if p.cfg.Embedded() {
				t.Fatal("no --nats-url: it would embed its own single-node JetStream")
			}
			if p.cfg.Replicas != 3 {
				t.Errorf("--replicas %d, want 3", p.cfg.Replicas)
			}
			if got := natsURLHosts(t, p.cfg.NATSURL); !slices.Equal(got, []string{"n1:4222", "n2:4222", "n3:4222"}) {
				t.Errorf("--nats-url reaches %v, want every node's client port", got)
			}
			// Every process sets the streams and consumers up with its own
			// settings, the last to start winning (docs/ARCHITECTURE.md).
			if p.cfg.Replicas != first.cfg.Replicas || p.cfg.DedupWindow != first.cfg.DedupWindow ||
				p.cfg.ProcessWorkers != first.cfg.ProcessWorkers || p.cfg.ProcessDelay != first.cfg.ProcessDelay {
				t.Errorf("stream and consumer settings differ from %s's", first.name)
			}
			grace, err := time.ParseDuration(p.svc.StopGracePeriod)
			if err != nil || grace <= p.cfg.ShutdownTimeout {
				t.Errorf("stop_grace_period %q: want more than --shutdown-timeout %s, or docker kills a graceful stop",
					p.svc.StopGracePeriod, p.cfg.ShutdownTimeout)
			}
			for _, n := range natsNodes {
				if _, ok := p.svc.DependsOn[n]; !ok {
					t.Errorf("does not depend on %s", n)
				}
			}
			if p.svc.Restart == "" || p.svc.Restart == "no" {
				t.Error("not restarted when it fails")
			}
		})
	}
}

// natsURLHosts returns the host:port of each URL in a --nats-url list.
func natsURLHosts(t testing.TB, urls string) []string {
	t.Helper()
	var hosts []string
	for _, s := range strings.Split(urls, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil || u.Scheme != "nats" {
			t.Fatalf("--nats-url entry %q: want nats://host:port", s)
		}
		hosts = append(hosts, u.Host)
	}
	slices.Sort(hosts)
	return hosts
}

func TestComposeAPIIsReachableAndLocked(t *testing.T) {
	c := readCompose(t)
	header := composeHeader(t)
	hostPorts := map[int]string{}
	for _, p := range parseDeployed(t, c) {
		if !p.cfg.Has(config.RoleAPI) {
			if ports := composePorts(t, p.svc); len(ports) > 0 {
				t.Errorf("%s publishes %v but serves no API", p.name, ports)
			}
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			host, port, err := net.SplitHostPort(p.cfg.Addr)
			if err != nil || config.IsLoopback(p.cfg.Addr) {
				t.Fatalf("--addr %q: other containers and published ports cannot reach a loopback address", p.cfg.Addr)
			}
			if host != "" && host != "0.0.0.0" && host != "::" {
				t.Errorf("--addr %q: want every interface of the container", p.cfg.Addr)
			}
			if !p.cfg.KeysConfigured() {
				t.Fatal("no API keys on a non-loopback --addr")
			}
			// parseDeployed read a mounted keys file at its source.
			mounts := composeMounts(t, p.svc)
			i := slices.IndexFunc(mounts, func(m composeMount) bool { return m.bind() && hostFile(m) == p.cfg.APIKeysFile })
			if i < 0 {
				t.Fatalf("--api-keys-file %q is not a file mounted into the container", p.cfg.APIKeysFile)
			}
			if !mounts[i].ReadOnly {
				t.Errorf("the keys file is mounted writable: add :ro")
			}
			if _, err := config.ReadKeysFile(p.cfg.APIKeysFile); err != nil {
				t.Fatal(err)
			}
			ports := composePorts(t, p.svc)
			if len(ports) != 1 {
				t.Fatalf("publishes %d ports, want the API's", len(ports))
			}
			pub := ports[0]
			if strconv.Itoa(pub.Container) != port {
				t.Errorf("publishes container port %d, but the API listens on %s", pub.Container, port)
			}
			// The demo key is public: the API stays on the host's loopback.
			if ip, err := netip.ParseAddr(pub.HostIP); err != nil || !ip.IsLoopback() {
				t.Errorf("published on %q, want a loopback address while deploy/api-keys holds a demo key", pub.HostIP)
			}
			if other, dup := hostPorts[pub.HostPort]; dup {
				t.Errorf("host port %d is published by %s too", pub.HostPort, other)
			}
			hostPorts[pub.HostPort] = p.name
			if !strings.Contains(header, fmt.Sprintf("%s:%d", pub.HostIP, pub.HostPort)) {
				t.Errorf("port %s:%d is not documented in the comment at the top of %s", pub.HostIP, pub.HostPort, composePath)
			}
			if err := p.cfg.WebhookTargets().CheckURL(receiverURL); err != nil {
				t.Errorf("the documented subscription URL is refused: %v", err)
			}
		})
	}
	if len(hostPorts) != 2 {
		t.Errorf("the API is published on %d host ports, want 2", len(hostPorts))
	}
	for name, svc := range c.Services {
		for _, pub := range composePorts(t, svc) {
			if !strings.Contains(header, fmt.Sprintf("%s:%d", pub.HostIP, pub.HostPort)) {
				t.Errorf("%s: port %s:%d is not documented in the comment at the top of %s", name, pub.HostIP, pub.HostPort, composePath)
			}
		}
	}
	if !strings.Contains(header, receiverURL) {
		t.Errorf("the comment at the top of %s does not show how to subscribe %s", composePath, receiverURL)
	}
}

func TestComposeWebhooksReachOnlyTheReceiversNetwork(t *testing.T) {
	c := readCompose(t)
	receiver, ok := c.Services[receiverService]
	if !ok || receiver.Image == "" || receiver.Build != nil {
		t.Fatalf("no %s service running a receiver image", receiverService)
	}
	if _, tag, _ := strings.Cut(receiver.Image, ":"); tag == "" || tag == "latest" {
		t.Errorf("%s image %q: pin a tag", receiverService, receiver.Image)
	}
	members := map[string][]string{} // network → services
	for name, svc := range c.Services {
		for _, n := range svc.Networks {
			if _, ok := c.Networks[n]; !ok {
				t.Fatalf("%s joins undeclared network %s", name, n)
			}
			members[n] = append(members[n], name)
		}
	}
	dispatchers := 0
	for _, p := range parseDeployed(t, c) {
		if !p.cfg.Has(config.RoleDispatcher) && !p.cfg.Has(config.RoleAPI) {
			continue
		}
		t.Run(p.name, func(t *testing.T) {
			policy := p.cfg.WebhookTargets()
			if policy.AllowPrivate {
				t.Error("--webhook-allow-private lets webhooks reach NATS and every service: allow the receivers' network only")
			}
			if len(policy.AllowCIDRs) == 0 {
				t.Fatal("no --webhook-allow-cidrs: the receiver's private address is refused")
			}
			if p.cfg.Has(config.RoleDispatcher) {
				dispatchers++
			}
			reached := false
			for _, n := range receiver.Networks {
				if !slices.Contains(p.svc.Networks, n) {
					continue
				}
				reached = true
				subnets := networkSubnets(t, c, n)
				for _, sub := range subnets {
					// The first address is the gateway; the receiver has one
					// of the next.
					if err := policy.Check(sub.Addr().Next().Next()); err != nil {
						t.Errorf("network %s (%s): %v", n, sub, err)
					}
				}
			}
			if p.cfg.Has(config.RoleDispatcher) && !reached {
				t.Errorf("shares no network with %s", receiverService)
			}
			// Every allowed prefix lies inside a receivers' network.
			for _, allowed := range policy.AllowCIDRs {
				inside := false
				for _, n := range receiver.Networks {
					for _, sub := range networkSubnets(t, c, n) {
						inside = inside || (sub.Bits() <= allowed.Bits() && sub.Contains(allowed.Addr()))
					}
				}
				if !inside {
					t.Errorf("--webhook-allow-cidrs %s reaches beyond the receivers' network", allowed)
				}
			}
		})
	}
	if dispatchers != 2 {
		t.Errorf("%d dispatchers, want 2", dispatchers)
	}
	for _, n := range receiver.Networks {
		for _, other := range members[n] {
			svc := c.Services[other]
			if strings.HasPrefix(svc.Image, "nats:") {
				t.Errorf("NATS node %s shares network %s with the receiver, which webhooks may reach", other, n)
			}
		}
	}
}

// networkSubnets returns the fixed subnets of a compose network; webhooks
// can be allowed only to a network whose addresses are known.
func networkSubnets(t testing.TB, c composeFile, name string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, cfg := range c.Networks[name].IPAM.Config {
		p, err := netip.ParsePrefix(cfg.Subnet)
		if err != nil {
			t.Fatalf("network %s: subnet %q: %v", name, cfg.Subnet, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatalf("network %s has no fixed subnet to allow webhooks to", name)
	}
	return out
}

// natsNode is what one node's config file and compose service say.

func TestComposeGivesEachAPIAReadModelOfItsOwn(t *testing.T) {
	c := readCompose(t)
	owners := map[string]string{}
	for _, p := range parseDeployed(t, c) {
		if !p.cfg.Has(config.RoleAPI) {
			continue
		}
		m, ok := mountAt(composeMounts(t, p.svc), p.cfg.Data)
		switch {
		case !ok || m.bind():
			t.Errorf("%s: --data %q is not a named volume, so its read model is rebuilt whenever the container is", p.name, p.cfg.Data)
			continue
		case m.ReadOnly:
			t.Errorf("%s: --data is mounted read-only", p.name)
		}
		if _, declared := c.Volumes[m.Source]; !declared {
			t.Errorf("%s: volume %s is not declared", p.name, m.Source)
		}
		if other, shared := owners[m.Source]; shared {
			t.Errorf("%s and %s share the volume %s, but a read model is one process's", p.name, other, m.Source)
		}
		owners[m.Source] = p.name
	}
	if len(owners) != 2 {
		t.Errorf("%d api services have a read model volume, want 2", len(owners))
	}
}

func TestComposeSharesOneKeyForSigningSecrets(t *testing.T) {
	c := readCompose(t)
	init, ok := c.Services["secrets"]
	if !ok {
		t.Fatal("no secrets service makes the key")
	}
	args := composeStrings(t, init.Command)
	if len(args) < 2 || args[0] != "secrets" || args[1] != config.SecretsInit {
		t.Fatalf("secrets service runs %q, want invoiced secrets init", args)
	}
	sc, err := config.ParseSecrets(args[1:], func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	key := sc.Key.Path()
	volume, ok := mountAt(composeMounts(t, init), filepath.Dir(key))
	if !ok || volume.bind() || volume.ReadOnly {
		t.Fatalf("secrets init writes %s, not on a writable named volume: %+v", key, volume)
	}
	for _, p := range parseDeployed(t, c) {
		if !p.cfg.NeedsSecretsKey() {
			continue
		}
		if p.cfg.SecretsKey().Path() != key {
			t.Errorf("%s seals with %s, not the shared %s", p.name, p.cfg.SecretsKey().Path(), key)
		}
		m, ok := mountAt(composeMounts(t, p.svc), filepath.Dir(key))
		if !ok || m.Source != volume.Source || !m.ReadOnly {
			t.Errorf("%s does not mount volume %s read-only at %s: %+v", p.name, volume.Source, filepath.Dir(key), m)
		}
		if d, ok := p.svc.DependsOn["secrets"]; !ok || d.Condition != "service_completed_successfully" {
			t.Errorf("%s may start before the key is made: %+v", p.name, p.svc.DependsOn)
		}
	}
}

// TestComposeChecksEachProcessIsReady checks the healthcheck of every
// invoiced process: the image's own command, run through invoiced's flag
// parser with the container's environment, asks /readyz where that
// process listens; and every service that waits for one with a
// healthcheck waits for it to be healthy.
func TestComposeChecksEachProcessIsReady(t *testing.T) {
	c := readCompose(t)
	_, image := dockerHealthcheck(t)
	base := dockerfileEnv(t)
	for _, p := range parseDeployed(t, c) {
		t.Run(p.name, func(t *testing.T) {
			hc := p.svc.Healthcheck
			if !hc.checked() {
				t.Fatal("no healthcheck: docker compose up --wait and depends_on cannot tell it is ready")
			}
			test := composeStrings(t, hc.Test)
			if len(test) < len(image)+1 || test[0] != "CMD" || !slices.Equal(test[1:len(image)+1], image) {
				t.Fatalf("healthcheck %q, want [CMD %s ...]: the image's command, in exec form (no shell in the image)", test, strings.Join(image, " "))
			}
			env := maps.Clone(base)
			maps.Copy(env, composeEnv(t, p.svc.Environment))
			h, err := config.ParseHealthcheck(test[1+len(image):], func(k string) string { return env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			checkReachesServe(t, h, p.cfg)
			timeout, err := time.ParseDuration(hc.Timeout)
			if err != nil || timeout < h.Timeout {
				t.Errorf("healthcheck timeout %q: want at least invoiced healthcheck's own %s", hc.Timeout, h.Timeout)
			}
			if _, err := time.ParseDuration(hc.Interval); err != nil || hc.Retries < 1 {
				t.Errorf("healthcheck interval %q, retries %d", hc.Interval, hc.Retries)
			}
			if start, err := time.ParseDuration(hc.StartPeriod); err != nil || start < 30*time.Second {
				t.Errorf("healthcheck start_period %q: a start that waits for the cluster is not yet a failure", hc.StartPeriod)
			}
		})
	}
	for name, svc := range c.Services {
		for dep, d := range svc.DependsOn {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			oneShot := target.Build != nil && slices.Equal(composeStrings(t, target.Command)[:1], []string{"secrets"})
			switch {
			case oneShot && d.Condition != "service_completed_successfully":
				t.Errorf("%s waits for %s, a one-shot step, with %q: want service_completed_successfully", name, dep, d.Condition)
			case !oneShot && target.Healthcheck.checked() && d.Condition != "service_healthy":
				t.Errorf("%s waits for %s with %q: want service_healthy", name, dep, d.Condition)
			}
		}
	}
	if secrets := c.Services["secrets"]; secrets.Healthcheck == nil || !secrets.Healthcheck.Disable {
		t.Error("the one-shot secrets service inherits the image's HEALTHCHECK: disable it")
	}
}
