package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/invoiced/invoiced/internal/testing/faults"
)

// TestREADMEGoClient does what the README's "Use it from Go" section says,
// as a user would: a module of its own gets this one's client (replaced by
// this checkout, served as a release by a module proxy), and the README's
// program runs against the service and prints the invoice it made.
func TestREADMEGoClient(t *testing.T) {
	var get, program string
	for _, b := range docSection(t, "README.md", "## Use it from Go") {
		switch b.lang {
		case "sh":
			get = strings.TrimSpace(b.text)
		case "go":
			program = b.text
		}
	}
	if get != "go get github.com/invoiced/invoiced/client" || program == "" {
		t.Fatalf("the section shows %q and a program of %d bytes; want the go get line and a program", get, len(program))
	}
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir, proxy := t.TempDir(), t.TempDir()
	serveRelease(t, proxy, repo, "v0.0.1")
	addr := faults.FreeAddr(t)
	program = strings.ReplaceAll(program, "http://127.0.0.1:8080", "http://"+addr)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	gocmd := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, "go", args...)
		// The module proxy is a directory serving this checkout as a
		// release; everything else comes from the module cache.
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "GOPROXY=file://"+proxy, "GOSUMDB=off", "GOFLAGS=-mod=mod")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	gocmd("mod", "init", "example.com/billing")
	gocmd(strings.Fields(get)[1:]...)

	startProc(t, nil, "serve", "--addr", addr, "--data", filepath.Join(dir, "data"), "--nats-listen", "off")
	out := gocmd("run", ".")
	created := regexp.MustCompile(`(?m)^created ([0-9a-f-]{36}) with key ([0-9a-f-]{36})$`).FindStringSubmatch(out)
	if created == nil {
		t.Fatalf("the program printed\n%s\nwant a created line", out)
	}
	if !strings.Contains(out, "\n"+created[1]+" 1200 EUR\n") {
		t.Fatalf("the program printed\n%s\nwant the invoice it made listed", out)
	}
}

// serveRelease writes into dir, laid out as a module proxy (GOPROXY=file://
// dir), this module as release version: its go.mod and the client's
// packages, which are all a user of the client builds.
func serveRelease(t *testing.T, dir, repo, version string) {
	t.Helper()
	const module = "github.com/invoiced/invoiced"
	at := filepath.Join(dir, module, "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, data []byte) {
		w, err := zw.Create(module + "@" + version + "/" + name)
		if err == nil {
			_, err = w.Write(data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	add("go.mod", mod)
	err = filepath.WalkDir(filepath.Join(repo, "client"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repo, path)
		add(filepath.ToSlash(rel), data)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"list": []byte(version + "\n"), version + ".info": fmt.Appendf(nil, `{"Version":%q,"Time":"2026-12-07T00:00:00Z"}`, version),
		version + ".mod": mod, version + ".zip": buf.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
