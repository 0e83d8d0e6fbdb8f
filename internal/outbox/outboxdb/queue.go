package outboxdb

// Queueing messages, in a transaction of the caller's.

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// messageInsertColumns are the columns a queued message writes, its id
// aside.
const messageInsertColumns = `org_id, org, kind, sender, recipients, subject, message_id,
	body, size, events, encrypted, status, attempts, next_attempt, last_error, reply, created, sent,
	first_event, last_event, event_ids, body_codec`

// Queue stores msgs in tx, a transaction of the caller's (the notifier
// queues a pass's messages in the transaction that consumes what they
// report), and sets their IDs. Each is first filled in as by
// outbox.PrepareMessage at at. A Message-ID already stored, or given
// twice, is an error wrapping store.ErrConflict; the caller's transaction
// then rolls back, and msgs are to be thrown away.
//
// The dialects take different strategies: SQLite runs one prepared
// INSERT per message and reads its rowid; PostgreSQL takes the messages'
// ids from the table's sequence in one round trip and inserts them many a
// statement, instead of a round trip per message.
func Queue(ctx context.Context, tx sqlkit.DB, msgs []outbox.Message, at time.Time) error {
	if len(msgs) == 0 {
		return nil
	}
	d := tx.Dialect()
	rows := make([][]any, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		outbox.PrepareMessage(m, at)
		recipients, err := d.List(m.Recipients)
		if err != nil {
			return fmt.Errorf("message %d: recipients: %w", i+1, err)
		}
		// Bodies are kept packed (outbox.PackBody): a morning's
		// digests are hundreds of MB of MIME, mostly base64.
		body := m.Packed
		if body == nil {
			body = outbox.PackBody(m.Body)
		}
		list, first, last := encodeEventIDs(m.EventIDs)
		rows[i] = []any{m.OrgID, m.Org, m.Kind, m.Sender, recipients, m.Subject, nullText(m.MessageID),
			body, m.Size, m.Events, m.Encrypted, m.Status, m.Attempts, d.Time(m.NextAttempt), m.LastError, m.Reply,
			d.Time(m.Created), d.NullTime(m.Sent), nullInt(first), nullInt(last), list, outbox.BodyPacked}
	}
	var err error
	if d == sqlkit.Postgres {
		err = queueMany(ctx, tx, msgs, rows)
	} else {
		err = queueEach(ctx, tx, msgs, rows)
	}
	if tx.IsUnique(err) {
		return fmt.Errorf("a Message-ID is queued already or given twice: %w", store.ErrConflict)
	}
	return err
}

// queueEach inserts the messages one by one with one prepared statement.
func queueEach(ctx context.Context, tx sqlkit.DB, msgs []outbox.Message, rows [][]any) error {
	insert, err := sqlkit.Prepare(ctx, tx, `INSERT INTO outbox_messages (`+messageInsertColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer insert.Close()
	for i, row := range rows {
		if msgs[i].ID, err = insert.Insert(ctx, row...); err != nil {
			return err
		}
	}
	return nil
}

// messagesPerStatement bounds the rows of one INSERT on PostgreSQL. A
// statement of all of a commit's messages (up to 256) would take fewer
// round trips, but holding their bodies encoded at once raised the peak
// memory of `vigil bench notify --postgres` from about 400 MB to 630–690
// MB; 32 kept it at 382 MB, as fast.
const messagesPerStatement = 32

// queueMany takes the messages' ids from the table's sequence, in order,
// and inserts the messages with them in as few statements as it can.
func queueMany(ctx context.Context, tx sqlkit.DB, msgs []outbox.Message, rows [][]any) error {
	ids, err := sqlkit.All(ctx, tx, `SELECT nextval(pg_get_serial_sequence('outbox_messages', 'id')) FROM generate_series(1, ?)`,
		[]any{len(msgs)}, func(row sqlkit.Row) (int64, error) {
			var id int64
			err := row.Scan(&id)
			return id, err
		})
	if err != nil {
		return fmt.Errorf("message ids: %w", err)
	}
	if len(ids) != len(msgs) {
		return fmt.Errorf("message ids: %d for %d messages", len(ids), len(msgs))
	}
	slices.Sort(ids)
	for start := 0; start < len(msgs); start += messagesPerStatement {
		end := min(start+messagesPerStatement, len(msgs))
		var (
			b    strings.Builder
			args = make([]any, 0, (end-start)*23)
		)
		b.WriteString(`INSERT INTO outbox_messages (id, ` + messageInsertColumns + `) OVERRIDING SYSTEM VALUE VALUES `)
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(", ")
			}
			b.WriteString("(?" + strings.Repeat(", ?", 22) + ")")
			args = append(append(args, ids[i]), rows[i]...)
		}
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	for i := range msgs {
		msgs[i].ID = ids[i]
	}
	return nil
}

// QueueMessages stores msgs in a transaction of its own, as Queue, at the
// current time. On error nothing is stored and msgs are unchanged.
func (s *Store) QueueMessages(ctx context.Context, msgs []outbox.Message) error {
	queued := slices.Clone(msgs)
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error { return Queue(ctx, tx, queued, store.RecordTime()) })
	if err != nil {
		return fmt.Errorf("outboxdb: queue messages: %w", err)
	}
	copy(msgs, queued)
	return nil
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// encodeEventIDs encodes the events a message reported (their ids, sorted
// and distinct) as the differences from one to the next in unsigned
// varints, two or three bytes an event, with the first and the last.
func encodeEventIDs(ids []int64) (list []byte, first, last int64) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return nil, 0, 0
	}
	var prev int64
	list = make([]byte, 0, 3*len(ids))
	for _, id := range ids {
		list = binary.AppendUvarint(list, uint64(id-prev))
		prev = id
	}
	return list, ids[0], ids[len(ids)-1]
}

// eventIDsHave reports whether list (encodeEventIDs') holds id.
func eventIDsHave(list []byte, id int64) bool {
	var cur int64
	for len(list) > 0 {
		d, n := binary.Uvarint(list)
		if n <= 0 {
			return false
		}
		list = list[n:]
		if cur += int64(d); cur >= id {
			return cur == id
		}
	}
	return false
}
