package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"github.com/invoiced/invoiced/internal/infra/seal"
)

// SecretsKeyFileName is the key file's name in --data when
// --secrets-key-file is not given.
const SecretsKeyFileName = "secrets.key"

// secretsKeyFileUsage describes --secrets-key-file wherever it is taken.
const secretsKeyFileUsage = "file of the keys that seal webhook signing secrets at rest: one a line (64 hex digits or base64 of 32 bytes, # comments), " +
	"the first sealing, mode 0600; empty = " + SecretsKeyFileName + " in --data, made on first start"

// SecretsKey says where the key file that seals webhook signing secrets
// is.
type SecretsKey struct {
	// KeyFile is --secrets-key-file; empty means SecretsKeyFileName in
	// Data.
	KeyFile string
	// Data is --data.
	Data string
}

// Path returns the key file: --secrets-key-file, or secrets.key in --data.
func (k SecretsKey) Path() string {
	if k.KeyFile != "" {
		return k.KeyFile
	}
	return filepath.Join(k.Data, SecretsKeyFileName)
}

// MayCreate reports whether a missing key file is made with a new key: only
// the default one in --data, never a file named on purpose.
func (k SecretsKey) MayCreate() bool { return k.KeyFile == "" }

// validate refuses a configuration that names no key file.
func (k SecretsKey) validate() error {
	if k.KeyFile == "" && k.Data == "" {
		return errors.New("--secrets-key-file, or --data to keep it in, must be set: the key that seals webhook signing secrets")
	}
	return nil
}

// SecretsKey returns where the key file of a serve configuration is.
func (s Serve) SecretsKey() SecretsKey { return SecretsKey{KeyFile: s.SecretsKeyFile, Data: s.Data} }

// NeedsSecretsKey reports whether the process reads or writes signing
// secrets: it runs the api or the dispatcher role.
func (s Serve) NeedsSecretsKey() bool { return s.Has(RoleAPI) || s.Has(RoleDispatcher) }

// Commands of invoiced secrets.
const (
	SecretsInit   = "init"
	SecretsAddKey = "add-key"
	SecretsReseal = "reseal"
)

// Secrets is the configuration of invoiced secrets.
type Secrets struct {
	// Command is SecretsInit, SecretsAddKey or SecretsReseal.
	Command  string
	Key      SecretsKey
	NATSURL  string
	NATSAuth NATSAuth
}

// Embedded reports whether reseal reads the embedded server's store in
// --data rather than --nats-url.
func (s Secrets) Embedded() bool { return s.NATSURL == "" }

const secretsUsage = `Usage: invoiced secrets <command> [flags]

Manages the key file that seals webhook signing secrets at rest
(docs/SECURITY.md, "Secrets at rest").

Commands:
  init      make the key file with one new key unless it exists; an
            existing one is checked and left as it is (for deployment
            scripts and init containers)
  add-key   put a new key at the top of the key file (made if missing); it
            seals once the service reloads the file (SIGHUP or restart),
            and the older keys still open
  reseal    seal every stored secret again under the file's first key and
            remove the earlier revisions of each record; then older keys
            can leave the file. Reads the embedded server's store in --data
            (with the service stopped), or the NATS at --nats-url (a
            running service: nats://127.0.0.1:4222 for the embedded one)`

