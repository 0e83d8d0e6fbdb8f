package auth

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

// TargetIDs names records of one kind in an audit entry's Target, "kind
// 1,2,3", the list shortened past fifty ids ("… and 12 more"), so that a
// bulk action stays one readable entry.
func TargetIDs(kind string, ids []int64) string {
	const shown = 50
	var b strings.Builder
	b.WriteString(kind + " ")
	for i, id := range ids {
		if i == shown {
			fmt.Fprintf(&b, " and %d more", len(ids)-shown)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}
