package auth

import (
	"context"
	"fmt"
	"time"
)

// Record appends an audit entry, stamping the time when unset.
func Record(ctx context.Context, st AuditLog, e AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	if err := st.AddAudit(ctx, e); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}
