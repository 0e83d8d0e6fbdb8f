package pgstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// textArray stores a list as a text[] that is never NULL.
func textArray(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// fromTextArray returns an empty list as nil, as sqlitestore does.
func fromTextArray(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return list
}

// PendingNotificationOrgs lists the organisations with pending events, by
// handle.
func (s *Store) PendingNotificationOrgs(ctx context.Context) ([]store.PendingCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT org, count(*), min(stored), min(event_id), max(event_id) FROM notify_queue
		GROUP BY org ORDER BY org`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: pending notification organisations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.PendingCount, error) {
		var c store.PendingCount
		err := row.Scan(&c.Org, &c.Count, &c.Oldest, &c.First, &c.Last)
		c.Oldest = c.Oldest.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: pending notification organisations: %w", err)
	}
	return out, nil
}

// ListPendingNotifications returns org's pending events after afterSeq, in
// queue order, with the events; limit is as EventQuery.Limit (default 50,
// at most 10000). With concurrent writers a lower seq may still commit
// after a higher one was listed, so a pass of the notifier starts again
// from 0 rather than from the last seq of the previous pass.
func (s *Store) ListPendingNotifications(ctx context.Context, org string, afterSeq int64, limit int) ([]store.PendingNotification, error) {
	rows, err := s.pool.Query(ctx, `SELECT q.event_id, q.stored, e.hash, e.data FROM notify_queue AS q
		LEFT JOIN events AS e ON e.id = q.event_id
		WHERE q.org = $1 AND q.event_id > $2 ORDER BY q.event_id LIMIT $3`, org, afterSeq, store.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pgstore: list pending notifications of %s: %w", org, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.PendingNotification, error) {
		var (
			p          = store.PendingNotification{Org: org}
			hash, data []byte
		)
		if err := row.Scan(&p.Seq, &p.Stored, &hash, &data); err != nil {
			return p, err
		}
		p.Stored = p.Stored.UTC()
		if hash == nil {
			return p, nil // the event is gone (retention): consumed without it
		}
		copy(p.Hash[:], hash)
		var err error
		if p.Event, err = decodeEvent(data); err != nil {
			return p, fmt.Errorf("event %s: %w", p.Hash, err)
		}
		store.WithoutWithheld(p.Event)
		return p, nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list pending notifications of %s: %w", org, err)
	}
	return out, nil
}

// ScanPendingNotifications reads every pending event with the
// organisations it waits for, in one query.
func (s *Store) ScanPendingNotifications(ctx context.Context, fn func(store.PendingRecord) error) error {
	rows, err := s.pool.Query(ctx, `SELECT q.event_id, array_agg(q.org ORDER BY q.org), e.hash, e.stored, e.data
		FROM notify_queue AS q LEFT JOIN events AS e ON e.id = q.event_id
		GROUP BY q.event_id, e.hash, e.stored, e.data ORDER BY q.event_id`)
	if err != nil {
		return fmt.Errorf("pgstore: scan pending notifications: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r      store.PendingRecord
			hash   []byte
			stored pgtype.Timestamptz
		)
		if err := rows.Scan(&r.Seq, &r.Orgs, &hash, &stored, &r.Record); err != nil {
			return fmt.Errorf("pgstore: scan pending notifications: %w", err)
		}
		if hash != nil {
			copy(r.Hash[:], hash)
			r.Stored = stored.Time.UTC()
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgstore: scan pending notifications: %w", err)
	}
	return nil
}

// GetNotifiedKeys returns those of keys told to org that expire after now.
func (s *Store) GetNotifiedKeys(ctx context.Context, org string, keys []event.Hash, now time.Time) (map[event.Hash]store.NotifiedKey, error) {
	out := make(map[event.Hash]store.NotifiedKey)
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT keys FROM notified_sets WHERE org = $1 AND expires > $2 ORDER BY id DESC`, org, now)
	if err != nil {
		return nil, fmt.Errorf("pgstore: get notified keys of %s: %w", org, err)
	}
	sets, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ToldSet, error) {
		var b []byte
		if err := row.Scan(&b); err != nil {
			return nil, err
		}
		if !store.ToldSet(b).Valid() {
			return nil, store.ErrBadKeySet
		}
		return b, nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: get notified keys of %s: %w", org, err)
	}
	return store.FindTold(sets, org, keys, now), nil
}

