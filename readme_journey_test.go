package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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

	"github.com/invoiced/invoiced/internal/testing/faults"
)

// The README's "Five minutes" section, run as a newcomer runs it: every
// shell block in a shell of its own, in one directory, its output held to
// the text block that follows. Only the ports change, to free ones, and
// `go run` becomes the binary it builds.

const journeyHeading = "## Five minutes: an invoice and its signed webhooks"

// docBlock is a fenced block of a document: its language and its text.
type docBlock struct {
	lang string
	text string
}

// docSection returns the fenced blocks of the section of file under
// heading, in order, and fails tb when there is no such section.
func docSection(tb testing.TB, file, heading string) []docBlock {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), heading+"\n")
	if !ok {
		tb.Fatalf("%s has no %q section", file, heading)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var blocks []docBlock
	var cur *docBlock
	for _, line := range strings.Split(section, "\n") {
		switch {
		case strings.HasPrefix(line, "```") && cur == nil:
			cur = &docBlock{lang: strings.TrimPrefix(line, "```")}
		case strings.HasPrefix(line, "```"):
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return blocks
}

// journey is the README journey under way: its directory, its ports and
// the processes it left running.
type journey struct {
	dir      string
	env      []string
	replacer *strings.Replacer
	bg       []*bgProc
}

// bgProc is a process a block left running, with its output.
type bgProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (p *bgProc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *bgProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// longRunning matches a block's last command when it runs until stopped.
var longRunning = regexp.MustCompile(`^go run (\.|\./examples/receiver)$`)

func newJourney(t *testing.T) *journey {
	t.Helper()
	receiver := filepath.Join(t.TempDir(), "receiver")
	if out, err := exec.Command("go", "build", "-o", receiver, "./examples/receiver").CombinedOutput(); err != nil {
		t.Fatalf("build the receiver: %v\n%s", err, out)
	}
	api, hooks, natsAddr := faults.FreeAddr(t), faults.FreeAddr(t), faults.FreeAddr(t)
	return &journey{
		dir: t.TempDir(),
		env: append(os.Environ(), "INVOICED_ADDR="+api, "INVOICED_NATS_LISTEN="+natsAddr, "RECEIVER_ADDR="+hooks),
		replacer: strings.NewReplacer(
			"http://127.0.0.1:8080", "http://"+api, "http://127.0.0.1:9000", "http://"+hooks,
			"go run ./examples/receiver", receiver, "go run .", binary),
	}
}

// run runs one shell block, and returns what it printed; a block whose
// last command runs until stopped is left running, once it answers.
func (j *journey) run(t *testing.T, script string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(script, "\\\n", " ")), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	script = j.replacer.Replace(script)
	if !longRunning.MatchString(last) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
		var stderr bytes.Buffer
		cmd.Dir, cmd.Env, cmd.Stderr = j.dir, j.env, &stderr
		out, err := cmd.Output() // what a terminal shows: curl's progress meter goes to stderr only when piped
		if err != nil {
			t.Fatalf("%s\n%v\n%s%s", script, err, out, stderr.Bytes())
		}
		return strings.ReplaceAll(string(out), "\r", "")
	}
	// exec, so a signal to the shell reaches the process itself.
	script = strings.TrimSuffix(strings.TrimSpace(script), j.replacer.Replace(last)) + "exec " + j.replacer.Replace(last)
	p := &bgProc{cmd: exec.Command("bash", "-euo", "pipefail", "-c", script), done: make(chan error, 1)}
	p.cmd.Dir, p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = j.dir, j.env, p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	j.bg = append(j.bg, p)
	waitFor(t, 60*time.Second, last+" answering", func() (bool, string) {
		select {
		case err := <-p.done:
			t.Fatalf("%s exited: %v\n%s", last, err, p.output())
		default:
		}
		return strings.Contains(p.output(), "listening on") || strings.Contains(p.output(), `msg="invoiced serving"`), p.output()
	})
	if last == "go run ." {
		waitFor(t, 60*time.Second, "the service ready", func() (bool, string) {
			res, err := http.Get(j.replacer.Replace("http://127.0.0.1:8080") + "/readyz")
			if err != nil {
				return false, err.Error()
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK, res.Status
		})
	}
	return ""
}

// expectLine returns a pattern for a line of a text block: "…" stands for
// anything.
func expectLine(line string) *regexp.Regexp {
	parts := strings.Split(strings.TrimSpace(line), "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

// holds reports whether some line of out matches re.
func holds(out string, re *regexp.Regexp) bool {
	for _, line := range strings.Split(out, "\n") {
		if re.MatchString(strings.TrimSpace(line)) {
			return true
		}
	}
	return false
}

// expect checks each line of a text block against what the last block
// printed or, for what a running process prints, against its output
// within a deadline.
func (j *journey) expect(t *testing.T, text, last string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		re := expectLine(j.replacer.Replace(line))
		if holds(last, re) {
			continue
		}
		waitFor(t, 20*time.Second, fmt.Sprintf("the line %q", line), func() (bool, string) {
			var all strings.Builder
			for _, p := range j.bg {
				all.WriteString(p.output())
			}
			return holds(all.String(), re), "the last block printed:\n" + last + "\nthe processes:\n" + all.String()
		})
	}
}

// TestREADMEJourney runs README.md's "Five minutes" section as written,
// and then stops what it started with Ctrl-C, as the section says.
func TestREADMEJourney(t *testing.T) {
	j := newJourney(t)
	last := ""
	for _, b := range docSection(t, "README.md", journeyHeading) {
		switch b.lang {
		case "sh":
			last = j.run(t, b.text)
		case "text":
			j.expect(t, b.text, last)
		default:
			t.Fatalf("a %q block in the journey: only sh and text are run", b.lang)
		}
	}
	if len(j.bg) != 2 {
		t.Fatalf("%d processes left running, want the service and the receiver", len(j.bg))
	}
	for _, p := range j.bg {
		_ = p.cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("Ctrl-C: %v\n%s", err, p.output())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("still running 30s after Ctrl-C\n%s", p.output())
		}
	}
	if out := j.bg[0].output(); !strings.Contains(out, "msg=stopped") {
		t.Errorf("the service did not stop cleanly:\n%s", out)
	}
	sc := bufio.NewScanner(strings.NewReader(j.bg[1].output()))
	verified := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "verified ") {
			verified++
		}
	}
	if verified != 2 {
		t.Errorf("the receiver verified %d events, want the invoice's two:\n%s", verified, j.bg[1].output())
	}
}
