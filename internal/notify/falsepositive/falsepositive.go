// Package falsepositive keeps the observations an analyst marked as false
// positives: what was marked (an event's notification key, notify.Key),
// from which event, why, by whom and when. The notifier leaves a marked
// observation out of every pass, so that neither what is queued nor a
// later sighting of it is told. Its table is its own schema (Schema); its
// queries are written once on the shared SQL layer (sqlkit), and its
// contract (falsepositivetest) runs on SQLite and PostgreSQL. It does not
// import internal/notify, so that the notifier's tests run it on a real
// database, as they run package told.
package falsepositive

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the table of marks. It refers to no other table: a mark
// outlives the event it was made from (retention) on purpose, since it is
// about the observation, which may be seen again.
var Schema = sqlkit.Schema{Name: "falsepositive", FS: migrations}

// Mark says that an observation is a false positive.
type Mark struct {
	// Key is the observation: the notification key of the event it was
	// marked from (notify.Key), shared by every sighting of it.
	Key event.Hash
	// Event is the event the mark was made from, and Summary that
	// event's observation in one line (notify.Summary).
	Event   event.Hash
	Summary string
	// Reason says why, in the analyst's words (required, at most
	// MaxReason characters).
	Reason string
	UserID int64 // 0 for the command line
	By     string
	At     time.Time
}

// MaxReason bounds a reason, in characters.
const MaxReason = 500

// MaxSelection bounds how many events one mark, unmark or notification
// takes.
const MaxSelection = 1000

// Marks keeps the marks on a database Schema has migrated. It is safe for
// concurrent use.
type Marks struct{ db sqlkit.DB }

// New returns the marks kept on db.
func New(db sqlkit.DB) *Marks { return &Marks{db: db} }

const columns = `obs_key, event, summary, reason, user_id, marked_by, marked`

func scan(row sqlkit.Row) (Mark, error) {
	var (
		m       Mark
		key, ev string
	)
	if err := row.Scan(&key, &ev, &m.Summary, &m.Reason, &m.UserID, &m.By, sqlkit.Time(&m.At)); err != nil {
		return Mark{}, err
	}
	var ok bool
	if m.Key, ok = event.ParseHash(key); !ok {
		return Mark{}, fmt.Errorf("damaged key %q", key)
	}
	m.Event, _ = event.ParseHash(ev)
	return m, nil
}

// MarkFalsePositives stores marks in one transaction; a mark of an
// observation marked already replaces the earlier one (its reason, event,
// who and when).
func (s *Marks) MarkFalsePositives(ctx context.Context, marks []Mark) error {
	d := s.db.Dialect()
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		for _, m := range marks {
			if _, err := tx.Exec(ctx, `INSERT INTO false_positives (`+columns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (obs_key) DO UPDATE SET event = excluded.event, summary = excluded.summary,
					reason = excluded.reason, user_id = excluded.user_id, marked_by = excluded.marked_by, marked = excluded.marked`,
				m.Key.String(), m.Event.String(), m.Summary, m.Reason, m.UserID, m.By, d.Time(m.At)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark false positives: %w", err)
	}
	return nil
}

// UnmarkFalsePositives removes the marks of keys and returns how many
// there were; a key not marked is no error.
func (s *Marks) UnmarkFalsePositives(ctx context.Context, keys []event.Hash) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	a := s.db.Dialect().Args()
	n, err := s.db.Exec(ctx, `DELETE FROM false_positives WHERE `+sqlkit.In(a, "obs_key", hexList(keys)), a.List()...)
	if err != nil {
		return 0, fmt.Errorf("unmark false positives: %w", err)
	}
	return int(n), nil
}

// GetFalsePositives returns the marks of those of keys that are marked.
func (s *Marks) GetFalsePositives(ctx context.Context, keys []event.Hash) (map[event.Hash]Mark, error) {
	out := map[event.Hash]Mark{}
	if len(keys) == 0 {
		return out, nil
	}
	a := s.db.Dialect().Args()
	list, err := sqlkit.All(ctx, s.db, `SELECT `+columns+` FROM false_positives WHERE `+sqlkit.In(a, "obs_key", hexList(keys)), a.List(), scan)
	if err != nil {
		return nil, fmt.Errorf("get false positives: %w", err)
	}
	for _, m := range list {
		out[m.Key] = m
	}
	return out, nil
}

// FalsePositiveKeys returns every marked observation, for a notifier
// pass: the marks are made by hand, a few thousand at most, and one read
// a pass is cheaper than one per organisation.
func (s *Marks) FalsePositiveKeys(ctx context.Context) (map[event.Hash]bool, error) {
	out := map[event.Hash]bool{}
	err := s.db.Each(ctx, `SELECT obs_key FROM false_positives`, nil, func(row sqlkit.Row) error {
		var key string
		if err := row.Scan(&key); err != nil {
			return err
		}
		if h, ok := event.ParseHash(key); ok {
			out[h] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("false positive keys: %w", err)
	}
	return out, nil
}

// ListFalsePositives returns the newest marks, at most limit (1 to
// MaxSelection; other values take MaxSelection).
func (s *Marks) ListFalsePositives(ctx context.Context, limit int) ([]Mark, error) {
	if limit <= 0 || limit > MaxSelection {
		limit = MaxSelection
	}
	list, err := sqlkit.All(ctx, s.db, `SELECT `+columns+` FROM false_positives ORDER BY marked DESC, obs_key LIMIT ?`, []any{limit}, scan)
	if err != nil {
		return nil, fmt.Errorf("list false positives: %w", err)
	}
	return list, nil
}

func hexList(keys []event.Hash) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	return out
}
