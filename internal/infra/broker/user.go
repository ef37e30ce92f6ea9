package broker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/nats-io/nkeys"
)

// UserFile is the name, in the embedded server's store directory, of the
// nkey seed of the one user a locked embedded server admits.
const UserFile = "nats-user.nk"

// ErrLooseUserFile: the user's seed can be read by others than its owner.
var ErrLooseUserFile = errors.New("embedded NATS user seed is readable by others")

// LoadOrCreateUser returns the public key of the user whose nkey seed is in
// the file at path, first writing a new seed there (mode 0600) when there
// is no file. It fails when the file cannot be read or written, holds no
// user seed, or is readable by its group or others.
func LoadOrCreateUser(path string) (string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createUser(path)
	}
	if err != nil {
		return "", fmt.Errorf("embedded NATS user: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("embedded NATS user: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: %s has mode %o; chmod 600 it", ErrLooseUserFile, path, info.Mode().Perm())
	}
	kp, err := nkeys.FromSeed([]byte(strings.TrimSpace(string(data))))
	if err != nil {
		return "", fmt.Errorf("embedded NATS user: %s holds no nkey seed: %w", path, err)
	}
	defer kp.Wipe()
	public, err := kp.PublicKey()
	if err != nil || !nkeys.IsValidPublicUserKey(public) {
		return "", fmt.Errorf("embedded NATS user: %s holds no user nkey seed", path)
	}
	return public, nil
}

// createUser writes a new user seed to path, failing if the file appeared
// meanwhile, and returns its public key.
func createUser(path string) (string, error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", fmt.Errorf("embedded NATS user: %w", err)
	}
	defer kp.Wipe()
	seed, err := kp.Seed()
	if err != nil {
		return "", fmt.Errorf("embedded NATS user: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("embedded NATS user: %w", err)
	}
	if _, err := f.Write(append(seed, '\n')); err != nil {
		f.Close()
		return "", fmt.Errorf("embedded NATS user: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("embedded NATS user: %w", err)
	}
	return kp.PublicKey()
}
