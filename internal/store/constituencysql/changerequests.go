package constituencysql

// The change requests organisations send about their own records.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// AddChangeRequest stores r; it sets r.ID, and r.Created when it is zero. ErrNotFound
// when r.OrgID names no organisation.
func AddChangeRequest(ctx context.Context, db sqlkit.DB, r *store.ChangeRequest) error {
	if r.Created.IsZero() {
		r.Created = store.RecordTime()
	}
	id, err := db.Insert(ctx, `INSERT INTO change_requests (org_id, user_id, actor, text, created, done) VALUES (?, ?, ?, ?, ?, ?)`,
		r.OrgID, r.UserID, r.Actor, r.Text, db.Dialect().Time(r.Created), r.Done)
	if db.IsForeignKey(err) {
		return fmt.Errorf("add change request: organisation %d: %w", r.OrgID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("add change request: %w", err)
	}
	r.ID = id
	return nil
}

// ListChangeRequests returns an organisation's requests (orgID 0: every organisation's),
// newest first; the handled ones only when includeDone.
func ListChangeRequests(ctx context.Context, db sqlkit.DB, orgID int64, includeDone bool) ([]store.ChangeRequest, error) {
	out, err := sqlkit.All(ctx, db, `SELECT id, org_id, user_id, actor, text, created, done FROM change_requests
		WHERE (? = 0 OR org_id = ?) AND (? OR NOT done) ORDER BY id DESC`, []any{orgID, orgID, includeDone},
		func(row sqlkit.Row) (store.ChangeRequest, error) {
			var r store.ChangeRequest
			err := row.Scan(&r.ID, &r.OrgID, &r.UserID, &r.Actor, &r.Text, sqlkit.Time(&r.Created), &r.Done)
			return r, err
		})
	if err != nil {
		return nil, fmt.Errorf("list change requests: %w", err)
	}
	return out, nil
}

// MarkChangeRequestDone records that the team handled request id; ErrNotFound when
// there is none. (TRUE is a literal both databases know.)
func MarkChangeRequestDone(ctx context.Context, db sqlkit.DB, id int64) error {
	n, err := db.Exec(ctx, `UPDATE change_requests SET done = TRUE WHERE id = ?`, id)
	what := fmt.Sprintf("mark change request %d done", id)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case n == 0:
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