// ParseSecrets reads invoiced secrets <command> and its flags from args,
// each flag defaulting to its INVOICED_<NAME> environment variable as in
// serve (NATS_URL is not read). It returns flag.ErrHelp after printing
// usage to out when asked for help, and an error naming the bad command or
// flag otherwise.
func ParseSecrets(args []string, getenv func(string) string, out io.Writer) (Secrets, error) {
	var s Secrets
	fs := newCommandFlags("invoiced secrets", secretsUsage, out)
	fs.StringVar(&s.Key.Data, "data", "./data", "data directory: where the key file is by default, and the embedded server's store")
	fs.StringVar(&s.Key.KeyFile, "secrets-key-file", "", secretsKeyFileUsage)
	fs.StringVar(&s.NATSURL, "nats-url", "", "reseal: URL of the NATS server or cluster holding the subscriptions; empty reads the embedded server's store in --data")
	s.NATSAuth.register(fs.FlagSet)
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fs.Usage()
		return Secrets{}, flag.ErrHelp
	}
	s.Command = args[0]
	if !slices.Contains([]string{SecretsInit, SecretsAddKey, SecretsReseal}, s.Command) {
		return Secrets{}, fmt.Errorf("unknown command %q: want %s, %s or %s", s.Command, SecretsInit, SecretsAddKey, SecretsReseal)
	}
	if err := fs.parse(args[1:], getenv); err != nil {
		return Secrets{}, err
	}
	if s.Command != SecretsReseal && !slices.ContainsFunc(natsFlags, func(f string) bool { return fs.cmdline[f] }) {
		// init and add-key touch no NATS: a shell's INVOICED_NATS_*
		// variables, set for reseal or serve, are no mistake here.
		s.NATSURL, s.NATSAuth = "", NATSAuth{}
	}
	return s, s.Validate()
}

// Validate reports the first problem: no key file, --nats-url for a
// command that works on the key file only, or NATS sign-in options that do
// not fit.
func (s Secrets) Validate() error {
	if err := s.Key.validate(); err != nil {
		return err
	}
	if s.Command != SecretsReseal && s.NATSURL != "" {
		return fmt.Errorf("--nats-url: %s works on the key file only", s.Command)
	}
	return s.NATSAuth.validate(s.Embedded())
}

// Ensure returns the keyring of k's file, making the file with one new key
// when there is none, and reports whether it made it. It fails as
// seal.ReadKeyFile does for a file that exists, and when one cannot be
// made.
func (k SecretsKey) Ensure() (kr *seal.Keyring, made bool, err error) {
	kr, err = seal.ReadKeyFile(k.Path())
	if !errors.Is(err, fs.ErrNotExist) {
		return kr, false, err
	}
	if err := k.MakeDir(); err != nil {
		return nil, false, err
	}
	kr, err = seal.CreateKeyFile(k.Path())
	if errors.Is(err, fs.ErrExist) { // made by another process meanwhile
		kr, err = seal.ReadKeyFile(k.Path())
		return kr, false, err
	}
	return kr, err == nil, err
}

// MakeDir makes --data when the key file is the default one in it; a key
// file named on purpose goes in a directory that exists.
func (k SecretsKey) MakeDir() error {
	if !k.MayCreate() {
		return nil
	}
	if err := os.MkdirAll(k.Data, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	return nil
}

// OpenSecretsKeys returns the keyring of the key file s names, logging
// when it makes one. The default file, secrets.key in --data, is made with
// a new key when it is missing; a file named with --secrets-key-file never
// is. It fails when the
// file is missing (and may not be made), not private to its owner, or
// malformed.
func (s Serve) OpenSecretsKeys(log *slog.Logger) (*seal.Keyring, error) {
	key := s.SecretsKey()
	if !key.MayCreate() {
		kr, err := seal.ReadKeyFile(key.Path())
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w; make one with: invoiced secrets init --secrets-key-file %s", err, key.Path())
		}
		return kr, err
	}
	kr, made, err := key.Ensure()
	if err != nil {
		return nil, err
	}
	if made {
		log.Warn("made a new secrets key file; back it up apart from the data: without it no stored webhook signing secret can be used",
			"file", key.Path(), "key", kr.SealingKeyID())
	}
	if made && !s.Embedded() {
		log.Warn("every api and dispatcher process using this NATS must share this key file (--secrets-key-file): "+
			"a process with another key cannot sign the webhooks of subscriptions this one stores", "file", key.Path())
	}
	return kr, nil
}
