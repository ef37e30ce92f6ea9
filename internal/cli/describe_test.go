package cli

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/invoiced/invoiced/internal/infra/broker"
	"github.com/invoiced/invoiced/internal/infra/config"
)

func TestTheSecurityLineSaysWhoMayReachNATS(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("k", 32)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--nats-listen", "127.0.0.1:0", "--api-keys", key}, "admits only the nkey in " + filepath.Join(dir, broker.UserFile)},
		{[]string{"--nats-listen", "127.0.0.1:0"}, "open to anyone on this machine"},
		{[]string{"--nats-listen", "off", "--api-keys", key}, "in-process only"},
		{[]string{"--nats-url", "nats://127.0.0.1:4222"}, "NATS as its server's accounts allow"},
	} {
		args := append([]string{"--addr", "127.0.0.1:0", "--data", dir}, c.args...)
		cfg, err := config.ParseServe(args, func(string) string { return "" }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if d := securityDescription(cfg); !strings.Contains(d, c.want) {
			t.Errorf("%v: security line %q lacks %q", c.args, d, c.want)
		}
	}
}
