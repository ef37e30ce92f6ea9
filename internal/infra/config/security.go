package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/invoiced/invoiced/events"
	"github.com/invoiced/invoiced/internal/infra/netguard"
)

// Security is the part of the configuration that decides who may call the
// API and where webhooks may go.
type Security struct {
	// APIKeys are the keys callers present as "Authorization: Bearer <key>".
	APIKeys []string
	// APIKeysFile holds more keys, one a line; it is read again on SIGHUP.
	APIKeysFile string
	// RateLimit is each key's sustained requests per second; 0 is off.
	RateLimit float64
	// RateBurst is how many requests a key may make at once.
	RateBurst int
	// WebhookAllowPrivate lets deliveries reach loopback, private and
	// link-local addresses; by default only for a local, all-in-one
	// service: loopback Addr and the embedded NATS server.
	WebhookAllowPrivate bool
	// WebhookAllowCIDRs lets deliveries reach these networks in any case.
	WebhookAllowCIDRs string
	// WebhookRequireHTTPS refuses plain-http subscription URLs.
	WebhookRequireHTTPS bool
}

// WebhookTargets returns where webhooks may go, from WebhookAllowPrivate
// and WebhookAllowCIDRs (which ParseServe has checked).
func (s Security) WebhookTargets() netguard.Policy {
	cidrs, _ := netguard.ParseCIDRs(s.WebhookAllowCIDRs)
	return netguard.Policy{AllowPrivate: s.WebhookAllowPrivate, AllowCIDRs: cidrs}
}

// KeysConfigured reports whether callers must present an API key.
func (s Security) KeysConfigured() bool { return len(s.APIKeys) > 0 || s.APIKeysFile != "" }

type securityFlags struct {
	keys string
}

func (s *Security) register(fs *flag.FlagSet) *securityFlags {
	f := &securityFlags{}
	fs.StringVar(&f.keys, "api-keys", "", "comma-separated API keys; when any key is configured every endpoint but /healthz and /readyz needs \"Authorization: Bearer <key>\"")
	fs.StringVar(&s.APIKeysFile, "api-keys-file", "", "file of API keys, one a line (# comments), read again on SIGHUP")
	fs.Float64Var(&s.RateLimit, "rate-limit", 0, "requests per second each API key may make, sustained; 0 = no limit")
	fs.IntVar(&s.RateBurst, "rate-burst", 0, "requests an API key may make at once (default: twice --rate-limit, at least 1)")
	fs.BoolVar(&s.WebhookAllowPrivate, "webhook-allow-private", false, "let webhooks reach loopback, private and link-local addresses (default: true only with a loopback --addr and no --nats-url)")
	fs.StringVar(&s.WebhookAllowCIDRs, "webhook-allow-cidrs", "", "comma-separated networks webhooks may reach even when private (e.g. 10.1.0.0/16)")
	fs.BoolVar(&s.WebhookRequireHTTPS, "webhook-require-https", false, "refuse plain-http subscription URLs")
	return f
}

// resolve applies the defaults that depend on other settings once every
// flag is parsed. It fails on a bad --webhook-allow-cidrs.
func (s *Security) resolve(fs *flag.FlagSet, f *securityFlags, addr string, local bool) error {
	s.APIKeys = nil
	for _, k := range strings.Split(f.keys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			s.APIKeys = append(s.APIKeys, k)
		}
	}
	if err := checkKeys(s.APIKeys, "--api-keys"); err != nil {
		return err
	}
	given := false
	fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == "webhook-allow-private" })
	if !given {
		s.WebhookAllowPrivate = local && IsLoopback(addr)
	}
	if s.RateBurst == 0 && s.RateLimit > 0 {
		s.RateBurst = max(1, int(2*s.RateLimit))
	}
	if _, err := netguard.ParseCIDRs(s.WebhookAllowCIDRs); err != nil {
		return fmt.Errorf("--webhook-allow-cidrs: %w", err)
	}
	return nil
}

