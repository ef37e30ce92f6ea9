package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/infra/history"
)

// Obtaining and running the nats CLI, and the recipes' form: the nats
// commands of docs/INSPECTING.md, how they are split into arguments, and how
// they are read from it.

// natsCLI runs recipes with the nats CLI against one server, and with
// sqlite3 in the directory that holds the service's data directory.
type natsCLI struct {
	bin    string
	server string
	dir    string // holds data/, the service's --data
	env    []string

	mu  sync.Mutex
	ran []string // recipes run, in first-run order
}

var natscliBinary struct {
	once sync.Once
	path string
	how  string
	err  error
}

// newNATSCLI returns the nats CLI v0.5.0: the one on PATH if it is that
// version, else one built once per test run with go install. It fails the
// test, saying why, when neither works.
func newNATSCLI(tb testing.TB) *natsCLI {
	tb.Helper()
	b := &natscliBinary
	b.once.Do(func() { b.path, b.how, b.err = obtainNATSCLI() })
	if b.err != nil {
		tb.Fatalf("cannot obtain the nats CLI %s: %v", natscliVersion, b.err)
	}
	tb.Logf("nats CLI %s: %s", natscliVersion, b.how)
	// No NATS_* setting or nats context of the caller applies here.
	env := []string{"XDG_CONFIG_HOME=" + tb.TempDir(), "HOME=" + tb.TempDir()}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NATS_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return &natsCLI{bin: b.path, env: env}
}

func obtainNATSCLI() (path, how string, err error) {
	var notes []string
	if p, err := exec.LookPath("nats"); err == nil {
		v, err := natscliVersionOf(p)
		if err == nil && v == natscliVersion {
			return p, "found on PATH at " + p, nil
		}
		notes = append(notes, fmt.Sprintf("%s on PATH is %q (%v)", p, v, err))
	}
	// TestMain removes the directory of the invoiced binary when the run ends.
	gobin := filepath.Join(filepath.Dir(binary), "natscli")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", natscliModule)
	cmd.Dir = filepath.Dir(binary) // outside this module: go install pkg@version ignores go.mod anyway
	cmd.Env = append(os.Environ(), "GOBIN="+gobin)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		notes = append(notes, fmt.Sprintf("GOBIN=%s go install %s: %v\n%s", gobin, natscliModule, err, out))
		return "", "", errors.New(strings.Join(notes, "; "))
	}
	took := time.Since(start)
	p := filepath.Join(gobin, "nats")
	if v, err := natscliVersionOf(p); err != nil || v != natscliVersion {
		return "", "", fmt.Errorf("built %s, which says it is %q (%v)", p, v, err)
	}
	notes = append(notes, fmt.Sprintf("built with go install in %s", took.Round(100*time.Millisecond)))
	return p, strings.Join(notes, "; "), nil
}

