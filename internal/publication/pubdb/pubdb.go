// Package pubdb keeps the publications (internal/publication), their
// history, revisions and the publication outbox in tables of their own
// schema (Schema), created and migrated with the database. Its queries
// are written once on the shared SQL layer (sqlkit) and run on SQLite and
// PostgreSQL alike, which the contract tests (pubtest) check. Errors name
// the operation and wrap store.ErrNotFound.
package pubdb

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the publications' tables. A publication names its author,
// editor and approver, so the schema comes after the accounts'.
var Schema = sqlkit.Schema{Name: "publication", FS: migrations}

// Store keeps the publications on a database. It is safe for concurrent
// use.
type Store struct {
	db sqlkit.DB
}

// New returns the publications kept on db, which Schema has migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

var _ publication.Publications = (*Store)(nil)

// lock is what a read that is followed by a write of the same row adds
// in PostgreSQL; SQLite's one writer serialises already.
func lock(d sqlkit.Dialect) string {
	if d == sqlkit.SQLite {
		return ""
	}
	return " FOR UPDATE"
}

// nullID stores an account id, 0 as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

const pubColumns = `id, ident, kind, status, tlp, severity, revision, source,
	COALESCE(author_id, 0), author, COALESCE(editor_id, 0), editor, COALESCE(approver_id, 0), approver,
	created, updated, scheduled, published, withdrawn, content, COALESCE(next, '') FROM publications`

func scanPublication(row sqlkit.Row) (publication.Publication, error) {
	var (
		p             publication.Publication
		content, next string
	)
	err := row.Scan(&p.ID, &p.Ident, &p.Kind, &p.Status, &p.TLP, &p.Severity, &p.Revision, &p.Source,
		&p.AuthorID, &p.Author, &p.EditorID, &p.Editor, &p.ApproverID, &p.Approver,
		sqlkit.Time(&p.Created), sqlkit.Time(&p.Updated), sqlkit.Time(&p.Scheduled), sqlkit.Time(&p.Published),
		sqlkit.Time(&p.Withdrawn), &content, &next)
	if err != nil {
		return p, err
	}
	if err := json.Unmarshal([]byte(content), &p.Content); err != nil {
		return p, fmt.Errorf("publication %d: content: %w", p.ID, err)
	}
	// The columns are the truth for what lists filter on.
	p.Content.TLP, p.Content.Severity = p.TLP, p.Severity
	if next != "" {
		p.Next = new(publication.Next)
		if err := json.Unmarshal([]byte(next), p.Next); err != nil {
			return p, fmt.Errorf("publication %d: next: %w", p.ID, err)
		}
	}
	return p, nil
}