// validate refuses an exposed listener without keys, an exposed embedded
// NATS server and bad limits.
func (s Security) validate(addr, natsListen string, embedded bool) error {
	switch {
	case embedded && natsListen != "off" && !IsLoopback(natsListen):
		return fmt.Errorf("refusing to expose the embedded NATS server on %s: anyone reaching it could read "+
			"signing secrets and write invoices. Keep --nats-listen on a loopback address or off, or run a secured NATS and use --nats-url", natsListen)
	case !IsLoopback(addr) && !s.KeysConfigured():
		return fmt.Errorf("refusing to serve on %s without API keys: anyone who can reach it could create invoices and webhooks. "+
			"Set --api-keys or --api-keys-file, or bind --addr to a loopback address such as 127.0.0.1:8080", addr)
	case s.RateLimit < 0 || s.RateBurst < 0:
		return errors.New("--rate-limit and --rate-burst must not be negative")
	}
	return nil
}

// BrokerLocked reports whether the embedded server's listener demands its
// user's seed: it listens, and anyone beyond this machine's users might
// call (API keys are set or --addr is not loopback).
func (s Serve) BrokerLocked() bool {
	return s.Embedded() && s.NATSListen != NATSListenOff && (s.KeysConfigured() || !IsLoopback(s.Addr))
}

// IsLoopback reports whether the host of the listen address addr is a
// loopback address or "localhost"; an empty host listens everywhere.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Keys returns every configured key: those given as a flag, each an
// account of its own, and those in the keys file, with the accounts and
// rights it names. It fails when the file cannot be read or is malformed.
func (s Security) Keys() ([]APIKey, error) {
	var keys []APIKey
	for _, k := range s.APIKeys {
		keys = append(keys, APIKey{Key: k})
	}
	if s.APIKeysFile == "" {
		return keys, nil
	}
	more, err := ReadKeysFile(s.APIKeysFile)
	if err != nil {
		return nil, err
	}
	return append(keys, more...), nil
}

// APIKey is one accepted API key and whom it stands for.
type APIKey struct {
	// Key is what a caller presents.
	Key string
	// Account owns what the key creates and is all it sees; empty makes the
	// key an account of its own.
	Account string
	// Operator keys see and manage every account.
	Operator bool
}

// ReadKeysFile returns the keys in the file at path: one a line, optionally
// followed by "account=<name>" and "operator"; blank lines and lines
// starting with # are ignored. It fails, naming the line but never the
// key, when the file cannot be read, holds no key, or a line is malformed.
func ReadKeysFile(path string) ([]APIKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("API keys file: %w", err)
	}
	var keys []APIKey
	for i, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKeyLine(line)
		if err != nil {
			return nil, fmt.Errorf("API keys file %s, line %d: %w", path, i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("API keys file %s holds no key", path)
	}
	plain := make([]string, len(keys))
	for i, k := range keys {
		plain[i] = k.Key
	}
	if err := checkKeys(plain, "API keys file "+path); err != nil {
		return nil, err
	}
	return keys, nil
}

// parseKeyLine reads "<key> [account=<name>] [operator]".
func parseKeyLine(line string) (APIKey, error) {
	fields := strings.Fields(line)
	k := APIKey{Key: fields[0]}
	for _, f := range fields[1:] {
		name, isAccount := strings.CutPrefix(f, "account=")
		switch {
		case f == "operator" && !k.Operator:
			k.Operator = true
		// "key_" starts the names of keys that are accounts of their own.
		case isAccount && k.Account == "" && events.ValidAccount(name) && !strings.HasPrefix(name, "key_"):
			k.Account = name
		case isAccount:
			return APIKey{}, fmt.Errorf("an account is named once, with lower-case letters, digits, _ and - (at most 63, not starting with key_)")
		default:
			return APIKey{}, fmt.Errorf("after the key, only account=<name> and operator may follow")
		}
	}
	return k, nil
}

// MinKeyLen is the fewest characters an API key may have: 32 random hex
// digits are 128 bits, beyond guessing at any rate a network allows.
const MinKeyLen = 32

// checkKeys fails, naming where the key came from but not the key, when
// one of keys is shorter than MinKeyLen.
func checkKeys(keys []string, from string) error {
	for i, k := range keys {
		if len(k) < MinKeyLen {
			return fmt.Errorf("%s: key %d has %d characters, fewer than %d; make one with: openssl rand -hex 32", from, i+1, len(k), MinKeyLen)
		}
	}
	return nil
}
