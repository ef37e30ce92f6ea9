package readmodel

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/invoiced/invoiced/internal/contract/webhook"
)

// OldestUndelivered returns when the oldest delivery still pending or
// failing was made, and false when every delivery is delivered or dead. It
// fails when the database cannot be read.
func (s *Store) OldestUndelivered(ctx context.Context) (time.Time, bool, error) {
	// One index seek per status: the partial index deliveries_open serves
	// a query that repeats its condition.
	var oldest sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT min(m) FROM (
		SELECT min(created_at) AS m FROM deliveries WHERE status = ? AND status <> 'delivered'
		UNION ALL
		SELECT min(created_at) FROM deliveries WHERE status = ? AND status <> 'delivered')`,
		webhook.DeliveryPending, webhook.DeliveryFailing).Scan(&oldest)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read model: oldest undelivered: %w", err)
	}
	if !oldest.Valid {
		return time.Time{}, false, nil
	}
	return time.Unix(0, oldest.Int64), true, nil
}
