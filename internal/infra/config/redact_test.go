package config

import (
	"strings"
	"testing"
)

func TestRedactURLs(t *testing.T) {
	got := redactURLs("nats://user:pass@n1:4222, nats://s3cr3t@n2:4222,nats://n3:4222")
	if strings.Contains(got, "pass") || strings.Contains(got, "s3cr3t") || !strings.Contains(got, "n1:4222") || !strings.Contains(got, "nats://n3:4222") {
		t.Fatalf("redactURLs = %q", got)
	}
}
