//go:build !unix

package readmodel

import (
	"fmt"
	"os"
)

// lock opens the file path+".lock"; this platform takes no lock on it.
func lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("read model: %w", err)
	}
	return f, nil
}
