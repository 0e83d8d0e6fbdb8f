// Package newsletterdb keeps the newsletter's subscribers, issues and
// sends (internal/publication/newsletter) in tables of their own schema
// (Schema), created and migrated with the database. The queries are
// written once on the shared SQL layer (sqlkit) and run on SQLite and
// PostgreSQL alike, which the contract tests (newslettertest) check.
// Errors name the operation and wrap store.ErrNotFound.
package newsletterdb

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the newsletter's tables. A confirmation is queued in the
// outbox, so the schema comes after the outbox's.
var Schema = sqlkit.Schema{Name: "newsletter", FS: migrations}

// Store keeps the newsletter on a database. It is safe for concurrent
// use.
type Store struct {
	db sqlkit.DB
}

// New returns the newsletter kept on db, which Schema has migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

var _ newsletter.Store = (*Store)(nil)

const subscriberColumns = `id, address, lang, warnings, status, created, confirmed, changed, confirm_hash, confirm_sent
	FROM newsletter_subscribers`

func scanSubscriber(row sqlkit.Row) (newsletter.Subscriber, error) {
	var s newsletter.Subscriber
	err := row.Scan(&s.ID, &s.Address, &s.Lang, &s.Warnings, &s.Status, sqlkit.Time(&s.Created), sqlkit.Time(&s.Confirmed),
		sqlkit.Time(&s.Changed), &s.ConfirmHash, sqlkit.Time(&s.ConfirmSent))
	return s, err
}

func notFound(db sqlkit.DB, err error, what string) error {
	if db.IsNoRows(err) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return err
}

