package sqlitestore

// The Go step of migration 3 (the notification tables' new layout).

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/store/notifylayout"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// migrateNotifyLayout is the Go step of migration 3: the rows of
// message_events become the lists of their messages, and those of
// notified_keys one set and one tally per organisation.
func migrateNotifyLayout(ctx context.Context, tx *sql.Tx) error {
	byMessage := map[int64][]int64{}
	err := sqlkit.Each(ctx, tx, `SELECT m.message_id, e.id FROM message_events AS m JOIN events AS e ON e.hash = m.event_hash`, nil,
		func(rows *sql.Rows) error {
			var msg, ev int64
			if err := rows.Scan(&msg, &ev); err != nil {
				return err
			}
			byMessage[msg] = append(byMessage[msg], ev)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read message_events: %w", err)
	}
	for msg, ids := range byMessage {
		list, first, last := notifylayout.EventIDs(ids)
		if _, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET first_event = ?, last_event = ?, event_ids = ? WHERE id = ?`,
			first, last, list, msg); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE message_events`); err != nil {
		return err
	}
	return convertNotifiedKeys(ctx, tx)
}

// convertNotifiedKeys turns the rows of notified_keys into one set and one
// tally per organisation.
func convertNotifiedKeys(ctx context.Context, tx *sql.Tx) error {
	var all []notifylayout.Key
	err := sqlkit.Each(ctx, tx, `SELECT org, key, first_sent, expires, repeats, summary FROM notified_keys`, nil, func(rows *sql.Rows) error {
		var (
			k              notifylayout.Key
			key            []byte
			first, expires int64
		)
		if err := rows.Scan(&k.Org, &key, &first, &expires, &k.Repeats, &k.Summary); err != nil {
			return err
		}
		copy(k.Key[:], key)
		k.FirstSent, k.Expires = time.UnixMicro(first).UTC(), time.UnixMicro(expires).UTC()
		all = append(all, k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read notified_keys: %w", err)
	}
	if len(all) > 0 {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM notified_sets`).Scan(&id); err != nil {
			return err
		}
		orgs, sets, expires := notifylayout.Sets(all)
		for i, org := range orgs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO notified_sets (org, id, expires, keys) VALUES (?, ?, ?, ?)`,
				org, id, expires[i].UnixMicro(), sets[i]); err != nil {
				return err
			}
		}
	}
	for org, tally := range notifylayout.Tallies(all) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notify_tallies (org, tally) VALUES (?, ?)`, org, tally); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE notified_keys`)
	return err
}
