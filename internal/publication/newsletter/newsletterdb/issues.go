package newsletterdb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// QueueIssue stores an issue and its sends: one INSERT … SELECT over the
// audience, whatever its size (see newsletter.Store).
func (st *Store) QueueIssue(ctx context.Context, is *newsletter.Issue) (bool, error) {
	doc, err := marshal(is)
	if err != nil {
		return false, fmt.Errorf("queue issue: %w", err)
	}
	created := false
	err = st.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		old, err := scanIssue(tx.QueryRow(ctx, `SELECT `+issueColumns+` WHERE publication_id = ? AND revision = ?`, is.PublicationID, is.Revision))
		if err == nil {
			*is = old
			return nil
		}
		if !tx.IsNoRows(err) {
			return err
		}
		at := now()
		id, err := tx.Insert(ctx, `INSERT INTO newsletter_issues (publication_id, revision, audience, ident, publication, queued, created)
			VALUES (?, ?, ?, ?, ?, 0, ?)`, is.PublicationID, is.Revision, is.Audience, is.Publication.Ident, doc, d.Time(at))
		if err != nil {
			return err
		}
		filter := `status = ?`
		args := []any{id, d.Time(at), d.Time(at), newsletter.StatusConfirmed}
		if is.Audience == newsletter.AudienceWarnings {
			filter += ` AND warnings = ?`
			args = append(args, true)
		}
		n, err := tx.Exec(ctx, `INSERT INTO newsletter_sends (issue_id, subscriber_id, status, attempts, next_attempt, detail, updated)
			SELECT ?, id, 'queued', 0, ?, '', ? FROM newsletter_subscribers WHERE `+filter, args...)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE newsletter_issues SET queued = ? WHERE id = ?`, n, id); err != nil {
			return err
		}
		is.ID, is.Queued, is.Created, created = id, int(n), at, true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("queue issue: %w", err)
	}
	return created, nil
}

const issueColumns = `id, publication_id, revision, audience, publication, queued, created FROM newsletter_issues`

func scanIssue(row sqlkit.Row) (newsletter.Issue, error) {
	var is newsletter.Issue
	var doc string
	if err := row.Scan(&is.ID, &is.PublicationID, &is.Revision, &is.Audience, &doc, &is.Queued, sqlkit.Time(&is.Created)); err != nil {
		return is, err
	}
	if err := json.Unmarshal([]byte(doc), &is.Publication); err != nil {
		return is, fmt.Errorf("issue %d: publication: %w", is.ID, err)
	}
	return is, nil
}

// GetIssue returns issue id.
func (st *Store) GetIssue(ctx context.Context, id int64) (newsletter.Issue, error) {
	is, err := scanIssue(st.db.QueryRow(ctx, `SELECT `+issueColumns+` WHERE id = ?`, id))
	if err != nil {
		return is, fmt.Errorf("get issue %d: %w", id, notFound(st.db, err, "issue"))
	}
	return is, nil
}

// ListProgress returns the latest issues and their sends by state.
func (st *Store) ListProgress(ctx context.Context, limit int) ([]newsletter.Progress, error) {
	issues, err := sqlkit.All(ctx, st.db, `SELECT `+issueColumns+` ORDER BY id DESC LIMIT ?`, []any{newsletter.Limit(limit)}, scanIssue)
	if err != nil {
		return nil, fmt.Errorf("list issues: %w", err)
	}
	out := make([]newsletter.Progress, len(issues))
	for i, is := range issues {
		out[i] = newsletter.Progress{Issue: is, Counts: map[string]int{}}
		err := st.db.Each(ctx, `SELECT status, count(*) FROM newsletter_sends WHERE issue_id = ? GROUP BY status`, []any{is.ID}, func(row sqlkit.Row) error {
			var status string
			var n int
			if err := row.Scan(&status, &n); err != nil {
				return err
			}
			out[i].Counts[status] = n
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("count sends of issue %d: %w", is.ID, err)
		}
	}
	return out, nil
}

// ClaimSend marks the oldest due send "sending" in a commit of its own.
func (st *Store) ClaimSend(ctx context.Context, at time.Time) (newsletter.Send, bool, error) {
	var s newsletter.Send
	found := false
	err := st.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		lock := ""
		if d == sqlkit.Postgres {
			lock = " FOR UPDATE OF s SKIP LOCKED"
		}
		for {
			var status string
			err := tx.QueryRow(ctx, `SELECT s.issue_id, s.subscriber_id, s.attempts, u.address, u.lang, u.status
				FROM newsletter_sends AS s JOIN newsletter_subscribers AS u ON u.id = s.subscriber_id
				WHERE s.status = 'queued' AND s.next_attempt <= ?
				ORDER BY s.next_attempt, s.issue_id, s.subscriber_id LIMIT 1`+lock, d.Time(at)).
				Scan(&s.IssueID, &s.SubscriberID, &s.Attempts, &s.Address, &s.Lang, &status)
			if tx.IsNoRows(err) {
				return nil
			}
			if err != nil {
				return err
			}
			next, detail := newsletter.SendSending, ""
			if status != newsletter.StatusConfirmed {
				next, detail = newsletter.SendSkipped, "the subscriber is "+status
			}
			if _, err := tx.Exec(ctx, `UPDATE newsletter_sends SET status = ?, detail = ?, updated = ? WHERE issue_id = ? AND subscriber_id = ?`,
				next, detail, d.Time(now()), s.IssueID, s.SubscriberID); err != nil {
				return err
			}
			if next == newsletter.SendSending {
				found = true
				return nil
			}
		}
	})
	if err != nil {
		return newsletter.Send{}, false, fmt.Errorf("claim send: %w", err)
	}
	return s, found, nil
}

// FinishSend records a claimed send's outcome.
func (st *Store) FinishSend(ctx context.Context, s newsletter.Send, status string, next time.Time, detail string) error {
	d := st.db.Dialect()
	if next.IsZero() {
		next = now()
	}
	if len(detail) > 1000 {
		detail = strings.ToValidUTF8(detail[:1000], "")
	}
	_, err := st.db.Exec(ctx, `UPDATE newsletter_sends SET status = ?, attempts = ?, next_attempt = ?, detail = ?, updated = ?
		WHERE issue_id = ? AND subscriber_id = ? AND status = 'sending'`,
		status, s.Attempts, d.Time(next), detail, d.Time(now()), s.IssueID, s.SubscriberID)
	if err != nil {
		return fmt.Errorf("finish send %d/%d: %w", s.IssueID, s.SubscriberID, err)
	}
	return nil
}

// AbandonInFlight marks the sends left "sending" unknown.
func (st *Store) AbandonInFlight(ctx context.Context, at time.Time) (int, error) {
	n, err := st.db.Exec(ctx, `UPDATE newsletter_sends SET status = 'unknown', updated = ?,
		detail = 'in flight when Vigil stopped: not sent again' WHERE status = 'sending'`, st.db.Dialect().Time(at))
	if err != nil {
		return 0, fmt.Errorf("abandon sends in flight: %w", err)
	}
	return int(n), nil
}

// SkipQueued marks the queued sends of a publication's issues skipped
// in one statement: all of them when keep is 0, else those of the
// revisions before keep (never those of a revision newer than keep).
func (st *Store) SkipQueued(ctx context.Context, publicationID int64, keep int, detail string) (int, error) {
	if len(detail) > 1000 {
		detail = strings.ToValidUTF8(detail[:1000], "")
	}
	n, err := st.db.Exec(ctx, `UPDATE newsletter_sends SET status = 'skipped', detail = ?, updated = ?
		WHERE status = 'queued' AND issue_id IN (SELECT id FROM newsletter_issues WHERE publication_id = ? AND (? = 0 OR revision < ?))`,
		detail, st.db.Dialect().Time(now()), publicationID, keep, keep)
	if err != nil {
		return 0, fmt.Errorf("skip the queued sends of publication %d: %w", publicationID, err)
	}
	return int(n), nil
}
