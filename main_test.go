package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invoiced-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "invoiced")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running invoiced process.
type proc struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	log  bytes.Buffer
	done chan error
}

var serving = regexp.MustCompile(`msg="invoiced serving".* addr=(http://\S+)`)

// startProc runs the binary with args and env and waits for it to serve.
func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	select {
	case p.base = <-addr:
	case err := <-p.done:
		t.Fatalf("exited before serving: %v\n%s", err, p.logs())
	case <-time.After(60 * time.Second):
		t.Fatalf("not serving after 60s\n%s", p.logs())
	}
	return p
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// stop sends sig and requires a clean exit.
func (p *proc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after %v: %v\n%s", sig, err, p.logs())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("still running 60s after %v\n%s", sig, p.logs())
	}
	if !strings.Contains(p.logs(), `msg=stopped`) {
		t.Fatalf("no clean stop logged:\n%s", p.logs())
	}
}

func post(t *testing.T, base, key, body string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/invoices", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func statusOf(t *testing.T, base, id string) string {
	t.Helper()
	res, err := http.Get(base + "/invoices/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var inv struct{ Status string }
	_ = json.NewDecoder(res.Body).Decode(&inv)
	return inv.Status
}

func awaitProcessed(t *testing.T, base, id string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for statusOf(t, base, id) != "processed" {
		if time.Now().After(deadline) {
			t.Fatalf("invoice %s not processed", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProcessStopsCleanlyAndRestartsOnItsStore(t *testing.T) {
	data := t.TempDir()
	const body = `{"customer_id":"cust_123","amount_cents":2500,"currency":"USD"}`
	p := startProc(t, nil, "--addr", "127.0.0.1:0", "--data", data, "--nats-listen", "127.0.0.1:0", "--process-delay", "300ms")
	status, _, first := post(t, p.base, "inv-001", body)
	if status != http.StatusCreated {
		t.Fatalf("%d %s", status, first)
	}
	var inv struct{ ID string }
	if err := json.Unmarshal(first, &inv); err != nil {
		t.Fatal(err)
	}
	p.stop(t, syscall.SIGTERM) // very likely while the invoice is in hand

	// The second run takes its address from the environment.
	p = startProc(t, []string{"INVOICED_ADDR=127.0.0.1:0", "INVOICED_NATS_LISTEN=off"}, "serve", "--data", data)
	status, hdr, again := post(t, p.base, "inv-001", body)
	if status != http.StatusCreated || !bytes.Equal(again, first) || hdr.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("after restart: %d %s", status, again)
	}
	awaitProcessed(t, p.base, inv.ID)
	p.stop(t, syscall.SIGINT)
}

func TestCommands(t *testing.T) {
	tests := []struct {
		args     []string
		exitCode int
		output   string
	}{
		{[]string{"version"}, 0, "invoiced "},
		{[]string{"help"}, 0, "serve"},
		{[]string{"serve", "--help"}, 0, "INVOICED_NATS_LISTEN"},
		{[]string{"bogus"}, 2, "unknown command"},
		{[]string{"serve", "--fsync", "sometimes"}, 2, "--fsync"},
		{[]string{"serve", "--roles", "api,cashier"}, 2, "unknown role"},
		{[]string{"serve", "--addr", "0.0.0.0:0"}, 2, "refusing to serve on 0.0.0.0:0 without API keys"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, err := exec.Command(binary, tt.args...).CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.exitCode || !strings.Contains(string(out), tt.output) {
				t.Fatalf("exit %d, output:\n%s\nwant exit %d and %q", code, out, tt.exitCode, tt.output)
			}
		})
	}
}

func TestSIGHUPReloadsTheKeysFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(file, []byte("first-key-0123456789abcdef0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, nil, "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--nats-listen", "off", "--api-keys-file", file)
	status := func(key string) int {
		req, _ := http.NewRequest(http.MethodGet, p.base+"/webhooks/subscriptions", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if status("first-key-0123456789abcdef0123456789") != http.StatusOK || status("second-key-0123456789abcdef0123456789") != http.StatusUnauthorized {
		t.Fatal("keys at start")
	}
	if err := os.WriteFile(file, []byte("second-key-0123456789abcdef0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for status("second-key-0123456789abcdef0123456789") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("keys not reloaded on SIGHUP\n%s", p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status("first-key-0123456789abcdef0123456789") != http.StatusUnauthorized {
		t.Fatal("the old key still works after the reload")
	}
	for _, secret := range []string{"first-key-0123456789abcdef0123456789", "second-key-0123456789abcdef0123456789"} {
		if strings.Contains(p.logs(), secret) {
			t.Fatalf("a key appears in the log:\n%s", p.logs())
		}
	}
	p.stop(t, syscall.SIGTERM)
}
