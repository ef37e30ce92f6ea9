package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nkeys"
)

// mountedPaths returns what turns the paths c sees into the directories
// that stand for its volumes.
func mountedPaths(tb testing.TB, c k8sContainer, dirs map[string]string) *strings.Replacer {
	tb.Helper()
	var pairs []string
	for _, m := range c.VolumeMounts {
		dir, ok := dirs[m.Name]
		if !ok {
			tb.Fatalf("container %s mounts %s, which is no volume of the pod", c.Name, m.Name)
		}
		pairs = append(pairs, m.MountPath+"/", dir+"/", m.MountPath, dir)
	}
	return strings.NewReplacer(pairs...)
}

// kubernetesHeading is the section of docs/OPERATIONS.md whose first sh
// block makes the manifest's secrets and applies it.
const kubernetesHeading = "## Run it on Kubernetes"

var (
	createSecret = regexp.MustCompile(`^kubectl create secret generic (\S+) (.*)$`)
	secretFile   = regexp.MustCompile(`--from-file=([^=\s]+)=`)
)

// docSecrets returns the files of every secret docs/OPERATIONS.md makes
// for the manifest, by secret name.
func docSecrets(tb testing.TB) map[string][]string {
	tb.Helper()
	secrets := map[string][]string{}
	applied := false
	for _, line := range operationsBlock(tb, readOperationsDoc(tb), kubernetesHeading) {
		if line == "kubectl apply -f "+kubernetesPath {
			applied = true
		}
		m := createSecret.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, f := range secretFile.FindAllStringSubmatch(m[2], -1) {
			secrets[m[1]] = append(secrets[m[1]], f[1])
		}
	}
	if !applied || len(secrets) == 0 {
		tb.Fatalf("%s's %q block makes secrets %v and applies the manifest: %v", operationsDoc, kubernetesHeading, secrets, applied)
	}
	return secrets
}

// writeSecret writes, into dir, the files docs/OPERATIONS.md puts in the
// secret name, each holding what the document makes it with, and with the
// mode Kubernetes gives a secret volume with fsGroup: readable by the
// group.
func writeSecret(tb testing.TB, name, dir string, secrets map[string][]string) {
	tb.Helper()
	files, ok := secrets[name]
	if !ok {
		tb.Fatalf("the manifest mounts the secret %s, which %s does not make", name, operationsDoc)
	}
	for _, file := range files {
		var content []byte
		switch file {
		case "secrets.key", "api-keys": // openssl rand -hex 32
			content = []byte(strings.Repeat("0123456789abcdef", 4) + "\n")
		case "nats-user.nk": // nats auth nkey gen user
			user, err := nkeys.CreateUser()
			if err != nil {
				tb.Fatal(err)
			}
			seed, err := user.Seed()
			if err != nil {
				tb.Fatal(err)
			}
			content = append(seed, '\n')
		default:
			tb.Fatalf("%s puts %s in the secret %s, which the test cannot make", operationsDoc, file, name)
		}
		if err := os.WriteFile(filepath.Join(dir, file), content, 0o440); err != nil {
			tb.Fatal(err)
		}
	}
}

// optional returns the number n points to, or "unset".
func optional(n *int) string {
	if n == nil {
		return "unset"
	}
	return strconv.Itoa(*n)
}

// dockerfileUser returns the user the image runs as.
func dockerfileUser(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile(dockerfilePath)
	if err != nil {
		tb.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^USER (\d+)`).FindStringSubmatch(string(data))
	if m == nil {
		tb.Fatalf("%s names no numeric USER", dockerfilePath)
	}
	return m[1]
}

// quantityBytes returns the bytes of a memory quantity as Kubernetes
// (Mi, Gi) or Go's GOMEMLIMIT (MiB, GiB) writes it.
func quantityBytes(tb testing.TB, q string) int64 {
	tb.Helper()
	for suffix, unit := range map[string]int64{"MiB": 1 << 20, "GiB": 1 << 30, "Mi": 1 << 20, "Gi": 1 << 30} {
		if n, ok := strings.CutSuffix(q, suffix); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil {
				return v * unit
			}
		}
	}
	tb.Fatalf("memory quantity %q: want a whole number of Mi, Gi, MiB or GiB", q)
	return 0
}
