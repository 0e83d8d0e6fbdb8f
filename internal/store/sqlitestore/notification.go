package sqlitestore

// Notification policies and templates; the queue, what was told, the
// commit of a pass and the outbox have files of their own.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// jsonList encodes a list column; nil and empty are both "[]".
func jsonList(list []string) (string, error) {
	if len(list) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(list)
	return string(b), err
}

// fromJSONList decodes a list column; an empty list is nil, as it was
// given.
func fromJSONList(s string) ([]string, error) {
	var list []string
	if err := json.Unmarshal([]byte(s), &list); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, nil
	}
	return list, nil
}

const policyColumns = `org_id, enabled, taxonomies, types, feeds, immediate, digest, format, language, updated`

func scanPolicy(row interface{ Scan(...any) error }) (store.NotificationPolicy, error) {
	var (
		p                                  store.NotificationPolicy
		taxonomies, types, feeds, immediat string
		updated                            int64
	)
	if err := row.Scan(&p.OrgID, &p.Enabled, &taxonomies, &types, &feeds, &immediat, &p.Digest, &p.Format, &p.Language, &updated); err != nil {
		return store.NotificationPolicy{}, err
	}
	p.Updated = time.UnixMicro(updated).UTC()
	var err error
	for _, l := range []struct {
		dst *[]string
		src string
	}{{&p.Taxonomies, taxonomies}, {&p.Types, types}, {&p.Feeds, feeds}, {&p.Immediate, immediat}} {
		if *l.dst, err = fromJSONList(l.src); err != nil {
			return store.NotificationPolicy{}, fmt.Errorf("policy of organisation %d: %w", p.OrgID, err)
		}
	}
	return p, nil
}

// GetNotificationPolicy returns the policy of orgID (0: the team default);
// ErrNotFound when it has none.
func (s *Store) GetNotificationPolicy(ctx context.Context, orgID int64) (store.NotificationPolicy, error) {
	p, err := scanPolicy(s.read.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM notification_policies WHERE org_id = ?`, orgID))
	return p, notFound(err, fmt.Sprintf("get notification policy %d", orgID))
}

// PutNotificationPolicy creates or replaces the policy of p.OrgID; a zero
// Updated is now. ErrNotFound when p.OrgID is neither 0 nor an
// organisation.
func (s *Store) PutNotificationPolicy(ctx context.Context, p store.NotificationPolicy) error {
	what := fmt.Sprintf("put notification policy %d", p.OrgID)
	if p.Updated.IsZero() {
		p.Updated = store.RecordTime()
	}
	lists := make([]any, 0, 4)
	for _, l := range [][]string{p.Taxonomies, p.Types, p.Feeds, p.Immediate} {
		v, err := jsonList(l)
		if err != nil {
			return fmt.Errorf("sqlitestore: %s: %w", what, err)
		}
		lists = append(lists, v)
	}
	res, err := s.write.ExecContext(ctx, `INSERT INTO notification_policies (`+policyColumns+`)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
		WHERE ? = 0 OR EXISTS (SELECT 1 FROM organisations WHERE id = ?)
		ON CONFLICT (org_id) DO UPDATE SET enabled = excluded.enabled, taxonomies = excluded.taxonomies,
			types = excluded.types, feeds = excluded.feeds, immediate = excluded.immediate, digest = excluded.digest,
			format = excluded.format, language = excluded.language, updated = excluded.updated`,
		p.OrgID, p.Enabled, lists[0], lists[1], lists[2], lists[3], p.Digest, p.Format, p.Language, p.Updated.UnixMicro(),
		p.OrgID, p.OrgID)
	return affectedOne(res, err, what)
}

// DeleteNotificationPolicy removes the policy of orgID; removing a missing
// one is not an error.
func (s *Store) DeleteNotificationPolicy(ctx context.Context, orgID int64) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM notification_policies WHERE org_id = ?`, orgID); err != nil {
		return fmt.Errorf("sqlitestore: delete notification policy %d: %w", orgID, err)
	}
	return nil
}

// ListNotificationPolicies returns every policy by organisation ID, the
// team default (0) first.
func (s *Store) ListNotificationPolicies(ctx context.Context) ([]store.NotificationPolicy, error) {
	out, err := sqlkit.Query(ctx, s.read, `SELECT `+policyColumns+` FROM notification_policies ORDER BY org_id`, nil,
		func(rows *sql.Rows) (store.NotificationPolicy, error) { return scanPolicy(rows) })
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list notification policies: %w", err)
	}
	return out, nil
}

const templateColumns = `language, name, subject, body, updated, updated_by`

func scanTemplate(row interface{ Scan(...any) error }) (store.NotificationTemplate, error) {
	var (
		t       store.NotificationTemplate
		updated int64
	)
	if err := row.Scan(&t.Language, &t.Name, &t.Subject, &t.Body, &updated, &t.UpdatedBy); err != nil {
		return store.NotificationTemplate{}, err
	}
	t.Updated = time.UnixMicro(updated).UTC()
	return t, nil
}

// GetNotificationTemplate returns an override; ErrNotFound when there is
// none.
func (s *Store) GetNotificationTemplate(ctx context.Context, language, name string) (store.NotificationTemplate, error) {
	t, err := scanTemplate(s.read.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM notification_templates
		WHERE language = ? AND name = ?`, language, name))
	return t, notFound(err, "get notification template "+language+"/"+name)
}

// PutNotificationTemplate creates or replaces an override; a zero Updated
// is now.
func (s *Store) PutNotificationTemplate(ctx context.Context, t store.NotificationTemplate) error {
	if t.Updated.IsZero() {
		t.Updated = store.RecordTime()
	}
	if _, err := s.write.ExecContext(ctx, `INSERT INTO notification_templates (`+templateColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (language, name) DO UPDATE SET subject = excluded.subject, body = excluded.body,
			updated = excluded.updated, updated_by = excluded.updated_by`,
		t.Language, t.Name, t.Subject, t.Body, t.Updated.UnixMicro(), t.UpdatedBy); err != nil {
		return fmt.Errorf("sqlitestore: put notification template %s/%s: %w", t.Language, t.Name, err)
	}
	return nil
}

// DeleteNotificationTemplate removes an override; removing a missing one
// is not an error.
func (s *Store) DeleteNotificationTemplate(ctx context.Context, language, name string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM notification_templates WHERE language = ? AND name = ?`, language, name); err != nil {
		return fmt.Errorf("sqlitestore: delete notification template %s/%s: %w", language, name, err)
	}
	return nil
}

// ListNotificationTemplates returns every override by language and name.
func (s *Store) ListNotificationTemplates(ctx context.Context) ([]store.NotificationTemplate, error) {
	out, err := sqlkit.Query(ctx, s.read, `SELECT `+templateColumns+` FROM notification_templates ORDER BY language, name`, nil,
		func(rows *sql.Rows) (store.NotificationTemplate, error) { return scanTemplate(rows) })
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list notification templates: %w", err)
	}
	return out, nil
}
