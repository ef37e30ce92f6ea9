package main

import (
	"cmp"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/config"
)

// TestMonitoringComposeScrapesEveryProcess checks that prometheus reads
// prometheus.yml and alerts.yml where the compose file mounts them, and
// that its targets are exactly the invoiced processes, each at the port of
// its --metrics-addr, on a network they share.
func TestMonitoringComposeScrapesEveryProcess(t *testing.T) {
	c := readCompose(t)
	prom := monitoringService(t, c, "prometheus")
	conf, ok := flagValue(composeStrings(t, prom.Command), "config.file")
	checkMounted(t, prom, cmp.Or(conf, "/etc/prometheus/prometheus.yml"), promConfigPath)
	cfg := readPromConfig(t)
	rules := slices.IndexFunc(cfg.RuleFiles, func(f string) bool { return checkMounted(t, prom, f, "") == alertsPath })
	if !ok || rules < 0 {
		t.Errorf("prometheus: --config.file %q, rule_files %q: want %s and %s mounted", conf, cfg.RuleFiles, promConfigPath, alertsPath)
	}
	procs := map[string]deployedProcess{}
	for _, p := range parseDeployed(t, c) {
		procs[p.name] = p
	}
	header := composeHeader(t)
	for _, sc := range cfg.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, _ := net.SplitHostPort(target)
				p, ok := procs[host]
				if !ok || sc.JobName != invoicedJob {
					t.Errorf("job %s scrapes %q, not an invoiced service of %s in job %s", sc.JobName, target, composePath, invoicedJob)
					continue
				}
				delete(procs, host)
				_, listens, err := net.SplitHostPort(p.cfg.MetricsAddr)
				if err != nil || listens != port || config.IsLoopback(p.cfg.MetricsAddr) || !sharesNetwork(prom, p.svc) {
					t.Errorf("%s: prometheus scrapes port %s, but --metrics-addr is %q on networks %v", host, port, p.cfg.MetricsAddr, p.svc.Networks)
				}
				if !strings.Contains(header, "--metrics-addr="+p.cfg.MetricsAddr) {
					t.Errorf("the comment at the top of %s does not document --metrics-addr=%s", composePath, p.cfg.MetricsAddr)
				}
			}
		}
	}
	for name := range procs {
		t.Errorf("%s: prometheus does not scrape it", name)
	}
}

// TestMonitoringComposeProvisionsGrafana checks that grafana finds its
// data source, which queries the compose file's prometheus, and the
// dashboard where the compose file mounts them, and lets anonymous
// visitors view only.
func TestMonitoringComposeProvisionsGrafana(t *testing.T) {
	c := readCompose(t)
	g := monitoringService(t, c, "grafana")
	env := composeEnv(t, g.Environment)
	dir := checkMounted(t, g, cmp.Or(env["GF_PATHS_PROVISIONING"], "/etc/grafana/provisioning"), provisionPath)
	var sources []grafanaSource
	var providers []grafanaProvider
	for _, f := range provisioningFiles(t, dir, "datasources") {
		var file struct{ Datasources []grafanaSource }
		readYAML(t, f, &file)
		sources = append(sources, file.Datasources...)
	}
	for _, f := range provisioningFiles(t, dir, "dashboards") {
		var file struct{ Providers []grafanaProvider }
		readYAML(t, f, &file)
		providers = append(providers, file.Providers...)
	}
	if len(sources) != 1 || sources[0].Type != "prometheus" {
		t.Fatalf("data sources %+v: want one, of type prometheus", sources)
	}
	u, err := url.Parse(sources[0].URL)
	prom, ok := c.Services[u.Hostname()]
	listen, _ := flagValue(composeStrings(t, prom.Command), "web.listen-address")
	if _, port, _ := net.SplitHostPort(cmp.Or(listen, ":9090")); err != nil || !ok || u.Port() != port || !sharesNetwork(g, prom) {
		t.Errorf("the data source queries %s: want a compose service grafana reaches, at the port it listens on", sources[0].URL)
	}
	if !slices.ContainsFunc(providers, func(p grafanaProvider) bool {
		return p.Type == "file" && checkMounted(t, g, p.Options.Path, filepath.Dir(dashboardPath)) != ""
	}) {
		t.Errorf("no dashboard provider loads %s: %+v", dashboardPath, providers)
	}
	if home := env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]; home != "" {
		checkMounted(t, g, home, dashboardPath)
	}
	if env["GF_AUTH_ANONYMOUS_ENABLED"] == "true" && env["GF_AUTH_ANONYMOUS_ORG_ROLE"] != "Viewer" {
		t.Errorf("anonymous visitors are %q: let them view only", env["GF_AUTH_ANONYMOUS_ORG_ROLE"])
	}
}

