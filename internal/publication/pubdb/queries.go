package pubdb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// limit applies Query.Limit's default (50) and maximum (1000).
func limit(n int) int {
	switch {
	case n <= 0:
		return 50
	case n > 1000:
		return 1000
	}
	return n
}

// likePattern escapes s for LIKE … ESCAPE '\'.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// where builds the filter of q.
func where(d sqlkit.Dialect, q publication.Query) (string, *sqlkit.Args) {
	a := d.Args()
	var conds []string
	if q.Kind != "" {
		conds = append(conds, "kind = "+a.Add(string(q.Kind)))
	}
	if q.Status != "" {
		conds = append(conds, "status = "+a.Add(string(q.Status)))
	}
	if q.Severity != "" {
		conds = append(conds, "severity = "+a.Add(q.Severity))
	}
	if q.Public {
		conds = append(conds, "status = "+a.Add(string(publication.StatusPublished)), "tlp = "+a.Add(string(publication.TLPClear)))
	}
	if r := q.MaxTLP.Rank(); r >= 0 {
		conds = append(conds, sqlkit.In(a, "tlp", publication.TLPs[:r+1]))
	}
	if q.Text != "" {
		conds = append(conds, `search LIKE `+a.Add(likePattern(q.Text))+` ESCAPE '\'`)
	}
	if !q.Since.IsZero() {
		conds = append(conds, "published >= "+a.AddTime(q.Since))
	}
	if !q.Until.IsZero() {
		conds = append(conds, "published < "+a.AddTime(q.Until))
	}
	if len(conds) == 0 {
		return "", a
	}
	return " WHERE " + strings.Join(conds, " AND "), a
}

// ListPublications returns a page of the publications q selects, the
// latest published (or, before publication, created) first.
func (s *Store) ListPublications(ctx context.Context, q publication.Query) (publication.Page, error) {
	var page publication.Page
	err := s.db.Snapshot(ctx, func(db sqlkit.DB) error {
		w, a := where(db.Dialect(), q)
		if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM publications`+w, a.List()...).Scan(&page.Total); err != nil {
			return err
		}
		query := `SELECT ` + pubColumns + w + ` ORDER BY COALESCE(published, created) DESC, id DESC LIMIT ` +
			a.Add(limit(q.Limit)) + ` OFFSET ` + a.Add(max(q.Offset, 0))
		var err error
		page.Publications, err = sqlkit.All(ctx, db, query, a.List(), scanPublication)
		return err
	})
	if err != nil {
		return page, fmt.Errorf("list publications: %w", err)
	}
	return page, nil
}

const deliveryColumns = `id, publication_id, revision, channel, lang, status, attempts, next_attempt, last_error, reply, created, done
	FROM publication_deliveries`

func scanDelivery(row sqlkit.Row) (publication.Delivery, error) {
	var d publication.Delivery
	err := row.Scan(&d.ID, &d.PublicationID, &d.Revision, &d.Channel, &d.Lang, &d.Status, &d.Attempts,
		sqlkit.Time(&d.NextAttempt), &d.LastError, &d.Reply, sqlkit.Time(&d.Created), sqlkit.Time(&d.Done))
	return d, err
}

// queueDeliveries writes a publication's new deliveries; one already
// there for its revision, channel and language stays as it is.
func queueDeliveries(ctx context.Context, tx sqlkit.DB, id int64, ds []publication.Delivery) error {
	d := tx.Dialect()
	for _, dl := range ds {
		_, err := tx.Exec(ctx, `INSERT INTO publication_deliveries (publication_id, revision, channel, lang, status, attempts,
			next_attempt, last_error, reply, created, done) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (publication_id, revision, channel, lang) DO NOTHING`,
			id, dl.Revision, dl.Channel, dl.Lang, dl.Status, dl.Attempts, d.Time(dl.NextAttempt), dl.LastError, dl.Reply,
			d.Time(dl.Created), d.NullTime(dl.Done))
		if err != nil {
			return err
		}
	}
	return nil
}

// DueDeliveries returns a channel's queued deliveries due at now.
func (s *Store) DueDeliveries(ctx context.Context, channel string, now time.Time, n int) ([]publication.Delivery, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT `+deliveryColumns+` WHERE status = 'queued' AND channel = ? AND next_attempt <= ?
		ORDER BY next_attempt, id LIMIT ?`, []any{channel, s.db.Dialect().Time(now), limit(n)}, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("due deliveries of %s: %w", channel, err)
	}
	return out, nil
}

// FinishDelivery records an attempt's outcome.
func (s *Store) FinishDelivery(ctx context.Context, dl publication.Delivery) error {
	d := s.db.Dialect()
	n, err := s.db.Exec(ctx, `UPDATE publication_deliveries SET status = ?, attempts = ?, next_attempt = ?, last_error = ?,
		reply = ?, done = ? WHERE id = ?`, dl.Status, dl.Attempts, d.Time(dl.NextAttempt), dl.LastError, dl.Reply,
		d.NullTime(dl.Done), dl.ID)
	if err == nil && n == 0 {
		err = fmt.Errorf("delivery %d: %w", dl.ID, errNoDelivery)
	}
	if err != nil {
		return fmt.Errorf("finish delivery %d: %w", dl.ID, err)
	}
	return nil
}

// ListDeliveries returns a publication's deliveries, newest first.
func (s *Store) ListDeliveries(ctx context.Context, id int64) ([]publication.Delivery, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT `+deliveryColumns+` WHERE publication_id = ? ORDER BY revision DESC, channel, lang`,
		[]any{id}, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("deliveries of publication %d: %w", id, err)
	}
	return out, nil
}

// SkipUnknownChannels marks the queued deliveries of channels not in
// known as skipped (see publication.Deliveries).
func (s *Store) SkipUnknownChannels(ctx context.Context, known []string, reason func(channel string) string, queuedBefore, now time.Time) (map[string]int, error) {
	skipped := map[string]int{}
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		clear(skipped)
		a := tx.Dialect().Args()
		cond := ` AND created < ` + a.Add(tx.Dialect().Time(queuedBefore))
		if len(known) > 0 {
			cond += ` AND NOT (` + sqlkit.In(a, "channel", known) + `)`
		}
		channels, err := sqlkit.All(ctx, tx, `SELECT DISTINCT channel FROM publication_deliveries WHERE status = 'queued'`+cond+
			` ORDER BY channel`, a.List(), func(row sqlkit.Row) (string, error) {
			var c string
			return c, row.Scan(&c)
		})
		if err != nil {
			return err
		}
		d := tx.Dialect()
		for _, c := range channels {
			n, err := tx.Exec(ctx, `UPDATE publication_deliveries SET status = 'skipped', last_error = ?, done = ?
				WHERE status = 'queued' AND channel = ? AND created < ?`, reason(c), d.Time(now), c, d.Time(queuedBefore))
			if err != nil {
				return err
			}
			skipped[c] = int(n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("skip deliveries of unknown channels: %w", err)
	}
	return skipped, nil
}

// errNoDelivery is FinishDelivery's answer for an id that is not kept.
var errNoDelivery = store.ErrNotFound