// ListRepeatedKeys returns org's "seen again" tally (every organisation's
// for org ""), the entries that expire after now.
func (s *Store) ListRepeatedKeys(ctx context.Context, org string, now time.Time) ([]store.NotifiedKey, error) {
	query, args := `SELECT org, tally FROM notify_tallies ORDER BY org`, []any(nil)
	if org != "" {
		query, args = `SELECT org, tally FROM notify_tallies WHERE org = $1`, []any{org}
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list repeated keys: %w", err)
	}
	defer rows.Close()
	var out []store.NotifiedKey
	for rows.Next() {
		var (
			handle string
			b      []byte
		)
		if err := rows.Scan(&handle, &b); err != nil {
			return nil, fmt.Errorf("pgstore: list repeated keys: %w", err)
		}
		list, err := store.DecodeTally(handle, b, now)
		if err != nil {
			return nil, fmt.Errorf("pgstore: list repeated keys of %s: %w", handle, err)
		}
		out = append(out, list...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list repeated keys: %w", err)
	}
	return out, nil
}

// PruneNotifiedKeys removes the sets whose keys all expired before now,
// and merges the sets of organisations that have many.
func (s *Store) PruneNotifiedKeys(ctx context.Context, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM notified_sets WHERE expires < $1`, now); err != nil {
		return fmt.Errorf("pgstore: prune notified keys: %w", err)
	}
	if err := s.compactSets(ctx, now); err != nil {
		return fmt.Errorf("pgstore: prune notified keys: compact: %w", err)
	}
	return nil
}

// compactAbove is how many sets an organisation may have before
// PruneNotifiedKeys merges them into one, as in the SQLite store.
const compactAbove = 16

// tell stores the newly told keys, one set per organisation, all under one
// new set id.
func tell(ctx context.Context, tx pgx.Tx, keys []store.NotifiedKey) error {
	if len(keys) == 0 {
		return nil
	}
	var id int64
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(id), 0) + 1 FROM notified_sets`).Scan(&id); err != nil {
		return err
	}
	orgs, sets, expires := store.ToldSetsByOrg(keys)
	_, err := tx.Exec(ctx, `INSERT INTO notified_sets (org, id, expires, keys)
		SELECT o, $1, e, k FROM unnest($2::text[], $3::timestamptz[], $4::bytea[]) AS t(o, e, k)`, id, orgs, expires, sets)
	return err
}

// writeTallies replaces the tallies of the organisations in tallies; an
// empty list removes one.
func writeTallies(ctx context.Context, tx pgx.Tx, tallies map[string][]store.NotifiedKey) error {
	var clearOrgs, tallyOrgs []string
	var encoded [][]byte
	for _, org := range slices.Sorted(maps.Keys(tallies)) {
		if list := tallies[org]; len(list) == 0 {
			clearOrgs = append(clearOrgs, org)
		} else {
			tallyOrgs, encoded = append(tallyOrgs, org), append(encoded, store.EncodeTally(list))
		}
	}
	if len(clearOrgs) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM notify_tallies WHERE org = ANY($1::text[])`, clearOrgs); err != nil {
			return fmt.Errorf("tallies: %w", err)
		}
	}
	if len(tallyOrgs) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO notify_tallies (org, tally) SELECT * FROM unnest($1::text[], $2::bytea[])
			ON CONFLICT (org) DO UPDATE SET tally = excluded.tally`, tallyOrgs, encoded); err != nil {
			return fmt.Errorf("tallies: %w", err)
		}
	}
	return nil
}

// compactSets merges the sets of every organisation with more than
// compactAbove into one.
func (s *Store) compactSets(ctx context.Context, now time.Time) error {
	rows, err := s.pool.Query(ctx, `SELECT org FROM notified_sets GROUP BY org HAVING count(*) > $1`, compactAbove)
	if err != nil {
		return err
	}
	orgs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, org := range orgs {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT id, keys FROM notified_sets WHERE org = $1 ORDER BY id FOR UPDATE`, org)
			if err != nil {
				return err
			}
			var (
				sets []store.ToldSet
				last int64
				b    []byte
			)
			_, err = pgx.ForEachRow(rows, []any{&last, &b}, func() error {
				sets = append(sets, slices.Clone(b))
				return nil
			})
			if err != nil {
				return err
			}
			sets = slices.DeleteFunc(sets, func(s store.ToldSet) bool { return !s.Valid() }) // a damaged set is dropped
			set, expires := store.MergeToldSets(org, sets, now)
			if _, err := tx.Exec(ctx, `DELETE FROM notified_sets WHERE org = $1`, org); err != nil {
				return err
			}
			if len(set) == 0 {
				return nil
			}
			_, err = tx.Exec(ctx, `INSERT INTO notified_sets (org, id, expires, keys) VALUES ($1, $2, $3, $4)`, org, last, expires, set)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", org, err)
		}
	}
	return nil
}

// NotifiedOrganisations returns the organisations told something that
// has not expired at now.
func (s *Store) NotifiedOrganisations(ctx context.Context, now time.Time) (map[string]bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT org FROM notified_sets WHERE expires > $1`, now)
	if err != nil {
		return nil, fmt.Errorf("pgstore: notified organisations: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgstore: notified organisations: %w", err)
	}
	out := make(map[string]bool, len(list))
	for _, o := range list {
		out[o] = true
	}
	return out, nil
}

