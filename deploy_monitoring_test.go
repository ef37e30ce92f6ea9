package main

// The monitoring of the compose deployment (deploy/monitoring): the alert
// rules and the dashboard may query only metrics that a live invoiced
// serves, and docker-compose.yml must mount them where Prometheus and
// Grafana look, scrape every invoiced process where its --metrics-addr
// listens and send every process's traces to Jaeger.

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/invoiced/invoiced/internal/testing/faults"
)

const (
	promConfigPath = "deploy/monitoring/prometheus.yml"
	alertsPath     = "deploy/monitoring/alerts.yml"
	provisionPath  = "deploy/monitoring/grafana/provisioning"
	dashboardPath  = "deploy/monitoring/grafana/dashboards/invoiced.json"
	// invoicedJob is the scrape job of the invoiced processes, which
	// InvoicedDown names.
	invoicedJob = "invoiced"
)

// alertedMetrics must each be read by an alert rule, and dashboardMetrics
// by a panel: what docs/OPERATIONS.md, "Dashboards and alerts", says they
// watch.
var (
	alertedMetrics = []string{"up", "invoiced_ready", "invoiced_consumer_pending_messages",
		"invoiced_consumer_ack_pending_messages", "invoiced_webhook_deliveries_dead_total",
		"invoiced_webhook_subscriptions_disabled_total", "invoiced_webhook_oldest_undelivered_seconds"}
	dashboardMetrics = []string{"invoiced_http_requests_total", "invoiced_invoice_outcomes_total",
		"invoiced_webhook_attempts_total", "invoiced_webhook_end_to_end_seconds_bucket",
		"invoiced_webhook_attempt_duration_seconds_bucket", "invoiced_http_request_duration_seconds_bucket",
		"invoiced_consumer_pending_messages", "invoiced_consumer_ack_pending_messages",
		"invoiced_read_model_lag_seconds", "invoiced_webhook_subscriptions_disabled_total",
		"invoiced_webhook_oldest_undelivered_seconds", "invoiced_webhook_deliveries_dead_total"}
)