// TestMonitoringComposeSendsTracesToJaeger checks that every invoiced
// process exports its traces to the jaeger service, whose OTLP/HTTP
// receiver listens for other containers, and that its UI is published.
func TestMonitoringComposeSendsTracesToJaeger(t *testing.T) {
	c := readCompose(t)
	j := monitoringService(t, c, "jaeger")
	set, _ := flagValue(composeStrings(t, j.Command), "set")
	key, endpoint, _ := strings.Cut(set, "=")
	host, port, err := net.SplitHostPort(endpoint)
	if key != "receivers.otlp.protocols.http.endpoint" || err != nil || host != "0.0.0.0" {
		t.Fatalf("jaeger --set %q: want its OTLP/HTTP receiver on every interface of its container", set)
	}
	header := composeHeader(t)
	for _, p := range parseDeployed(t, c) {
		otlp, _ := flagValue(composeStrings(t, p.svc.Command), "otlp-endpoint")
		u, err := url.Parse(otlp)
		if err != nil || u.Scheme != "http" || u.Hostname() != "jaeger" || u.Port() != port || !sharesNetwork(j, p.svc) {
			t.Errorf("%s: --otlp-endpoint %q: want http://jaeger:%s, on a network it shares with jaeger", p.name, otlp, port)
		}
		if !strings.Contains(header, "--otlp-endpoint="+otlp) {
			t.Errorf("the comment at the top of %s does not document --otlp-endpoint=%s", composePath, otlp)
		}
	}
	if !slices.Contains(composePorts(t, j), composePort{HostIP: "127.0.0.1", HostPort: 16686, Container: 16686}) {
		t.Errorf("jaeger publishes %v: want its UI on 127.0.0.1:16686", j.Ports)
	}
}

// monitoringService returns the compose service name, which must run a
// pinned image.
func monitoringService(tb testing.TB, c composeFile, name string) composeService {
	tb.Helper()
	svc, ok := c.Services[name]
	if _, tag, _ := strings.Cut(svc.Image, ":"); !ok || svc.Build != nil || tag == "" || tag == "latest" {
		tb.Fatalf("%s: want a service of that name running an image of a pinned tag, not %q", name, svc.Image)
	}
	return svc
}

// checkMounted returns the file or directory of this machine that svc's
// containers see at path, through a read-only bind mount. It fails tb and
// returns "" when no bind mount holds path, when the mount is writable,
// or when want is not "" and the mount shows another file than want.
func checkMounted(tb testing.TB, svc composeService, path, want string) string {
	tb.Helper()
	for _, m := range composeMounts(tb, svc) {
		rest, ok := strings.CutPrefix(path, m.Target)
		if !m.bind() || !ok || rest != "" && !strings.HasPrefix(rest, "/") {
			continue
		}
		host := filepath.Join(hostFile(m), filepath.FromSlash(rest))
		switch {
		case want != "" && host != filepath.Clean(want):
			tb.Errorf("%s shows %s at %s, not %s", svc.Image, host, path, want)
		case !m.ReadOnly:
			tb.Errorf("%s mounts %s writable: add :ro", svc.Image, m.Source)
		default:
			return host
		}
		return ""
	}
	tb.Errorf("%s: nothing is mounted at %s", svc.Image, path)
	return ""
}

// provisioningFiles returns the YAML files of a Grafana provisioning
// directory's kind (datasources, dashboards).
func provisioningFiles(tb testing.TB, dir, kind string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, kind, "*.y*ml"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no provisioning of %s in %s (%v)", kind, dir, err)
	}
	return files
}

// sharesNetwork reports whether a and b join a network in common.
func sharesNetwork(a, b composeService) bool {
	return slices.ContainsFunc(a.Networks, func(n string) bool { return slices.Contains(b.Networks, n) })
}
