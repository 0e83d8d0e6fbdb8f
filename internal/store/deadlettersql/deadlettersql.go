// Package deadlettersql keeps the dead letters (input a parser rejected),
// written once on sqlkit.DB for both stores. Adding letters here is one
// INSERT per letter in a transaction, the SQLite store's way; the
// PostgreSQL store keeps its own bulk insert (one unnest statement for the
// whole batch, a round trip rather than one per letter) and takes only
// the letters' defaults from Stored. Errors name the operation; the store
// prefixes its name.
package deadlettersql

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// markChunk is how many ids one UPDATE of MarkRetried names at most, well
// under SQLite's limit on the parameters of a statement.
const markChunk = 500

// Stored returns letters as they are stored: a zero Time is now and a nil
// Input is empty. letters itself is left as it is.
func Stored(letters []store.DeadLetter) []store.DeadLetter {
	out := make([]store.DeadLetter, len(letters))
	now := time.Now()
	for i, l := range letters {
		if l.Time.IsZero() {
			l.Time = now
		}
		if l.Input == nil {
			l.Input = []byte{}
		}
		out[i] = l
	}
	return out
}

// Key is a letter's identity: the SHA-256 of its feed, source, line and
// input, each field prefixed by its length so that no two letters share
// the bytes hashed. Edits, errors and states are not part of it.
func Key(l store.DeadLetter) []byte {
	h := sha256.New()
	var n [8]byte
	for _, field := range [][]byte{[]byte(l.Feed), []byte(l.Source), binary.BigEndian.AppendUint64(nil, uint64(l.Line)), l.Input} {
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		h.Write(n[:])
		h.Write(field)
	}
	return h.Sum(nil)
}

// columns are the columns List and Get read, in the order scan expects.
const columns = `id, feed, parser, source, line, input, edited, error, problem, time, retried, retry_error, retry_problem, retry_time, discarded, discarded_by, discard_reason`

func scan(row sqlkit.Row) (store.DeadLetter, error) {
	var (
		l                     store.DeadLetter
		problem, retryProblem string
	)
	err := row.Scan(&l.ID, &l.Feed, &l.Parser, &l.Source, &l.Line, &l.Input, &l.Edited, &l.Error, &problem, sqlkit.Time(&l.Time),
		&l.Retried, &l.RetryError, &retryProblem, sqlkit.Time(&l.RetryTime), &l.Discarded, &l.DiscardedBy, &l.DiscardReason)
	// Only Add and FailRetry write these columns, from a Message: what
	// they hold is one (or '', for a reason that had none).
	l.Problem, _ = i18n.Decode(problem)
	l.RetryProblem, _ = i18n.Decode(retryProblem)
	return l, err
}