// promConfig is the part of prometheus.yml read here; decoding is strict,
// as Prometheus's own is.
type promConfig struct {
	Global        map[string]string `yaml:"global"`
	RuleFiles     []string          `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		StaticConfigs []struct {
			Targets []string          `yaml:"targets"`
			Labels  map[string]string `yaml:"labels"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// alertRule is a rule of alerts.yml; decoding is strict, as Prometheus's is.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// dashboard and dashboardPanel are the parts of the dashboard's JSON read
// here.
type dashboard struct {
	UID           string
	SchemaVersion int
	Templating    struct {
		List []struct{ Name, Type, Query string }
	}
	Panels []dashboardPanel
}

type dashboardPanel struct {
	ID          int
	Type, Title string
	Datasource  *struct{ Type, UID string }
	FieldConfig struct {
		Defaults struct{ Unit string }
	}
	Targets []struct{ RefID, Expr string }
	Panels  []dashboardPanel // a collapsed row's
}

// grafanaSource and grafanaProvider are the parts of Grafana's
// provisioning files read here; Grafana reads more.
type (
	grafanaSource   struct{ Type, URL string }
	grafanaProvider struct {
		Type    string
		Options struct{ Path string }
	}
)

// promQuery is one PromQL expression of the monitoring files, and where.
type promQuery struct{ where, expr string }

// readYAML decodes the YAML file at path into v with opts; it fails tb
// when the file cannot be read or decoded.
func readYAML(tb testing.TB, path string, v any, opts ...yaml.DecodeOption) {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := yaml.UnmarshalWithOptions(data, v, opts...); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

// readPromConfig returns prometheus.yml, strictly decoded.
func readPromConfig(tb testing.TB) (c promConfig) {
	readYAML(tb, promConfigPath, &c, yaml.Strict())
	return c
}

// readAlertRules returns every rule of alerts.yml, strictly decoded.
func readAlertRules(tb testing.TB) []alertRule {
	var f struct {
		Groups []struct {
			Name  string      `yaml:"name"`
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(tb, alertsPath, &f, yaml.Strict())
	var rules []alertRule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	return rules
}

// readDashboard returns the dashboard and its panels, rows' included.
func readDashboard(tb testing.TB) (dashboard, []dashboardPanel) {
	tb.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		tb.Fatal(err)
	}
	var d dashboard
	decode(tb, data, &d)
	var panels []dashboardPanel
	for _, p := range d.Panels {
		panels = append(append(panels, p), p.Panels...)
	}
	return d, panels
}

// monitoringQueries returns every expression of the rules and the panels.
func monitoringQueries(tb testing.TB) []promQuery {
	var qs []promQuery
	for _, r := range readAlertRules(tb) {
		qs = append(qs, promQuery{alertsPath + ": rule " + r.Alert, r.Expr})
	}
	_, panels := readDashboard(tb)
	for _, p := range panels {
		for _, tg := range p.Targets {
			qs = append(qs, promQuery{fmt.Sprintf("%s: panel %q, query %s", dashboardPath, p.Title, tg.RefID), tg.Expr})
		}
	}
	return qs
}

// checkReads fails tb for each of metrics that none of exprs, the queries
// of file, reads.
func checkReads(tb testing.TB, file string, exprs, metrics []string) {
	tb.Helper()
	read := map[string]bool{}
	for _, e := range exprs {
		for _, s := range promSelectors(e) {
			read[s.name] = true
		}
	}
	for _, m := range metrics {
		if !read[m] {
			tb.Errorf("no query of %s reads %s", file, m)
		}
	}
}

// TestMonitoringAlertRules checks that every rule has a name of its own,
// a severity and what to look at, that docs/OPERATIONS.md explains it,
// and that the rules watch what they must.
func TestMonitoringAlertRules(t *testing.T) {
	doc := readOperationsDoc(t)
	seen := map[string]bool{}
	var exprs []string
	for _, r := range readAlertRules(t) {
		exprs = append(exprs, r.Expr)
		if r.Alert == "" || seen[r.Alert] || r.Expr == "" {
			t.Errorf("rule %q (expr %q): want a name of its own and an expression", r.Alert, r.Expr)
		}
		seen[r.Alert] = true
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("%s: want a summary and a description of what to look at", r.Alert)
		}
		if _, err := time.ParseDuration(cmp.Or(r.For, "0s")); err != nil {
			t.Errorf("%s: for: %v", r.Alert, err)
		}
		if !strings.Contains(doc, r.Alert) {
			t.Errorf("%s does not explain %s", operationsDoc, r.Alert)
		}
	}
	checkReads(t, alertsPath, exprs, alertedMetrics)
}

// TestMonitoringDashboard checks that the dashboard loads in a current
// Grafana, queries the data source its variable picks, and shows what it
// must.
func TestMonitoringDashboard(t *testing.T) {
	d, panels := readDashboard(t)
	if d.UID == "" || d.SchemaVersion < 39 {
		t.Errorf("uid %q, schemaVersion %d: want a uid and a current Grafana's schema (39 or later)", d.UID, d.SchemaVersion)
	}
	variable := slices.IndexFunc(d.Templating.List, func(v struct{ Name, Type, Query string }) bool {
		return v.Type == "datasource" && v.Query == "prometheus"
	})
	if variable < 0 {
		t.Fatal("no template variable picks a Prometheus data source")
	}
	want := "${" + d.Templating.List[variable].Name + "}"
	ids := map[int]bool{}
	var exprs []string
	for _, p := range panels {
		if ids[p.ID] {
			t.Errorf("panel %q: id %d is taken", p.Title, p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != want || len(p.Targets) == 0 || p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q: want data source %s, queries and a unit", p.Title, want)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	checkReads(t, dashboardPath, exprs, dashboardMetrics)
}

// TestMonitoringQueriesReadServedMetrics checks every metric the rules and
// the panels read, with the label values they require, against what a
// live invoiced serves on its --metrics-addr.
func TestMonitoringQueriesReadServedMetrics(t *testing.T) {
	queries := monitoringQueries(t)
	prom := readPromConfig(t)
	metricsURL := "http://" + startMonitoredService(t) + "/metrics"
	waitFor(t, 60*time.Second, "every metric the monitoring queries served", func() (bool, string) {
		status, body := call(t, http.MethodGet, metricsURL, "")
		if status != http.StatusOK {
			return false, fmt.Sprintf("GET %s: %d", metricsURL, status)
		}
		problems := unservedQueries(queries, parseScrape(string(body)), prom)
		return len(problems) == 0, "\n" + strings.Join(problems, "\n")
	})
}

// startMonitoredService starts invoiced with its metrics on a listener of
// their own, as the compose file runs every process, and gives it the work
// that makes every family appear: an invoice whose webhooks one receiver
// takes and another answers 410 Gone, so that they die and its
// subscription is disabled. It returns the metrics listener's address.
func startMonitoredService(t *testing.T) string {
	t.Helper()
	metricsAddr := faults.FreeAddr(t)
	p := startProc(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--nats-listen", "off",
		"--metrics-addr", metricsAddr)
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusGone)
	}))
	t.Cleanup(gone.Close)
	subscribeURL(t, p.base, `{"url":"`+startNATSCLIReceiver(t).url+`"}`)
	subscribeURL(t, p.base, `{"url":"`+gone.URL+`/hook"}`)
	createInvoice(t, p.base, "monitoring-1", 2500)
	return metricsAddr
}

// scrape is what a /metrics answer holds: each family's type, and the
// labels of each series by sample name.
type scrape struct {
	types  map[string]string
	series map[string][]map[string]string
}

// parseScrape reads the Prometheus text format; a sample line reads as a
// selector of its name and labels.
func parseScrape(text string) scrape {
	s := scrape{types: map[string]string{}, series: map[string][]map[string]string{}}
	for line := range strings.Lines(text) {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			s.types[f[2]] = f[3]
		}
		if !strings.HasPrefix(line, "#") {
			for _, sel := range promSelectors(line) {
				s.series[sel.name] = append(s.series[sel.name], sel.labels)
			}
		}
	}
	return s
}

