// Package filelock keeps two processes from using one data directory, or
// one file in it, at once.
package filelock

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrHeld is returned, wrapped, when another holder keeps the lock.
var ErrHeld = errors.New("held by another process")

// wait is how long Lock waits for a holder to let go: long enough for one
// that is shutting down in this process, short enough to fail at once for
// a person starting a second process.
const wait = 2 * time.Second

// Lock takes an exclusive lock on the file at path, creating it, and returns
// the open file; closing it frees the lock, as the holder's exit does. It
// fails with ErrHeld when another process (or another open file in this
// one) keeps holding it, and when the file cannot be created.
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		held, err := tryLock(f)
		switch {
		case err != nil:
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		case !held:
			return f, nil
		case time.Now().After(deadline):
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ErrHeld)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
