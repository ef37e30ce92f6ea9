package bench

import (
	"os"
	"path/filepath"
	"testing"
)

func TestStartProfileCreatesItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	stop, err := startProfile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cpu.prof", "heap.prof"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v (size %v)", name, err, fi)
		}
	}
}
