package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/config"
	"github.com/invoiced/invoiced/internal/testing/calltest"
	"github.com/invoiced/invoiced/internal/testing/natstest"
)

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// runCmd runs the command line args and returns its stdout, its stderr and
// its error.
func runCmd(args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), args, &stdout, &stderr, noEnv)
	return stdout.String(), stderr.String(), err
}

func TestHelpAndVersionFlags(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}} {
		out, errOut, err := runCmd(args...)
		if err != nil || out != commands || errOut != "" {
			t.Errorf("invoiced %v: %v, stdout %q, stderr %q; want the command list on stdout", args, err, out, errOut)
		}
	}
	want, _, _ := runCmd("version")
	if !strings.HasPrefix(want, "invoiced ") {
		t.Fatalf("invoiced version printed %q", want)
	}
	for _, flag := range []string{"--version", "-version"} {
		if out, _, err := runCmd(flag); err != nil || out != want {
			t.Errorf("invoiced %s: %v, %q; want %q as invoiced version prints", flag, err, out, want)
		}
	}
	if _, errOut, err := runCmd("serve", "--help"); err != nil || !strings.Contains(errOut, "Usage: invoiced serve") || !strings.Contains(errOut, "--nats-listen") {
		t.Errorf("invoiced serve --help: %v\n%s", err, errOut)
	}
	if _, _, err := runCmd("bogus"); !errors.Is(err, ErrUsage) {
		t.Errorf("invoiced bogus: %v, want a usage error", err)
	}
}

// TestEveryListedCommandHasHelp runs "<command> --help" and "help
// <command>" for every command the command list names: each prints its own
// help and exits cleanly.
func TestEveryListedCommandHasHelp(t *testing.T) {
	listed := regexp.MustCompile(`(?m)^  ([a-z]+) `).FindAllStringSubmatch(commands, -1)
	var names []string
	for _, m := range listed {
		names = append(names, m[1])
	}
	if !strings.Contains(strings.Join(names, " "), "healthcheck") {
		t.Fatalf("the command list names %v, not healthcheck", names)
	}
	for _, name := range names {
		if name == "help" || name == "version" {
			continue
		}
		for _, args := range [][]string{{name, "--help"}, {"help", name}} {
			_, errOut, err := runCmd(args...)
			if err != nil || !strings.HasPrefix(errOut, "Usage: invoiced "+name) {
				t.Errorf("invoiced %v: %v\n%s", args, err, errOut)
			}
		}
	}
}

func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--fsync", "never"},
		{"bench", "--bogus"},
		{"healthcheck", "--url", "nowhere"},
		{"listen", "--api", "127.0.0.1:8080"},
		{"serve", "--nats-url", "nats://127.0.0.1:1", "--nats-listen", "127.0.0.1:4222"},
	} {
		if _, _, err := runCmd(args...); !errors.Is(err, ErrUsage) {
			t.Errorf("invoiced %v: %v, want a usage error", args, err)
		}
	}
}

// TestServeSaysWhileItWaitsForJetStream starts serve against a NATS that is
// not there yet: the log says what it waits for, where and for how long,
// /readyz answers 503 with that, and once the server comes the service
// starts and says what its data directory holds.
func TestServeSaysWhileItWaitsForJetStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	natsAddr := ln.Addr().String()
	ln.Close()
	natsURL := "nats://" + natsAddr
	addr, data := freeAddr(t), t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs calltest.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--addr", addr, "--data", data, "--roles", "api", "--log-format", "json"}, io.Discard, &logs,
			func(name string) string { return map[string]string{"INVOICED_NATS_URL": natsURL}[name] })
	}()
	var waiting map[string]any
	natstest.Eventually(t, 20*time.Second, "the log says serve waits for JetStream", func() bool {
		waiting = logLine(logs.String(), "waiting for JetStream")
		return waiting != nil
	})
	if waiting["url"] != natsURL || !strings.Contains(waiting["err"].(string), "not connected to NATS") {
		t.Errorf("the waiting line does not say where and why: %v", waiting)
	}
	if _, ok := waiting["waited_ms"].(float64); !ok {
		t.Errorf("the waiting line does not say for how long, in milliseconds: %v", waiting)
	}
	readyz := "http://" + addr + "/readyz"
	var a calltest.Answer
	natstest.Eventually(t, 10*time.Second, "/readyz answers while serve waits", func() bool {
		res, err := http.Get(readyz)
		if err != nil {
			return false
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		a = calltest.Answer{Status: res.StatusCode, Body: body}
		return true
	})
	if a.Status != http.StatusServiceUnavailable || !strings.Contains(calltest.Field(t, a.Body, "error"), "waiting for JetStream at "+natsURL) {
		t.Fatalf("/readyz while waiting: %d %s", a.Status, a.Body)
	}
	if h := calltest.Call(t, http.MethodGet, "http://"+addr+"/healthz", ""); h.Status != http.StatusOK {
		t.Fatalf("/healthz while waiting: %d", h.Status)
	}
	if inv := calltest.PostInvoice(t, "http://"+addr, "early", calltest.InvoiceBody); inv.Status != http.StatusServiceUnavailable || inv.Header.Get("Retry-After") == "" {
		t.Fatalf("POST /invoices while waiting: %d %s", inv.Status, inv.Body)
	}

	port, _ := strconv.Atoi(natsAddr[strings.LastIndex(natsAddr, ":")+1:])
	natstest.Start(t, natstest.Options{Port: port})
	natstest.Eventually(t, 30*time.Second, "serving once NATS is there", func() bool {
		return logLine(logs.String(), "invoiced serving") != nil
	})
	natstest.Eventually(t, 10*time.Second, "/readyz 200", func() bool { return calltest.Call(t, http.MethodGet, readyz, "").Status == http.StatusOK })
	serving := logLine(logs.String(), "invoiced serving")
	if d, _ := serving["data"].(string); !strings.HasPrefix(d, data) || !strings.Contains(d, "read model") || strings.Contains(d, "JetStream store") {
		t.Errorf("data=%q: want %s with the read model, and no JetStream store on an external NATS", d, data)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, logs.String())
	}
}

