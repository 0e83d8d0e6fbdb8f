package constituencydb

// The change requests organisations send about their own records.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// AddChangeRequest stores r; it sets r.ID, and r.Created when it is zero. ErrNotFound
// when r.OrgID names no organisation.
func (s *Store) AddChangeRequest(ctx context.Context, r *constituency.ChangeRequest) error {
	db := s.db
	if r.Created.IsZero() {
		r.Created = store.RecordTime()
	}
	id, err := db.Insert(ctx, `INSERT INTO change_requests (org_id, user_id, actor, text, created, done) VALUES (?, ?, ?, ?, ?, ?)`,
		r.OrgID, r.UserID, r.Actor, r.Text, db.Dialect().Time(r.Created), r.Done)
	if db.IsForeignKey(err) {
		return fmt.Errorf("constituency: add change request: organisation %d: %w", r.OrgID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("constituency: add change request: %w", err)
	}
	r.ID = id
	return nil
}

// ListChangeRequests returns an organisation's requests (orgID 0: every organisation's),
// newest first; the handled ones only when includeDone.
func (s *Store) ListChangeRequests(ctx context.Context, orgID int64, includeDone bool) ([]constituency.ChangeRequest, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT id, org_id, user_id, actor, text, created, done FROM change_requests
		WHERE (? = 0 OR org_id = ?) AND (? OR NOT done) ORDER BY id DESC`, []any{orgID, orgID, includeDone},
		func(row sqlkit.Row) (constituency.ChangeRequest, error) {
			var r constituency.ChangeRequest
			err := row.Scan(&r.ID, &r.OrgID, &r.UserID, &r.Actor, &r.Text, sqlkit.Time(&r.Created), &r.Done)
			return r, err
		})
	if err != nil {
		return nil, fmt.Errorf("constituency: list change requests: %w", err)
	}
	return out, nil
}

// MarkChangeRequestDone records that the team handled request id; ErrNotFound when
// there is none. (TRUE is a literal both databases know.)
func (s *Store) MarkChangeRequestDone(ctx context.Context, id int64) error {
	n, err := s.db.Exec(ctx, `UPDATE change_requests SET done = TRUE WHERE id = ?`, id)
	what := fmt.Sprintf("constituency: mark change request %d done", id)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", what, err)
	case n == 0:
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}
