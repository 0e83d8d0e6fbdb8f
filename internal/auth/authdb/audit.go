package authdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// AddAudit appends an entry; a zero Time is now.
func (a *Store) AddAudit(ctx context.Context, e auth.AuditEntry) error {
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	if _, err := a.db.Exec(ctx, `INSERT INTO audit (time, user_id, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		a.db.Dialect().Time(t), e.UserID, e.Actor, e.Action, e.Target, e.Detail); err != nil {
		return fmt.Errorf("add audit: %w", err)
	}
	return nil
}

// ListAudit returns the entries q selects, newest first.
func (a *Store) ListAudit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEntry, error) {
	var (
		where []string
		args  []any
	)
	if q.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, q.Actor)
	}
	if q.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, q.BeforeID)
	}
	query := `SELECT id, time, user_id, actor, action, target, detail FROM audit`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, store.PageLimit(q.Limit))
	out, err := sqlkit.All(ctx, a.db, query, args, func(row sqlkit.Row) (auth.AuditEntry, error) {
		var e auth.AuditEntry
		err := row.Scan(&e.ID, sqlkit.Time(&e.Time), &e.UserID, &e.Actor, &e.Action, &e.Target, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}
