package notifydb

// The policies and the templates' overrides.

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

const policyColumns = `org_id, enabled, taxonomies, types, feeds, immediate, digest, format, language, updated`

func (s *Store) scanPolicy(row sqlkit.Row) (notify.Policy, error) {
	var p notify.Policy
	d := s.db.Dialect()
	if err := row.Scan(&p.OrgID, &p.Enabled, d.ListDest(&p.Taxonomies), d.ListDest(&p.Types), d.ListDest(&p.Feeds),
		d.ListDest(&p.Immediate), &p.Digest, &p.Format, &p.Language, sqlkit.Time(&p.Updated)); err != nil {
		return notify.Policy{}, err
	}
	p.Taxonomies, p.Types, p.Feeds, p.Immediate = emptyNil(p.Taxonomies), emptyNil(p.Types), emptyNil(p.Feeds), emptyNil(p.Immediate)
	return p, nil
}

// GetNotificationPolicy returns the policy of orgID (0: the team default);
// ErrNotFound when it has none.
func (s *Store) GetNotificationPolicy(ctx context.Context, orgID int64) (notify.Policy, error) {
	p, err := s.scanPolicy(s.db.QueryRow(ctx, `SELECT `+policyColumns+` FROM notification_policies WHERE org_id = ?`, orgID))
	return p, s.notFound(err, fmt.Sprintf("get notification policy %d", orgID))
}

// PutNotificationPolicy creates or replaces the policy of p.OrgID; a zero
// Updated is now. ErrNotFound when p.OrgID is neither 0 nor an
// organisation.
func (s *Store) PutNotificationPolicy(ctx context.Context, p notify.Policy) error {
	what := fmt.Sprintf("put notification policy %d", p.OrgID)
	if p.Updated.IsZero() {
		p.Updated = store.RecordTime()
	}
	d := s.db.Dialect()
	args := []any{p.OrgID, p.Enabled}
	for _, l := range [][]string{p.Taxonomies, p.Types, p.Feeds, p.Immediate} {
		v, err := d.List(l)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		args = append(args, v)
	}
	args = append(args, p.Digest, p.Format, p.Language, d.Time(p.Updated))
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		if p.OrgID != 0 {
			// In PostgreSQL, FOR SHARE makes a concurrent
			// DeleteOrganisation wait for this transaction, then delete
			// the policy with the organisation; SQLite's one writer
			// serialises the two already.
			query := `SELECT id FROM organisations WHERE id = ?`
			if d != sqlkit.SQLite {
				query += ` FOR SHARE`
			}
			var id int64
			if err := tx.QueryRow(ctx, query, p.OrgID).Scan(&id); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO notification_policies (`+policyColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (org_id) DO UPDATE SET enabled = excluded.enabled, taxonomies = excluded.taxonomies,
				types = excluded.types, feeds = excluded.feeds, immediate = excluded.immediate, digest = excluded.digest,
				format = excluded.format, language = excluded.language, updated = excluded.updated`, args...)
		return err
	})
	return s.notFound(err, what)
}

// DeleteNotificationPolicy removes the policy of orgID; removing a missing
// one is not an error.
func (s *Store) DeleteNotificationPolicy(ctx context.Context, orgID int64) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM notification_policies WHERE org_id = ?`, orgID); err != nil {
		return fmt.Errorf("delete notification policy %d: %w", orgID, err)
	}
	return nil
}

// ListNotificationPolicies returns every policy by organisation ID, the
// team default (0) first.
func (s *Store) ListNotificationPolicies(ctx context.Context) ([]notify.Policy, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT `+policyColumns+` FROM notification_policies ORDER BY org_id`, nil, s.scanPolicy)
	if err != nil {
		return nil, fmt.Errorf("list notification policies: %w", err)
	}
	return out, nil
}

const templateColumns = `language, name, subject, body, updated, updated_by`

func scanTemplate(row sqlkit.Row) (notify.TemplateSource, error) {
	var t notify.TemplateSource
	if err := row.Scan(&t.Language, &t.Name, &t.Subject, &t.Body, sqlkit.Time(&t.Updated), &t.UpdatedBy); err != nil {
		return notify.TemplateSource{}, err
	}
	return t, nil
}

// GetNotificationTemplate returns an override; ErrNotFound when there is
// none.
func (s *Store) GetNotificationTemplate(ctx context.Context, language, name string) (notify.TemplateSource, error) {
	t, err := scanTemplate(s.db.QueryRow(ctx, `SELECT `+templateColumns+` FROM notification_templates
		WHERE language = ? AND name = ?`, language, name))
	return t, s.notFound(err, "get notification template "+language+"/"+name)
}

// PutNotificationTemplate creates or replaces an override; a zero Updated
// is now.
func (s *Store) PutNotificationTemplate(ctx context.Context, t notify.TemplateSource) error {
	if t.Updated.IsZero() {
		t.Updated = store.RecordTime()
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO notification_templates (`+templateColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (language, name) DO UPDATE SET subject = excluded.subject, body = excluded.body,
			updated = excluded.updated, updated_by = excluded.updated_by`,
		t.Language, t.Name, t.Subject, t.Body, s.db.Dialect().Time(t.Updated), t.UpdatedBy); err != nil {
		return fmt.Errorf("put notification template %s/%s: %w", t.Language, t.Name, err)
	}
	return nil
}

// DeleteNotificationTemplate removes an override; removing a missing one
// is not an error.
func (s *Store) DeleteNotificationTemplate(ctx context.Context, language, name string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM notification_templates WHERE language = ? AND name = ?`, language, name); err != nil {
		return fmt.Errorf("delete notification template %s/%s: %w", language, name, err)
	}
	return nil
}

// ListNotificationTemplates returns every override by language and name
// (in byte order on both databases: the key's columns are COLLATE "C" in
// PostgreSQL).
func (s *Store) ListNotificationTemplates(ctx context.Context) ([]notify.TemplateSource, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT `+templateColumns+` FROM notification_templates ORDER BY language, name`, nil, scanTemplate)
	if err != nil {
		return nil, fmt.Errorf("list notification templates: %w", err)
	}
	return out, nil
}

// notFound wraps err as a failure of what, store.ErrNotFound when a
// single-row query selected nothing.
func (s *Store) notFound(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case s.db.IsNoRows(err) || errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ForgetOrganisation removes the notification policy of the organisation
// id in tx, the transaction that deletes it: the notification settings'
// part in deleting an organisation (a constituencydb.DeleteHook's Forget,
// given by internal/database).
func ForgetOrganisation(ctx context.Context, tx sqlkit.DB, id int64, _ string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM notification_policies WHERE org_id = ?`, id); err != nil {
		return fmt.Errorf("delete notification policy: %w", err)
	}
	return nil
}