// migrateNotifyLayout is the Go step of migration 3: the rows of
// message_events become the lists of their messages, and those of
// notified_keys one set and one tally per organisation.
func migrateNotifyLayout(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT m.message_id, e.id FROM message_events AS m JOIN events AS e ON e.hash = m.event_hash`)
	if err != nil {
		return fmt.Errorf("read message_events: %w", err)
	}
	byMessage := map[int64][]int64{}
	var msg, ev int64
	if _, err := pgx.ForEachRow(rows, []any{&msg, &ev}, func() error {
		byMessage[msg] = append(byMessage[msg], ev)
		return nil
	}); err != nil {
		return fmt.Errorf("read message_events: %w", err)
	}
	for msg, ids := range byMessage {
		list, first, last := store.EncodeEventIDs(ids)
		if _, err := tx.Exec(ctx, `UPDATE outbox_messages SET first_event = $1, last_event = $2, event_ids = $3 WHERE id = $4`,
			first, last, list, msg); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `DROP TABLE message_events`); err != nil {
		return err
	}
	return convertNotifiedKeys(ctx, tx)
}

// convertNotifiedKeys turns the rows of notified_keys into one set and one
// tally per organisation.
func convertNotifiedKeys(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT org, key, first_sent, expires, repeats, summary FROM notified_keys`)
	if err != nil {
		return fmt.Errorf("read notified_keys: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.NotifiedKey, error) {
		var (
			k   store.NotifiedKey
			key []byte
		)
		err := row.Scan(&k.Org, &key, &k.FirstSent, &k.Expires, &k.Repeats, &k.Summary)
		copy(k.Key[:], key)
		return k, err
	})
	if err != nil {
		return fmt.Errorf("read notified_keys: %w", err)
	}
	if err := tell(ctx, tx, all); err != nil {
		return err
	}
	if err := writeTallies(ctx, tx, store.RepeatedByOrg(all)); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `DROP TABLE notified_keys`)
	return err
}

// CommitNotifications stores one pass of the notifier in one transaction:
// the messages (with the events they report), the keys, the state, and
// the removal of the consumed pending notifications. It sets the messages' IDs, and
// fills in their Size, a zero Status (queued), Created (now) and
// NextAttempt (Created: due at once). On error nothing is stored and c is
// unchanged.
func (s *Store) CommitNotifications(ctx context.Context, c *store.NotificationCommit) error {
	messages := make([]store.OutboxMessage, len(c.Messages))
	copy(messages, c.Messages)
	at := store.RecordTime()
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The messages go in one batch (one round trip, each with its own
		// RETURNING id), each with the list of the events it reports.
		var batch pgx.Batch
		for i := range messages {
			m := &messages[i]
			store.PrepareMessage(m, at)
			body := m.Body
			if body == nil {
				body = []byte{}
			}
			list, first, last := store.EncodeEventIDs(m.EventIDs)
			batch.Queue(`INSERT INTO outbox_messages (org_id, org, kind, sender, recipients, subject, message_id,
				body, size, events, encrypted, status, attempts, next_attempt, last_error, reply, created, sent,
				first_event, last_event, event_ids)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id`,
				m.OrgID, m.Org, m.Kind, m.Sender, textArray(m.Recipients), m.Subject, nullText(m.MessageID),
				body, m.Size, m.Events, m.Encrypted, m.Status, m.Attempts, m.NextAttempt, m.LastError, m.Reply,
				m.Created, nullTime(m.Sent), nullInt8(first), nullInt8(last), list)
		}
		if batch.Len() > 0 {
			results := tx.SendBatch(ctx, &batch)
			for i := range messages {
				m := &messages[i]
				err := results.QueryRow().Scan(&m.ID)
				if isUnique(err) {
					results.Close()
					return fmt.Errorf("message %d: Message-ID %s: %w", i+1, m.MessageID, store.ErrConflict)
				}
				if err != nil {
					results.Close()
					return fmt.Errorf("message %d: %w", i+1, err)
				}
			}
			if err := results.Close(); err != nil {
				return fmt.Errorf("messages: %w", err)
			}
		}
		if err := tell(ctx, tx, c.Told); err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		if err := writeTallies(ctx, tx, c.Repeats); err != nil {
			return err
		}
		if len(c.State) > 0 {
			keys := make([]string, 0, len(c.State))
			values := make([][]byte, 0, len(c.State))
			for k, v := range c.State {
				if v == nil {
					v = []byte{}
				}
				keys, values = append(keys, k), append(values, v)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO state (key, value) SELECT * FROM unnest($1::text[], $2::bytea[])
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`, keys, values); err != nil {
				return fmt.Errorf("state: %w", err)
			}
		}
		if len(c.Done) > 0 {
			// One statement for any number: the arrays are two parameters.
			// The entries are named one by one: with concurrent writers an
			// entry inside a range read can commit after the read.
			var (
				orgs []string
				seqs []int64
			)
			for org, list := range c.Done {
				for _, seq := range list {
					orgs, seqs = append(orgs, org), append(seqs, seq)
				}
			}
			if _, err := tx.Exec(ctx, `DELETE FROM notify_queue AS q USING unnest($1::text[], $2::bigint[]) AS d(org, event_id)
				WHERE q.org = d.org AND q.event_id = d.event_id`, orgs, seqs); err != nil {
				return fmt.Errorf("consume pending: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: commit notifications: %w", err)
	}
	copy(c.Messages, messages)
	return nil
}
