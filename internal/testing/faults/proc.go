package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the main package pkg into dir as name and returns the
// binary's path. It fails with the compiler's output.
func Build(dir, pkg, name string) (string, error) {
	bin := filepath.Join(dir, name)
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// Serving matches invoiced's "serving" log line; its group is the API's
// base URL.
var Serving = regexp.MustCompile(`msg="invoiced serving".* addr=(http://\S+)`)

// Proc is a running OS process whose log is kept.
type Proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit, once done is closed
	base string

	mu  sync.Mutex
	log bytes.Buffer
}

// StartProc runs bin with args and waits until a line of its standard error
// matches ready (the first group, if any, is kept as Base), and kills it
// when the test ends. It fails the test when the process exits first or is
// not ready within a minute.
func StartProc(tb testing.TB, name string, ready *regexp.Regexp, bin string, args ...string) *Proc {
	tb.Helper()
	p := &Proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p.cmd.Stdout = &lockedWriter{p}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	tb.Cleanup(func() { _ = p.Kill() })
	found := make(chan string, 1)
	go p.read(stderr, ready, found)
	select {
	case m := <-found:
		p.base = m
	case <-p.done:
		tb.Fatalf("%s exited before it was ready: %v\n%s", name, p.err, p.Logs())
	case <-time.After(time.Minute):
		tb.Fatalf("%s not ready after a minute\n%s", name, p.Logs())
	}
	return p
}

// read keeps the log and reports the first line that matches ready.
func (p *Proc) read(r interface{ Read([]byte) (int, error) }, ready *regexp.Regexp, found chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.log.WriteString(line + "\n")
		p.mu.Unlock()
		if m := ready.FindStringSubmatch(line); m != nil && !sent {
			sent = true
			found <- append(m, "")[1]
		}
	}
	p.err = p.cmd.Wait()
	close(p.done)
}

type lockedWriter struct{ p *Proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.log.Write(b)
}

// Base returns the first group of the ready line: invoiced's API base URL.
func (p *Proc) Base() string { return p.base }

// Logs returns everything the process has written.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Kill kills the process with SIGKILL, as a crash would, and waits for it.
// It does nothing to a process that has exited.
func (p *Proc) Kill() error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("%s: kill: %w", p.name, err)
	}
	<-p.done
	return nil
}

// Stop sends sig and waits up to within for the process to exit; it
// returns the exit error (nil for status 0), or an error when the process
// is still running.
func (p *Proc) Stop(sig os.Signal, within time.Duration) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s: signal: %w", p.name, err)
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		return fmt.Errorf("%s still running %s after %v", p.name, within, sig)
	}
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for a process that must come back on the same address after a
// restart.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
