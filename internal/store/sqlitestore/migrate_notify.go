package sqlitestore

// The Go step of migration 3 (the notification tables' new layout).

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
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
		list, first, last := store.EncodeEventIDs(ids)
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
	var all []store.NotifiedKey
	err := sqlkit.Each(ctx, tx, `SELECT org, key, first_sent, expires, repeats, summary FROM notified_keys`, nil, func(rows *sql.Rows) error {
		var (
			k              store.NotifiedKey
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
	if err := tell(ctx, tx, all); err != nil {
		return err
	}
	if err := writeTallies(ctx, tx, store.RepeatedByOrg(all)); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE notified_keys`)
	return err
}