// served reports whether name is a family of the scrape, or the _bucket,
// _sum or _count series of one of its histograms.
func (s scrape) served(name string) bool {
	if _, ok := s.types[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && s.types[base] == "histogram" {
			return true
		}
	}
	return false
}

// unservedQueries returns, for each query, each metric it reads that the
// scrape lacks and each label value it requires that no series has. up,
// Prometheus's own, must name a job of prom; the labels prom gives the
// targets are not the process's to serve.
func unservedQueries(queries []promQuery, s scrape, prom promConfig) []string {
	jobs, targetLabels := map[string]bool{}, map[string]bool{"job": true, "instance": true}
	for _, sc := range prom.ScrapeConfigs {
		jobs[sc.JobName] = true
		for _, st := range sc.StaticConfigs {
			for k := range st.Labels {
				targetLabels[k] = true
			}
		}
	}
	var out []string
	for _, q := range queries {
		for _, sel := range promSelectors(q.expr) {
			switch {
			case sel.name == "up":
				if !jobs[sel.labels["job"]] {
					out = append(out, fmt.Sprintf("%s: up of job %q, which %s does not scrape", q.where, sel.labels["job"], promConfigPath))
				}
			case !s.served(sel.name):
				out = append(out, fmt.Sprintf("%s: invoiced serves no %s", q.where, sel.name))
			case !slices.ContainsFunc(s.series[sel.name], func(l map[string]string) bool { return hasLabels(l, sel.labels, targetLabels) }):
				out = append(out, fmt.Sprintf("%s: no %s series has the labels %v", q.where, sel.name, sel.labels))
			}
		}
	}
	return out
}

// unprovoked are the label values that only an outage makes, which a
// healthy service does not serve: a query requiring one needs the label
// alone on a series.
var unprovoked = map[string]string{"result": "error"}

// hasLabels reports whether series has every label of want but those of
// skip.
func hasLabels(series, want map[string]string, skip map[string]bool) bool {
	for k, v := range want {
		if got, ok := series[k]; !skip[k] && (!ok || got != v && unprovoked[k] != v) {
			return false
		}
	}
	return true
}