// logLine returns the first JSON log line of logs whose msg is msg, or nil.
func logLine(logs, msg string) map[string]any {
	for line := range strings.Lines(logs) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	return nil
}

// TestPortClashNamesThePortAndTheFlag starts serve where its HTTP port,
// then its NATS port, is taken: each error names the port and the flag.
func TestPortClashNamesThePortAndTheFlag(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"HTTP", []string{"--addr", taken.Addr().String(), "--nats-listen", "off"}, []string{"port " + port + " is already in use", "--addr"}},
		{"NATS", []string{"--addr", "127.0.0.1:0", "--nats-listen", taken.Addr().String()}, []string{"port " + port + " is already in use", "--nats-listen", "--nats-listen off"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(append([]string{"serve", "--data", t.TempDir()}, tt.args...)...)
			if err == nil || errors.Is(err, ErrUsage) {
				t.Fatalf("serve on a taken port: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
}

func TestJSONLogDurationsInMilliseconds(t *testing.T) {
	var out bytes.Buffer
	newLogger(&out, config.Serve{LogFormat: "json"}).Info("m", "waited", 1500*time.Millisecond, "took_ms", 2*time.Millisecond,
		slog.Group("g", "pause", time.Second), "count", 3)
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	g, _ := m["g"].(map[string]any)
	if m["waited_ms"] != 1500.0 || m["took_ms"] != 2.0 || g["pause_ms"] != 1000.0 || m["count"] != 3.0 || m["waited"] != nil {
		t.Fatalf("durations not in float milliseconds under _ms keys: %s", out.Bytes())
	}
	out.Reset()
	newLogger(&out, config.Serve{LogFormat: "text"}).Info("m", "waited", 1500*time.Millisecond)
	if !strings.Contains(out.String(), "waited=1.5s") {
		t.Fatalf("the text log changed its durations: %s", out.String())
	}
}

func TestDataDescriptionSaysWhatDataHolds(t *testing.T) {
	parse := func(args ...string) config.Serve {
		t.Helper()
		cfg, err := config.ParseServe(args, noEnv, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	for _, tt := range []struct {
		cfg       config.Serve
		want, not []string
	}{
		{parse("--data", "/d"), []string{"/d (", "JetStream store", "read model", "secrets key file"}, []string{"external"}},
		{parse("--data", "/d", "--nats-url", "nats://n:4222", "--roles", "api"), []string{"/d (", "read model", "secrets key file", "external NATS"}, []string{"JetStream store"}},
		{parse("--data", "/d", "--nats-url", "nats://n:4222", "--roles", "dispatcher", "--secrets-key-file", "/k"), []string{"unused"}, []string{"/d"}},
		{parse("--data", "/d", "--nats-url", "nats://n:4222", "--roles", "processor"), []string{"unused"}, []string{"/d"}},
	} {
		got := dataDescription(tt.cfg)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: data=%q lacks %q", tt.cfg.Roles, got, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(got, n) {
				t.Errorf("%v: data=%q says %q", tt.cfg.Roles, got, n)
			}
		}
	}
}
