//go:build unix

package readmodel

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive lock on the file path+".lock", which another
// process holding it makes fail at once; closing the returned file frees it.
func lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("read model %s is in use by another invoiced process; give each api process a --data of its own", path)
		}
		return nil, fmt.Errorf("read model: lock %s: %w", path, err)
	}
	return f, nil
}
