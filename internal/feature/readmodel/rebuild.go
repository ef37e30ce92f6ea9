package readmodel

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/invoiced/invoiced/internal/infra/progress"
)

// Rebuild empties s and follows the history and the live records into it
// until it holds everything the history held when it began, showing its
// progress, and what it could not apply, on progressTo. It fails when the
// history or the database cannot be read or written, or ctx ends first.
func (s *Store) Rebuild(ctx context.Context, streams Streams, live LiveRecords, progressTo io.Writer) error {
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Empty(setup); err != nil {
		return err
	}
	f, err := s.Follow(setup, streams, live, slog.New(slog.NewTextHandler(progressTo, nil)))
	if err != nil {
		return err
	}
	defer f.Stop()
	line := progress.Start(progressTo, 250*time.Millisecond, func() string {
		return fmt.Sprintf("rebuild: %v", f.Ready())
	})
	defer line.Stop()
	for f.Ready() != nil {
		select {
		case <-ctx.Done():
			return fmt.Errorf("rebuild stopped: %w", f.Ready())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
