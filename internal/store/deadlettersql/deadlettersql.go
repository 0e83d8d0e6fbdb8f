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
	"fmt"
	"strings"
	"time"

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

// Add stores letters in one transaction.
func Add(ctx context.Context, db sqlkit.DB, letters []store.DeadLetter) error {
	if len(letters) == 0 {
		return nil
	}
	err := db.Tx(ctx, func(tx sqlkit.DB) error {
		for _, l := range Stored(letters) {
			if _, err := tx.Exec(ctx, `INSERT INTO dead_letters (feed, parser, source, input, error, time, retried) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				l.Feed, l.Parser, l.Source, l.Input, l.Error, tx.Dialect().Time(l.Time), l.Retried); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add dead letters: %w", err)
	}
	return nil
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
	if q.BeforeID > 0 {
		where = append(where, "id < ?")
		args = append(args, q.BeforeID)
	}
	query := `SELECT id, feed, parser, source, input, error, time, retried FROM dead_letters`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, store.PageLimit(q.Limit))
	out, err := sqlkit.All(ctx, db, query, args, func(row sqlkit.Row) (store.DeadLetter, error) {
		var l store.DeadLetter
		err := row.Scan(&l.ID, &l.Feed, &l.Parser, &l.Source, &l.Input, &l.Error, sqlkit.Time(&l.Time), &l.Retried)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// Count returns the number of pending (not retried) letters per feed.
func Count(ctx context.Context, db sqlkit.DB) (map[string]int64, error) {
	out := map[string]int64{}
	err := db.Each(ctx, `SELECT feed, count(*) FROM dead_letters WHERE NOT retried GROUP BY feed`, nil, func(row sqlkit.Row) error {
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
		_, err := db.Exec(ctx, `UPDATE dead_letters SET retried = TRUE WHERE `+sqlkit.In(a, "id", ids), a.List()...)
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