// Add stores letters in one transaction; a letter whose key is stored
// already is skipped. It returns how many letters were new.
func Add(ctx context.Context, db sqlkit.DB, letters []store.DeadLetter) (int64, error) {
	if len(letters) == 0 {
		return 0, nil
	}
	var added int64
	err := db.Tx(ctx, func(tx sqlkit.DB) error {
		added = 0
		for _, l := range Stored(letters) {
			n, err := tx.Exec(ctx, `INSERT INTO dead_letters (feed, parser, source, line, letter_key, input, error, problem, time, retried)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				l.Feed, l.Parser, l.Source, l.Line, Key(l), l.Input, l.Error, l.Problem.Encode(), tx.Dialect().Time(l.Time), l.Retried)
			if err != nil {
				return err
			}
			added += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add dead letters: %w", err)
	}
	return added, nil
}

// List returns the letters q selects, newest first.
func List(ctx context.Context, db sqlkit.DB, q store.DeadLetterQuery) ([]store.DeadLetter, error) {
	var (
		where []string
		args  []any
	)
	if q.Feed != "" {
		where = append(where, "feed = ?")
		args = append(args, q.Feed)
	}
	if !q.IncludeRetried {
		where = append(where, "NOT retried")
	}
	if !q.IncludeDiscarded {
		where = append(where, "NOT discarded")
	}
	if q.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, q.BeforeID)
	}
	query := `SELECT ` + columns + ` FROM dead_letters`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, store.PageLimit(q.Limit))
	out, err := sqlkit.All(ctx, db, query, args, scan)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// Get returns the letter id or store.ErrNotFound.
func Get(ctx context.Context, db sqlkit.DB, id int64) (store.DeadLetter, error) {
	l, err := scan(db.QueryRow(ctx, `SELECT `+columns+` FROM dead_letters WHERE id = ?`, id))
	if db.IsNoRows(err) {
		return store.DeadLetter{}, fmt.Errorf("dead letter %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.DeadLetter{}, fmt.Errorf("get dead letter %d: %w", id, err)
	}
	return l, nil
}

// pending is the condition of a letter waiting for a re-run or a decision.
const pending = `NOT retried AND NOT discarded`

// FailRetry records why a re-run of the pending letter id failed.
func FailRetry(ctx context.Context, db sqlkit.DB, id int64, reason string, problem i18n.Message, when time.Time) error {
	n, err := db.Exec(ctx, `UPDATE dead_letters SET retry_error = ?, retry_problem = ?, retry_time = ? WHERE id = ? AND `+pending,
		reason, problem.Encode(), db.Dialect().Time(when), id)
	if err != nil {
		return fmt.Errorf("record failed retry of dead letter %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("record failed retry of dead letter %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// Edit sets the input a re-run of the pending letter id reads.
func Edit(ctx context.Context, db sqlkit.DB, id int64, input []byte) error {
	if len(input) > store.MaxEditedDeadLetter {
		return fmt.Errorf("edit dead letter %d: %w (%d bytes, at most %d)", id, store.ErrInputTooLong, len(input), store.MaxEditedDeadLetter)
	}
	if input == nil {
		input = []byte{}
	}
	n, err := db.Exec(ctx, `UPDATE dead_letters SET edited = ?, retry_error = '', retry_problem = '', retry_time = NULL WHERE id = ? AND `+pending, input, id)
	if err != nil {
		return fmt.Errorf("edit dead letter %d: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("edit dead letter %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// Discard marks the pending letters among ids discarded and returns how
// many it marked.
func Discard(ctx context.Context, db sqlkit.DB, ids []int64, by, reason string) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	if strings.TrimSpace(reason) == "" {
		return 0, errors.New("discard dead letters: no reason given")
	}
	var total int64
	err := db.Tx(ctx, func(tx sqlkit.DB) error {
		total = 0
		for start := 0; start < len(ids); start += markChunk {
			a := tx.Dialect().Args()
			set := `UPDATE dead_letters SET discarded = TRUE, discarded_by = ` + a.Add(by) + `, discard_reason = ` + a.Add(reason)
			n, err := tx.Exec(ctx, set+` WHERE `+pending+` AND `+sqlkit.In(a, "id", ids[start:min(start+markChunk, len(ids))]), a.List()...)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("discard dead letters: %w", err)
	}
	return total, nil
}

// Count returns the number of pending (neither retried nor discarded)
// letters per feed.
func Count(ctx context.Context, db sqlkit.DB) (map[string]int64, error) {
	out := map[string]int64{}
	err := db.Each(ctx, `SELECT feed, count(*) FROM dead_letters WHERE `+pending+` GROUP BY feed`, nil, func(row sqlkit.Row) error {
		var (
			feed string
			n    int64
		)
		if err := row.Scan(&feed, &n); err != nil {
			return err
		}
		out[feed] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count dead letters: %w", err)
	}
	return out, nil
}

// MarkRetried flags the letters ids as re-run successfully, all or none.
func MarkRetried(ctx context.Context, db sqlkit.DB, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	mark := func(db sqlkit.DB, ids []int64) error {
		a := db.Dialect().Args()
		_, err := db.Exec(ctx, `UPDATE dead_letters SET retried = TRUE, retry_error = '', retry_problem = '', retry_time = NULL WHERE `+sqlkit.In(a, "id", ids), a.List()...)
		return err
	}
	var err error
	if len(ids) <= markChunk {
		err = mark(db, ids)
	} else {
		err = db.Tx(ctx, func(tx sqlkit.DB) error {
			for start := 0; start < len(ids); start += markChunk {
				if err := mark(tx, ids[start:min(start+markChunk, len(ids))]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("mark dead letters: %w", err)
	}
	return nil
}