// RequestSubscription records a request (see newsletter.Store).
func (st *Store) RequestSubscription(ctx context.Context, r newsletter.Request, mail func(id int64) (outbox.Message, error)) (bool, error) {
	queued := false
	err := st.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		lock := ""
		if d == sqlkit.Postgres {
			lock = " FOR UPDATE"
		}
		s, err := scanSubscriber(tx.QueryRow(ctx, `SELECT `+subscriberColumns+` WHERE address = ?`+lock, r.Address))
		var id int64
		switch {
		case tx.IsNoRows(err):
			id, err = tx.Insert(ctx, `INSERT INTO newsletter_subscribers
				(address, lang, warnings, status, created, changed, confirm_hash, confirm_sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				r.Address, r.Lang, r.Warnings, newsletter.StatusPending, d.Time(r.At), d.Time(r.At), r.ConfirmHash, d.Time(r.At))
			if tx.IsUnique(err) {
				return nil // asked twice at once: the other one sends
			}
			if err != nil {
				return err
			}
		case err != nil:
			return err
		case s.Status == newsletter.StatusConfirmed || !s.ConfirmSent.IsZero() && r.At.Sub(s.ConfirmSent) < r.Every:
			return nil
		default:
			id = s.ID
			if _, err := tx.Exec(ctx, `UPDATE newsletter_subscribers SET lang = ?, warnings = ?, status = ?, changed = ?,
				confirm_hash = ?, confirm_sent = ? WHERE id = ?`, r.Lang, r.Warnings, newsletter.StatusPending, d.Time(r.At),
				r.ConfirmHash, d.Time(r.At), id); err != nil {
				return err
			}
		}
		msg, err := mail(id)
		if err != nil {
			return err
		}
		queued = true
		return outboxdb.Queue(ctx, tx, []outbox.Message{msg}, r.At)
	})
	if err != nil {
		return false, fmt.Errorf("request subscription: %w", err)
	}
	return queued, nil
}

// GetSubscriber returns subscriber id.
func (st *Store) GetSubscriber(ctx context.Context, id int64) (newsletter.Subscriber, error) {
	s, err := scanSubscriber(st.db.QueryRow(ctx, `SELECT `+subscriberColumns+` WHERE id = ?`, id))
	if err != nil {
		return s, fmt.Errorf("get subscriber %d: %w", id, notFound(st.db, err, "subscriber"))
	}
	return s, nil
}

// ChangeSubscriber changes subscriber id as change says.
func (st *Store) ChangeSubscriber(ctx context.Context, id int64, change func(*newsletter.Subscriber) error) (newsletter.Subscriber, error) {
	var s newsletter.Subscriber
	err := st.db.Tx(ctx, func(tx sqlkit.DB) error {
		lock := ""
		if tx.Dialect() == sqlkit.Postgres {
			lock = " FOR UPDATE"
		}
		var err error
		if s, err = scanSubscriber(tx.QueryRow(ctx, `SELECT `+subscriberColumns+` WHERE id = ?`+lock, id)); err != nil {
			return notFound(tx, err, "subscriber")
		}
		if err := change(&s); err != nil {
			return err
		}
		d := tx.Dialect()
		_, err = tx.Exec(ctx, `UPDATE newsletter_subscribers SET lang = ?, warnings = ?, status = ?, confirmed = ?, changed = ?,
			confirm_hash = ? WHERE id = ?`, s.Lang, s.Warnings, s.Status, d.NullTime(s.Confirmed), d.Time(s.Changed), s.ConfirmHash, id)
		return err
	})
	if err != nil {
		return newsletter.Subscriber{}, fmt.Errorf("change subscriber %d: %w", id, err)
	}
	return s, nil
}

// DeleteSubscriber removes subscriber id and its sends.
func (st *Store) DeleteSubscriber(ctx context.Context, id int64) error {
	err := st.db.Tx(ctx, func(tx sqlkit.DB) error {
		if _, err := tx.Exec(ctx, `DELETE FROM newsletter_sends WHERE subscriber_id = ?`, id); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `DELETE FROM newsletter_subscribers WHERE id = ?`, id)
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("delete subscriber %d: %w", id, err)
	}
	return nil
}

// where builds the filter of q.
func where(a *sqlkit.Args, q newsletter.Query) string {
	var conds []string
	if q.Text != "" {
		pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q.Text)) + "%"
		conds = append(conds, `address LIKE `+a.Add(pattern)+` ESCAPE '\'`)
	}
	if q.Status != "" {
		conds = append(conds, `status = `+a.Add(q.Status))
	}
	if q.Lang != "" {
		conds = append(conds, `lang = `+a.Add(q.Lang))
	}
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// ListSubscribers returns a page of the subscribers matching q, newest
// first, and how many match in all.
func (st *Store) ListSubscribers(ctx context.Context, q newsletter.Query) ([]newsletter.Subscriber, int, error) {
	a := st.db.Dialect().Args()
	w := where(a, q)
	var total int
	if err := st.db.QueryRow(ctx, `SELECT count(*) FROM newsletter_subscribers`+w, a.List()...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count subscribers: %w", err)
	}
	query := `SELECT ` + subscriberColumns + w + ` ORDER BY id DESC LIMIT ` + a.Add(newsletter.Limit(q.Limit)) + ` OFFSET ` + a.Add(max(q.Offset, 0))
	list, err := sqlkit.All(ctx, st.db, query, a.List(), scanSubscriber)
	if err != nil {
		return nil, 0, fmt.Errorf("list subscribers: %w", err)
	}
	return list, total, nil
}

// EachSubscriber calls fn for every subscriber matching q, oldest first.
func (st *Store) EachSubscriber(ctx context.Context, q newsletter.Query, fn func(newsletter.Subscriber) error) error {
	a := st.db.Dialect().Args()
	query := `SELECT ` + subscriberColumns + where(a, q) + ` ORDER BY id`
	err := st.db.Each(ctx, query, a.List(), func(row sqlkit.Row) error {
		s, err := scanSubscriber(row)
		if err != nil {
			return err
		}
		return fn(s)
	})
	if err != nil {
		return fmt.Errorf("export subscribers: %w", err)
	}
	return nil
}

// CountSubscribers counts the subscribers by status and language.
func (st *Store) CountSubscribers(ctx context.Context) ([]newsletter.Count, error) {
	list, err := sqlkit.All(ctx, st.db, `SELECT status, lang, count(*) FROM newsletter_subscribers GROUP BY status, lang ORDER BY status, lang`, nil,
		func(row sqlkit.Row) (newsletter.Count, error) {
			var c newsletter.Count
			return c, row.Scan(&c.Status, &c.Lang, &c.N)
		})
	if err != nil {
		return nil, fmt.Errorf("count subscribers: %w", err)
	}
	return list, nil
}

// now is the time as the database keeps it (to the microsecond).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// marshal keeps an issue's publication as JSON.
func marshal(is *newsletter.Issue) (string, error) {
	b, err := json.Marshal(is.Publication)
	return string(b), err
}
