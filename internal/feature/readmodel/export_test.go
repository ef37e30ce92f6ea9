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

// SetCommitPacing makes the Follower gather for up to every since its last
// commit, or until quiet passes without a message, for the rest of the test.
func SetCommitPacing(t testing.TB, every, quiet time.Duration) {
	wasEvery, wasQuiet := commitEvery, quietFor
	commitEvery, quietFor = every, quiet
	t.Cleanup(func() { commitEvery, quietFor = wasEvery, wasQuiet })
}