func encode(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// CreatePublication stores p as a new draft (see publication.Publications).
func (s *Store) CreatePublication(ctx context.Context, p *publication.Publication, ident func(year, n int) string, c publication.Change) error {
	content, err := encode(p.Content)
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		year := p.Created.UTC().Year()
		var n int
		err := tx.QueryRow(ctx, `INSERT INTO publication_counters (year, n) VALUES (?, 1)
			ON CONFLICT (year) DO UPDATE SET n = publication_counters.n + 1 RETURNING n`, year).Scan(&n)
		if err != nil {
			return err
		}
		p.Ident = ident(year, n)
		id, err := tx.Insert(ctx, `INSERT INTO publications (ident, kind, status, tlp, severity, revision, source,
			author_id, author, editor_id, editor, approver_id, approver, created, updated, scheduled, published, withdrawn,
			content, next, search) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
			p.Ident, string(p.Kind), string(p.Status), string(p.TLP), p.Severity, p.Revision, p.Source,
			nullID(p.AuthorID), p.Author, nullID(p.EditorID), p.Editor, nullID(p.ApproverID), p.Approver,
			d.Time(p.Created), d.Time(p.Updated), d.NullTime(p.Scheduled), d.NullTime(p.Published), d.NullTime(p.Withdrawn),
			content, publication.SearchText(p))
		if tx.IsUnique(err) {
			return publication.Refuse("ident", "publication.error.ident", p.Ident)
		}
		if err != nil {
			return err
		}
		p.ID = id
		return addChange(ctx, tx, id, c)
	})
	if err != nil {
		return fmt.Errorf("create publication: %w", err)
	}
	return nil
}

func addChange(ctx context.Context, tx sqlkit.DB, id int64, c publication.Change) error {
	_, err := tx.Exec(ctx, `INSERT INTO publication_changes (publication_id, at, user_id, user_name, action, note)
		VALUES (?, ?, ?, ?, ?, ?)`, id, tx.Dialect().Time(c.At), nullID(c.UserID), c.User, c.Action, c.Note)
	return err
}

// GetPublication returns the publication of an id.
func (s *Store) GetPublication(ctx context.Context, id int64) (publication.Publication, error) {
	p, err := scanPublication(s.db.QueryRow(ctx, `SELECT `+pubColumns+` WHERE id = ?`, id))
	if err != nil {
		return p, store.NotFound(err, fmt.Sprintf("publication %d", id))
	}
	return p, nil
}

// GetPublicationByIdent returns the publication an ident names.
func (s *Store) GetPublicationByIdent(ctx context.Context, ident string) (publication.Publication, error) {
	p, err := scanPublication(s.db.QueryRow(ctx, `SELECT `+pubColumns+` WHERE ident = ?`, ident))
	if err != nil {
		return p, store.NotFound(err, "publication "+ident)
	}
	return p, nil
}

// ChangePublication reads the publication (locked in PostgreSQL), lets
// change set its fields, and writes them with the change, the revision
// and the deliveries change returns.
func (s *Store) ChangePublication(ctx context.Context, id int64, change func(*publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error)) (publication.Publication, error) {
	var out publication.Publication
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		p, err := scanPublication(tx.QueryRow(ctx, `SELECT `+pubColumns+` WHERE id = ?`+lock(d), id))
		if err != nil {
			return store.NotFound(err, fmt.Sprintf("publication %d", id))
		}
		wasPublic := p.Public()
		c, rev, deliveries, err := change(&p)
		if err != nil {
			return err
		}
		if err := writePublication(ctx, tx, &p); err != nil {
			return err
		}
		if err := addChange(ctx, tx, id, c); err != nil {
			return err
		}
		if rev != nil {
			if err := addRevision(ctx, tx, id, rev); err != nil {
				return err
			}
		}
		if err := queueDeliveries(ctx, tx, id, deliveries); err != nil {
			return err
		}
		if wasPublic || p.Public() {
			if _, err := tx.Exec(ctx, `UPDATE publication_generation SET n = n + 1 WHERE id = 1`); err != nil {
				return err
			}
		}
		out = p
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("change publication %d: %w", id, err)
	}
	return out, nil
}

func writePublication(ctx context.Context, tx sqlkit.DB, p *publication.Publication) error {
	d := tx.Dialect()
	content, err := encode(p.Content)
	if err != nil {
		return err
	}
	var next any
	if p.Next != nil {
		s, err := encode(p.Next)
		if err != nil {
			return err
		}
		next = s
	}
	_, err = tx.Exec(ctx, `UPDATE publications SET status = ?, tlp = ?, severity = ?, revision = ?, source = ?,
		editor_id = ?, editor = ?, approver_id = ?, approver = ?, updated = ?, scheduled = ?, published = ?, withdrawn = ?,
		content = ?, next = ?, search = ? WHERE id = ?`,
		string(p.Status), string(p.TLP), p.Severity, p.Revision, p.Source,
		nullID(p.EditorID), p.Editor, nullID(p.ApproverID), p.Approver, d.Time(p.Updated),
		d.NullTime(p.Scheduled), d.NullTime(p.Published), d.NullTime(p.Withdrawn), content, next, publication.SearchText(p), p.ID)
	return err
}

func addRevision(ctx context.Context, tx sqlkit.DB, id int64, r *publication.Revision) error {
	content, err := encode(r.Content)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO publication_revisions (publication_id, number, published, note, by_name, content)
		VALUES (?, ?, ?, ?, ?, ?)`, id, r.Number, tx.Dialect().Time(r.Published), r.Note, r.By, content)
	if tx.IsUnique(err) {
		return publication.Refuse("revision", "publication.error.revision", r.Number)
	}
	return err
}

// History returns the publication's changes, oldest first.
func (s *Store) History(ctx context.Context, id int64) ([]publication.Change, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT at, COALESCE(user_id, 0), user_name, action, note
		FROM publication_changes WHERE publication_id = ? ORDER BY id`, []any{id},
		func(row sqlkit.Row) (publication.Change, error) {
			var c publication.Change
			err := row.Scan(sqlkit.Time(&c.At), &c.UserID, &c.User, &c.Action, &c.Note)
			return c, err
		})
	if err != nil {
		return nil, fmt.Errorf("history of publication %d: %w", id, err)
	}
	return out, nil
}

// Revisions returns the publication's published revisions, oldest first.
func (s *Store) Revisions(ctx context.Context, id int64) ([]publication.Revision, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT number, published, note, by_name, content
		FROM publication_revisions WHERE publication_id = ? ORDER BY number`, []any{id},
		func(row sqlkit.Row) (publication.Revision, error) {
			var (
				r       publication.Revision
				content string
			)
			if err := row.Scan(&r.Number, sqlkit.Time(&r.Published), &r.Note, &r.By, &content); err != nil {
				return r, err
			}
			return r, json.Unmarshal([]byte(content), &r.Content)
		})
	if err != nil {
		return nil, fmt.Errorf("revisions of publication %d: %w", id, err)
	}
	return out, nil
}

// Generation returns how many times what is public changed.
func (s *Store) Generation(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRow(ctx, `SELECT n FROM publication_generation WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("publication generation: %w", err)
	}
	return n, nil
}

// DueScheduled returns the scheduled publications due at now.
func (s *Store) DueScheduled(ctx context.Context, now time.Time) ([]publication.Publication, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT `+pubColumns+` WHERE status = 'scheduled' AND scheduled <= ? ORDER BY scheduled, id`,
		[]any{s.db.Dialect().Time(now)}, scanPublication)
	if err != nil {
		return nil, fmt.Errorf("due publications: %w", err)
	}
	return out, nil
}
