package sqlitestore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
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
		p.Updated = recordTime()
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
	var out []store.NotificationPolicy
	err := eachRow(ctx, s.read, `SELECT `+policyColumns+` FROM notification_policies ORDER BY org_id`, nil, func(rows *sql.Rows) error {
		p, err := scanPolicy(rows)
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
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
		t.Updated = recordTime()
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
	var out []store.NotificationTemplate
	err := eachRow(ctx, s.read, `SELECT `+templateColumns+` FROM notification_templates ORDER BY language, name`, nil, func(rows *sql.Rows) error {
		t, err := scanTemplate(rows)
		if err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list notification templates: %w", err)
	}
	return out, nil
}

// PendingNotificationOrgs lists the organisations with pending events, by
// handle.
func (s *Store) PendingNotificationOrgs(ctx context.Context) ([]store.PendingCount, error) {
	var out []store.PendingCount
	err := eachRow(ctx, s.read, `SELECT org, count(*), min(stored) FROM notify_queue GROUP BY org ORDER BY org`, nil, func(rows *sql.Rows) error {
		var (
			c      store.PendingCount
			oldest int64
		)
		if err := rows.Scan(&c.Org, &c.Count, &oldest); err != nil {
			return err
		}
		c.Oldest = time.UnixMicro(oldest).UTC()
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: pending notification organisations: %w", err)
	}
	return out, nil
}

// ListPendingNotifications returns org's pending events after afterSeq, in
// queue order, with the events; limit is as EventQuery.Limit (default 50,
// at most 10000).
func (s *Store) ListPendingNotifications(ctx context.Context, org string, afterSeq int64, limit int) ([]store.PendingNotification, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT q.seq, q.stored, e.hash, e.data FROM notify_queue AS q
		JOIN events AS e ON e.id = q.event_id
		WHERE q.org = ? AND q.seq > ? ORDER BY q.seq LIMIT ?`, org, afterSeq, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
	}
	defer rows.Close()
	var out []store.PendingNotification
	for rows.Next() {
		var (
			p          = store.PendingNotification{Org: org}
			stored     int64
			hash, data []byte
		)
		if err := rows.Scan(&p.Seq, &stored, &hash, &data); err != nil {
			return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
		}
		copy(p.Hash[:], hash)
		p.Stored = time.UnixMicro(stored).UTC()
		if p.Event, err = decodeEvent(data); err != nil {
			return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: event %s: %w", org, p.Hash, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list pending notifications of %s: %w", org, err)
	}
	return out, nil
}

const keyColumns = `org, key, first_sent, last_sent, expires, repeats, summary`

func scanKey(row interface{ Scan(...any) error }) (store.NotifiedKey, error) {
	var (
		k                    store.NotifiedKey
		key                  []byte
		first, last, expires int64
	)
	if err := row.Scan(&k.Org, &key, &first, &last, &expires, &k.Repeats, &k.Summary); err != nil {
		return store.NotifiedKey{}, err
	}
	copy(k.Key[:], key)
	k.FirstSent, k.LastSent, k.Expires = time.UnixMicro(first).UTC(), time.UnixMicro(last).UTC(), time.UnixMicro(expires).UTC()
	return k, nil
}

// keysPerQuery bounds the parameters of one GetNotifiedKeys query.
const keysPerQuery = 500

// GetNotifiedKeys returns those of keys told to org that expire after now.
func (s *Store) GetNotifiedKeys(ctx context.Context, org string, keys []event.Hash, now time.Time) (map[event.Hash]store.NotifiedKey, error) {
	out := make(map[event.Hash]store.NotifiedKey)
	args := make([]any, 0, keysPerQuery+2)
	for start := 0; start < len(keys); start += keysPerQuery {
		chunk := keys[start:min(start+keysPerQuery, len(keys))]
		args = append(args[:0], org, now.UnixMicro())
		for i := range chunk {
			args = append(args, chunk[i][:])
		}
		rows, err := s.read.QueryContext(ctx, `SELECT `+keyColumns+` FROM notified_keys WHERE org = ? AND expires > ? AND key IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: get notified keys of %s: %w", org, err)
		}
		for rows.Next() {
			k, err := scanKey(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlitestore: get notified keys of %s: %w", org, err)
			}
			out[k.Key] = k
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: get notified keys of %s: %w", org, err)
		}
	}
	return out, nil
}

// ListRepeatedKeys returns org's unexpired keys seen again since they were
// last reported, oldest first.
func (s *Store) ListRepeatedKeys(ctx context.Context, org string, now time.Time) ([]store.NotifiedKey, error) {
	var out []store.NotifiedKey
	err := eachRow(ctx, s.read, `SELECT `+keyColumns+` FROM notified_keys WHERE org = ? AND expires > ? AND repeats > 0
		ORDER BY first_sent, key`, []any{org, now.UnixMicro()}, func(rows *sql.Rows) error {
		k, err := scanKey(rows)
		if err != nil {
			return err
		}
		out = append(out, k)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list repeated keys of %s: %w", org, err)
	}
	return out, nil
}

// PruneNotifiedKeys removes keys expired before now.
func (s *Store) PruneNotifiedKeys(ctx context.Context, now time.Time) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM notified_keys WHERE expires < ?`, now.UnixMicro()); err != nil {
		return fmt.Errorf("sqlitestore: prune notified keys: %w", err)
	}
	return nil
}

// rowsPerStatement is how many rows one INSERT or DELETE of
// CommitNotifications carries, and parametersPerStatement bounds its
// parameters (SQLite allows 32766). Compiling a statement costs as much as
// running it for many rows, so a commit binds many rows a statement and
// compiles the statement of a full chunk once (multiRow).
const (
	rowsPerStatement       = 500
	parametersPerStatement = 1000
)

// valueRows returns n rows of columns placeholders: "(?, ?), (?, ?)".
func valueRows(columns, n int) string {
	row := "(?" + strings.Repeat(", ?", columns-1) + ")"
	return row + strings.Repeat(", "+row, n-1)
}

// multiRow runs statement(k) for n rows in chunks of k rows, k at most
// rowsPerStatement and columns*k at most parametersPerStatement; args
// appends the parameters of row i. The statement of a full chunk is
// prepared once and reused, only a short last chunk compiles its own.
func multiRow(ctx context.Context, tx *sql.Tx, n, columns int, statement func(rows int) string, args func(dst []any, i int) []any) error {
	per := min(rowsPerStatement, parametersPerStatement/columns)
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	buf := make([]any, 0, per*columns)
	for start := 0; start < n; start += per {
		end := min(start+per, n)
		buf = buf[:0]
		for i := start; i < end; i++ {
			buf = args(buf, i)
		}
		var err error
		if end-start < per {
			_, err = tx.ExecContext(ctx, statement(end-start), buf...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, statement(per)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, buf...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

const insertMessageSQL = `INSERT INTO outbox_messages (org_id, org, kind, sender, recipients, subject, message_id,
	body, size, events, encrypted, status, attempts, next_attempt, last_error, reply, created, sent)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CommitNotifications stores one pass of the notifier in one transaction:
// the messages (with the events they report), the keys, the state, and the
// removal of the consumed pending notifications. It sets the messages'
// IDs, and fills in their Size, a zero Status (queued), Created (now) and
// NextAttempt (Created: due at once). On error nothing is stored and c is
// unchanged.
func (s *Store) CommitNotifications(ctx context.Context, c *store.NotificationCommit) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	defer tx.Rollback()
	messages := make([]store.OutboxMessage, len(c.Messages))
	copy(messages, c.Messages)
	at := recordTime()
	type reported struct {
		hash []byte
		id   int64
	}
	var reports []reported
	if len(messages) > 0 {
		insert, err := tx.PrepareContext(ctx, insertMessageSQL)
		if err != nil {
			return fmt.Errorf("sqlitestore: commit notifications: %w", err)
		}
		defer insert.Close()
		for i := range messages {
			m := &messages[i]
			store.PrepareMessage(m, at)
			recipients, err := jsonList(m.Recipients)
			if err != nil {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: %w", i+1, err)
			}
			body := m.Body
			if body == nil {
				body = []byte{}
			}
			res, err := insert.ExecContext(ctx, m.OrgID, m.Org, m.Kind, m.Sender, recipients, m.Subject, nullText(m.MessageID),
				body, m.Size, m.Events, m.Encrypted, m.Status, m.Attempts, m.NextAttempt.UnixMicro(), m.LastError, m.Reply,
				m.Created.UnixMicro(), micros(m.Sent))
			if isUnique(err) {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: Message-ID %s: %w", i+1, m.MessageID, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: %w", i+1, err)
			}
			if m.ID, err = res.LastInsertId(); err != nil {
				return fmt.Errorf("sqlitestore: commit notifications: message %d: %w", i+1, err)
			}
			for j := range m.EventHashes {
				reports = append(reports, reported{m.EventHashes[j][:], m.ID})
			}
		}
	}
	// In key order, each chunk's rows and successive chunks fall in
	// neighbouring pages of the index: fewer pages read and rebalanced
	// than in the order of the messages.
	slices.SortFunc(reports, func(a, b reported) int {
		if d := bytes.Compare(a.hash, b.hash); d != 0 {
			return d
		}
		return cmp.Compare(a.id, b.id)
	})
	err = multiRow(ctx, tx, len(reports), 2, func(n int) string {
		return `INSERT OR IGNORE INTO message_events (event_hash, message_id) VALUES ` + valueRows(2, n)
	}, func(dst []any, i int) []any {
		return append(dst, reports[i].hash, reports[i].id)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: message events: %w", err)
	}
	// In key order too, stable: a key given twice is upserted twice in
	// the order given (in one statement as in separate ones), so the last
	// one counts.
	keyOrder := make([]int, len(c.Keys))
	for i := range keyOrder {
		keyOrder[i] = i
	}
	slices.SortStableFunc(keyOrder, func(i, j int) int {
		if d := strings.Compare(c.Keys[i].Org, c.Keys[j].Org); d != 0 {
			return d
		}
		return bytes.Compare(c.Keys[i].Key[:], c.Keys[j].Key[:])
	})
	err = multiRow(ctx, tx, len(c.Keys), 7, func(n int) string {
		return `INSERT INTO notified_keys (` + keyColumns + `) VALUES ` + valueRows(7, n) + `
			ON CONFLICT (org, key) DO UPDATE SET first_sent = excluded.first_sent, last_sent = excluded.last_sent,
				expires = excluded.expires, repeats = excluded.repeats, summary = excluded.summary`
	}, func(dst []any, i int) []any {
		k := &c.Keys[keyOrder[i]]
		return append(dst, k.Org, k.Key[:], k.FirstSent.UnixMicro(), k.LastSent.UnixMicro(), k.Expires.UnixMicro(), k.Repeats, k.Summary)
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: keys: %w", err)
	}
	if len(c.State) > 0 {
		keys := make([]string, 0, len(c.State))
		for k := range c.State {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		err = multiRow(ctx, tx, len(keys), 2, func(n int) string {
			return `INSERT INTO state (key, value) VALUES ` + valueRows(2, n) + `
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`
		}, func(dst []any, i int) []any {
			v := c.State[keys[i]]
			if v == nil {
				v = []byte{}
			}
			return append(dst, keys[i], v)
		})
		if err != nil {
			return fmt.Errorf("sqlitestore: commit notifications: state: %w", err)
		}
	}
	done := slices.Clone(c.Done)
	slices.Sort(done)
	err = multiRow(ctx, tx, len(done), 1, func(n int) string {
		return `DELETE FROM notify_queue WHERE seq IN (?` + strings.Repeat(", ?", n-1) + `)`
	}, func(dst []any, i int) []any {
		return append(dst, done[i])
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: consume pending: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: commit notifications: %w", err)
	}
	copy(c.Messages, messages)
	return nil
}

const messageColumns = `id, org_id, org, kind, sender, recipients, subject, coalesce(message_id, ''), size, events, encrypted,
	status, attempts, next_attempt, last_error, reply, created, sent`

// scanMessage reads messageColumns, followed by the body when withBody.
func scanMessage(row interface{ Scan(...any) error }, withBody bool) (store.OutboxMessage, error) {
	var (
		m                   store.OutboxMessage
		recipients          string
		nextAttempt, create int64
		sent                sql.NullInt64
	)
	dst := []any{&m.ID, &m.OrgID, &m.Org, &m.Kind, &m.Sender, &recipients, &m.Subject, &m.MessageID, &m.Size, &m.Events, &m.Encrypted,
		&m.Status, &m.Attempts, &nextAttempt, &m.LastError, &m.Reply, &create, &sent}
	if withBody {
		dst = append(dst, &m.Body)
	}
	if err := row.Scan(dst...); err != nil {
		return store.OutboxMessage{}, err
	}
	var err error
	if m.Recipients, err = fromJSONList(recipients); err != nil {
		return store.OutboxMessage{}, fmt.Errorf("message %d: recipients: %w", m.ID, err)
	}
	m.NextAttempt, m.Created, m.Sent = time.UnixMicro(nextAttempt).UTC(), time.UnixMicro(create).UTC(), fromMicros(sent)
	if withBody && m.Body == nil {
		m.Body = []byte{}
	}
	return m, nil
}

// messageLimit applies MessageQuery.Limit's default (50) and maximum
// (1000); DueMessages uses it too.
func messageLimit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 1000:
		return 1000
	}
	return n
}

// DueMessages returns queued messages whose NextAttempt is not after now,
// oldest first, with their bodies; limit as MessageQuery.Limit.
func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]store.OutboxMessage, error) {
	var out []store.OutboxMessage
	err := eachRow(ctx, s.read, `SELECT `+messageColumns+`, body FROM outbox_messages
		WHERE status = 'queued' AND next_attempt <= ? ORDER BY id LIMIT ?`, []any{now.UnixMicro(), messageLimit(limit)},
		func(rows *sql.Rows) error {
			m, err := scanMessage(rows, true)
			if err != nil {
				return err
			}
			out = append(out, m)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: due messages: %w", err)
	}
	return out, nil
}

// transition changes a message's delivery state. A sent message is never
// changed again (so it cannot be sent twice): ErrConflict; ErrNotFound
// when there is no message id.
func (s *Store) transition(ctx context.Context, what string, id int64, set string, args ...any) error {
	res, err := s.write.ExecContext(ctx, `UPDATE outbox_messages SET `+set+` WHERE id = ? AND status <> 'sent'`, append(args, id)...)
	if err != nil {
		return fmt.Errorf("sqlitestore: %s message %d: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: %s message %d: %w", what, id, err)
	}
	if n == 1 {
		return nil
	}
	var status string
	err = s.write.QueryRowContext(ctx, `SELECT status FROM outbox_messages WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlitestore: %s message %d: %w", what, id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: %s message %d: %w", what, id, err)
	}
	return fmt.Errorf("sqlitestore: %s message %d: it was %s already: %w", what, id, status, store.ErrConflict)
}

// MarkMessageSent records the delivery of message id: status sent, when,
// the server's reply, and one more attempt (the one that succeeded).
func (s *Store) MarkMessageSent(ctx context.Context, id int64, when time.Time, reply string) error {
	return s.transition(ctx, "mark sent", id, `status = 'sent', sent = ?, reply = ?, attempts = attempts + 1`, when.UnixMicro(), reply)
}

// RetryMessage records a temporary failure: the message stays (or is put
// back) in the queue until next.
func (s *Store) RetryMessage(ctx context.Context, id int64, attempts int, next time.Time, lastError string) error {
	return s.transition(ctx, "retry", id, `status = 'queued', attempts = ?, next_attempt = ?, last_error = ?`, attempts, next.UnixMicro(), lastError)
}

// FailMessage records a permanent failure; the message leaves the queue.
func (s *Store) FailMessage(ctx context.Context, id int64, attempts int, lastError string) error {
	return s.transition(ctx, "fail", id, `status = 'failed', attempts = ?, last_error = ?`, attempts, lastError)
}

// GetMessage returns message id with its body.
func (s *Store) GetMessage(ctx context.Context, id int64) (store.OutboxMessage, error) {
	m, err := scanMessage(s.read.QueryRowContext(ctx, `SELECT `+messageColumns+`, body FROM outbox_messages WHERE id = ?`, id), true)
	return m, notFound(err, fmt.Sprintf("get message %d", id))
}

// ListMessages returns the messages q selects, newest first, without
// their bodies.
func (s *Store) ListMessages(ctx context.Context, q store.MessageQuery) ([]store.OutboxMessage, error) {
	var (
		where []string
		args  []any
	)
	if q.OrgID != 0 {
		where = append(where, "org_id = ?")
		args = append(args, q.OrgID)
	}
	if q.EventHash != (event.Hash{}) {
		where = append(where, "id IN (SELECT message_id FROM message_events WHERE event_hash = ?)")
		args = append(args, q.EventHash[:])
	}
	if q.Status != "" {
		where = append(where, "status = ?")
		args = append(args, q.Status)
	}
	if q.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, q.BeforeID)
	}
	query := `SELECT ` + messageColumns + ` FROM outbox_messages`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, messageLimit(q.Limit))
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list messages: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxMessage
	for rows.Next() {
		m, err := scanMessage(rows, false)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list messages: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list messages: %w", err)
	}
	return out, nil
}

var _ store.Notifications = (*Store)(nil)
