package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FileMode is the mode a key file is written with, and the most a key file
// may allow: its owner only.
const FileMode = 0o600

// maxKeyFile bounds what is read of a key file: far more than any number of
// keys an operator keeps.
const maxKeyFile = 64 << 10

// Errors returned, wrapped, when a key file is refused.
var (
	// ErrKeyFile is a key file that is malformed or holds no key.
	ErrKeyFile = errors.New("bad secrets key file")
	// ErrLoosePermissions is a key file that its group or others may
	// read or write, or that is not a regular file.
	ErrLoosePermissions = errors.New("secrets key file is not private to its owner")
)

// ParseKeys returns the keys in a key file's contents, the sealing one
// first: one key a line, as 64 hex digits or the base64 (standard or URL,
// padded or not) of KeySize bytes; blank lines and lines starting with #
// are ignored. It fails with ErrKeyFile naming the first bad line's number,
// never its content, which may be a key.
func ParseKeys(data []byte) ([][]byte, error) {
	var keys [][]byte
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, ok := decodeKey(line)
		if !ok {
			return nil, fmt.Errorf("%w: line %d is not a key: want %d hex digits or the base64 of %d bytes", ErrKeyFile, i+1, 2*KeySize, KeySize)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key in it", ErrKeyFile)
	}
	return keys, nil
}

// decodeKey reads one key written as hex or base64.
func decodeKey(s string) ([]byte, bool) {
	if len(s) == 2*KeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, true
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.Strict().DecodeString(s); err == nil && len(k) == KeySize {
			return k, true
		}
	}
	return nil, false
}

// ReadKeyFile returns the keyring in the key file at path. It fails with an
// error matching fs.ErrNotExist when there is no file, ErrLoosePermissions
// when it is not a regular file private to its owner, and ErrKeyFile or
// ErrBadKey when its contents are not keys.
func ReadKeyFile(path string) (*Keyring, error) {
	data, err := readPrivate(path)
	if err != nil {
		return nil, err
	}
	keys, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	kr, err := New(keys...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kr, nil
}

// readPrivate reads the file at path, refusing one that is not a regular
// file private to its owner; the check is made on the file as opened.
func readPrivate(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secrets key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secrets key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrLoosePermissions, path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; make it readable by its owner only (chmod 600 %s)", ErrLoosePermissions, path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("secrets key file %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrKeyFile, path, maxKeyFile)
	}
	return data, nil
}

// keyFileHeader opens every key file this package writes.
const keyFileHeader = `# invoiced secrets key file. The first key seals webhook signing secrets;
# every key opens them. Keep it private (mode 0600) and back it up apart
# from the data: without it no stored signing secret can be used.
# See docs/SECURITY.md, "Secrets at rest".
`

// keyLines returns a new key's lines in a key file: a comment with its ID
// and the time it was made, then the key in hex.
func keyLines(k []byte, now time.Time) string {
	return fmt.Sprintf("# key %s, made %s\n%s\n", KeyID(k), now.UTC().Format(time.RFC3339), hex.EncodeToString(k))
}

// CreateKeyFile writes a key file with one new key at path, which must not
// exist, with mode FileMode, synced to disk, and returns its keyring. It
// fails with an error matching fs.ErrExist when the file exists (another
// process may have just made it) and with the file system's error
// otherwise.
func CreateKeyFile(path string) (*Keyring, error) {
	k, err := NewKey()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return nil, fmt.Errorf("create secrets key file: %w", err)
	}
	_, err = f.WriteString(keyFileHeader + keyLines(k, time.Now()))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		_ = os.Remove(path) // a half-written key file would refuse every later start
		return nil, fmt.Errorf("create secrets key file: %w", err)
	}
	return New(k)
}

// AddKey puts a new key at the top of the key file at path, so it seals
// from the next (re)load on while every older key still opens, and returns
// its ID; it creates the file when there is none. The file is replaced
// whole (a new file, synced, renamed over the old one), so a crash leaves
// either the old file or the new one, with mode FileMode. It fails, leaving
// the file as it was, when the existing file is refused as ReadKeyFile
// refuses it or cannot be replaced.
func AddKey(path string) (string, error) {
	old, err := readPrivate(path)
	if errors.Is(err, fs.ErrNotExist) {
		kr, err := CreateKeyFile(path)
		if err != nil {
			return "", err
		}
		return kr.SealingKeyID(), nil
	}
	if err != nil {
		return "", err
	}
	keys, err := ParseKeys(old)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	k, err := NewKey()
	if err != nil {
		return "", err
	}
	if _, err := New(append([][]byte{k}, keys...)...); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	body := bytes.TrimPrefix(old, []byte(keyFileHeader))
	data := append([]byte(keyFileHeader+keyLines(k, time.Now())), body...)
	if err := replaceFile(path, data); err != nil {
		return "", err
	}
	return KeyID(k), nil
}

// replaceFile writes data to a new private file beside path and renames it
// over path.
func replaceFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*") // O_EXCL, mode 0600
	if err != nil {
		return fmt.Errorf("write secrets key file: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(FileMode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write secrets key file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write secrets key file: %w", err)
	}
	return nil
}

// syncDir makes a new or renamed entry in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
