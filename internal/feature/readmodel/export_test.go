package readmodel

import (
	"testing"
	"time"
)

// SetHistorySyncedAfter makes copies count as on disk d after the history
// stored them, for the rest of the test.
func SetHistorySyncedAfter(t testing.TB, d time.Duration) {
	was := historySyncedAfter
	historySyncedAfter = d
	t.Cleanup(func() { historySyncedAfter = was })
}
