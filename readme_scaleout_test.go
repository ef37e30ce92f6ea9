package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
	"github.com/invoiced/invoiced/internal/testing/faults"
)

const scaleOutHeading = "## Scale out"

// scaleOutCommands returns the README's scale-out recipe: the first shell
// block of its "Scale out" section, one command a line, each of which runs
// until stopped in a terminal of its own.
func scaleOutCommands(t *testing.T) []string {
	t.Helper()
	for _, b := range docSection(t, "README.md", scaleOutHeading) {
		if b.lang == "sh" {
			return strings.Split(strings.TrimSpace(b.text), "\n")
		}
	}
	t.Fatal("README's scale-out section shows no shell block")
	return nil
}

// TestREADMEScaleOut runs the README's recipe for the roles as processes of
// their own against a nats-server, on free ports, and checks that an
// invoice made through the api is processed and what the processor's and
// dispatcher's addresses serve.
func TestREADMEScaleOut(t *testing.T) {
	natsServer := filepath.Join(t.TempDir(), "nats-server")
	if out, err := exec.Command("go", "build", "-o", natsServer, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("build nats-server: %v\n%s", err, out)
	}
	cmds := scaleOutCommands(t)
	if len(cmds) != 5 || !strings.HasPrefix(cmds[0], "nats-server ") || !strings.Contains(cmds[1], " secrets init ") {
		t.Fatalf("the recipe is %q; want nats-server, the secrets key file and the three roles", cmds)
	}
	natsPort := faults.FreeAddr(t)[len("127.0.0.1:"):]
	addrs := map[string]string{"api": faults.FreeAddr(t), "processor": faults.FreeAddr(t), "dispatcher": faults.FreeAddr(t)}
	dir := t.TempDir()
	r := strings.NewReplacer("nats-server ", natsServer+" ", "/tmp/invoiced-nats", filepath.Join(dir, "nats"),
		"127.0.0.1:4333", "127.0.0.1:"+natsPort, "-p 4333", "-p "+natsPort, "go run .", binary,
		"127.0.0.1:8180", addrs["api"], "127.0.0.1:8181", addrs["processor"], "127.0.0.1:8182", addrs["dispatcher"])
	var procs []*bgProc
	for _, line := range cmds {
		if strings.Contains(line, " secrets init ") { // runs to its end
			cmd := exec.Command("bash", "-c", r.Replace(line))
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", line, err, out)
			}
			continue
		}
		p := &bgProc{cmd: exec.Command("bash", "-c", "exec "+r.Replace(line)), done: make(chan error, 1)}
		p.cmd.Dir, p.cmd.Stdout, p.cmd.Stderr = dir, p, p
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.done <- p.cmd.Wait() }()
		t.Cleanup(func() { _ = p.cmd.Process.Kill() })
		procs = append(procs, p)
	}
	get := func(addr, path string) (int, string) {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for role, addr := range addrs {
		waitFor(t, 60*time.Second, role+" ready", func() (bool, string) {
			var logs bytes.Buffer
			for _, p := range procs {
				logs.WriteString(p.output())
			}
			code, body := get(addr, "/readyz")
			return code == http.StatusOK, body + "\n" + logs.String()
		})
	}

	base := "http://" + addrs["api"]
	var secret atomic.Value
	secret.Store("")
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if webhook.Verify(secret.Load().(string), r.Header, body, time.Now(), 5*time.Minute) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hooks.Close)
	status, answer := call(t, http.MethodPost, base+"/webhooks/subscriptions", `{"url":"`+hooks.URL+`/hook"}`)
	if status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", status, answer)
	}
	secret.Store(jsonField(t, answer, "secret"))
	status, _, body := post(t, base, "scale-out-1", `{"customer_id":"cust_123","amount_cents":2500,"currency":"USD"}`)
	if status != http.StatusCreated {
		t.Fatalf("POST: %d %s", status, body)
	}
	awaitProcessed(t, base, jsonField(t, body, "id"))
	// The receiver answers 2xx only to what verifies with the secret the
	// api made: the dispatcher opened it with the shared key file.
	waitForDeliveries(t, base, "status=delivered", 2)
	for _, role := range []string{"processor", "dispatcher"} {
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/invoices": 404} {
			if code, body := get(addrs[role], path); code != want {
				t.Errorf("%s %s: %d, want %d (%.200s)", role, path, code, want, body)
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(procs) - 1; i >= 0; i-- {
		_ = procs[i].cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-procs[i].done:
			if err != nil {
				t.Errorf("%q after Ctrl-C: %v\n%s", cmds[i], err, procs[i].output())
			}
		case <-ctx.Done():
			t.Errorf("%q still running after Ctrl-C", cmds[i])
		}
	}
}