func natscliVersionOf(bin string) (string, error) {
	out, err := exec.Command(bin, "--version").CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

var placeholder = regexp.MustCompile(`<[^<>]+>`)

// newestSegment is the history segment the service copies into: its first,
// since the service the recipes run against never fills one.
var newestSegment = history.SegmentName(1)

// run runs recipe, docs/INSPECTING.md's form of a nats command, with its placeholders
// replaced by vars (and <segment> by newestSegment), against the server,
// and returns its standard output. It fails the test when the command
// fails or takes more than a minute.
func (c *natsCLI) run(tb testing.TB, recipe string, vars map[string]string) []byte {
	tb.Helper()
	c.mu.Lock()
	if !slices.Contains(c.ran, recipe) {
		c.ran = append(c.ran, recipe)
	}
	c.mu.Unlock()
	line := strings.ReplaceAll(recipe, "<segment>", newestSegment)
	for k, v := range vars {
		line = strings.ReplaceAll(line, k, v)
	}
	if p := placeholder.FindString(line); p != "" {
		tb.Fatalf("no value for %s in %s", p, recipe)
	}
	args, err := shellWords(line)
	if err != nil || len(args) < 2 || (args[0] != "nats" && args[0] != "sqlite3") {
		tb.Fatalf("recipe %q: not a nats or sqlite3 command (%v)", recipe, err)
	}
	bin := c.bin
	if args[0] == "nats" {
		args = append([]string{"--server", c.server}, args[1:]...)
	} else {
		bin, args = sqlite3Path(tb), args[1:]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env, cmd.Dir = c.env, c.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("nats %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// sqlite3Path returns the sqlite3 on PATH, failing the test when there is
// none.
func sqlite3Path(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		tb.Fatalf("the read model recipes need sqlite3: %v", err)
	}
	return p
}

// haveSQLite3 reports whether sqlite3 is on PATH; without it the test
// fails when INVOICED_REQUIRE_SQLITE3 is set, as in CI.
func haveSQLite3(tb testing.TB) bool {
	tb.Helper()
	if _, err := exec.LookPath("sqlite3"); err == nil {
		return true
	}
	if os.Getenv("INVOICED_REQUIRE_SQLITE3") != "" {
		tb.Fatal("INVOICED_REQUIRE_SQLITE3 is set and there is no sqlite3 on PATH")
	}
	return false
}

func (c *natsCLI) recipesRun() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ran)
}

// shellWords splits line into words as sh would for the recipes: on
// blanks, with what single quotes hold kept literal, and what double
// quotes hold too as long as it has no $, ` or \.
func shellWords(line string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false
	var quoted rune // the open quote, if any
	for _, r := range line {
		switch {
		case quoted == '"' && strings.ContainsRune("$`\\", r):
			return nil, fmt.Errorf("unsupported character %q in double quotes", r)
		case quoted != 0 && r == quoted:
			quoted = 0
		case quoted != 0:
			word.WriteRune(r)
		case r == '\'' || r == '"':
			quoted, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case strings.ContainsRune("\"\\$*?[;&|<>()`~", r):
			return nil, fmt.Errorf("unsupported shell character %q", r)
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if quoted != 0 {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

// recipesDoc is the document whose "Look inside with `nats` and `sqlite3`"
// section shows the recipes TestNATSCLIRecipes runs.
const recipesDoc = "docs/INSPECTING.md"

// docRecipes returns the nats and sqlite3 commands shown in recipesDoc's
// "Look inside with `nats` and `sqlite3`" section, comments stripped, and
// its go install line.
func docRecipes(tb testing.TB) (recipes []string, install string) {
	tb.Helper()
	data, err := os.ReadFile(recipesDoc)
	if err != nil {
		tb.Fatal(err)
	}
	const heading = "## Look inside with `nats` and `sqlite3`\n"
	_, section, ok := strings.Cut(string(data), heading)
	if !ok {
		tb.Fatalf("%s has no %q section", recipesDoc, strings.TrimSpace(heading))
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	inCode := false
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			continue
		}
		line = strings.TrimSpace(stripComment(line))
		switch {
		case strings.HasPrefix(line, "nats "), strings.HasPrefix(line, "sqlite3 "):
			recipes = append(recipes, strings.Join(strings.Fields(line), " "))
		case strings.HasPrefix(line, "go install "):
			install = line
		case line != "":
			tb.Errorf("%s's nats and sqlite3 section shows %q, neither a recipe nor the install", recipesDoc, line)
		}
	}
	if len(recipes) == 0 {
		tb.Fatalf("%s's nats CLI section shows no recipe", recipesDoc)
	}
	return recipes, install
}

// stripComment cuts a shell comment (a # after a blank, outside quotes).
func stripComment(line string) string {
	var quoted rune
	for i, r := range line {
		switch {
		case quoted != 0 && r == quoted:
			quoted = 0
		case quoted == 0 && (r == '\'' || r == '"'):
			quoted = r
		case r == '#' && quoted == 0 && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i]
		}
	}
	return line
}
