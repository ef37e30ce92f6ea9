package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is invoiced serving in a process of its own, all roles on an
// embedded JetStream server, so a benchmark can kill it and measure it as
// an operator would.
type Process struct {
	bin     string
	args    []string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed once the process has exited and been reaped
	// Base is its API's base URL; NATSURL where its embedded server
	// listens.
	Base, NATSURL string
}

// NewProcess returns, not started, the invoiced binary bin serving with
// every role on data, syncing as fsync says, plus extra flags; its log goes
// to serve.log in data.
func NewProcess(bin, data, fsync string, extra ...string) (*Process, error) {
	api, err := freePort()
	if err != nil {
		return nil, err
	}
	nats, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--data", data, "--fsync", fsync, "--addr", api, "--nats-listen", nats}, extra...)
	return &Process{bin: bin, args: args, logPath: filepath.Join(data, "serve.log"),
		Base: "http://" + api, NATSURL: "nats://" + nats}, nil
}

// freePort returns a loopback address nothing listens on now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start starts the process and returns how long it took until /readyz
// answered 200. It fails when the process exits first or is not ready
// within ctx.
func (p *Process) Start(ctx context.Context) (time.Duration, error) {
	log, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer log.Close()
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = log, log
	p.cmd.Env = append(os.Environ(), "NATS_URL=") // serve embeds; never an outside NATS
	started := time.Now()
	if err := p.cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", p.bin, err)
	}
	p.exited = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	client := &http.Client{Timeout: time.Second}
	for {
		res, err := client.Get(p.Base + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Since(started), nil
			}
		}
		select {
		case <-p.exited:
			return 0, fmt.Errorf("invoiced exited before it was ready; see %s", p.logPath)
		case <-ctx.Done():
			return 0, fmt.Errorf("invoiced not ready: %w; see %s", ctx.Err(), p.logPath)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Kill kills the process with SIGKILL, as a crash would, and waits until it
// is gone.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL) }

// Stop asks the process to shut down with SIGTERM and waits until it has.
func (p *Process) Stop() error { return p.signal(syscall.SIGTERM) }

func (p *Process) signal(sig syscall.Signal) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	<-p.exited
	return nil
}

// RSSMB returns the process's resident memory in MB: everything it holds,
// the embedded JetStream server included. It fails where /proc cannot be
// read.
func (p *Process) RSSMB() (float64, error) {
	if p.cmd == nil || p.cmd.Process == nil {
		return 0, errors.New("not running")
	}
	return rssOf(strconv.Itoa(p.cmd.Process.Pid))
}

// rssOf reads VmRSS of /proc/<pid>/status in MB.
func rssOf(pid string) (float64, error) {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// SelfRSSMB returns this process's resident memory in MB, 0 where unknown.
func SelfRSSMB() float64 {
	mb, _ := rssOf("self")
	return mb
}
