// Package productsdb keeps what the constituents run
// (products.Declaration) and which organisation was told of which
// advisory, in tables of their own schema (Schema), created and
// migrated with the database. Its queries are written once on the
// shared SQL layer (sqlkit) and run on SQLite and PostgreSQL alike,
// which the contract tests (productstest) check. Every query names the
// organisation it acts for: a declaration of another one is not found.
package productsdb

import (
	"context"
	"embed"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/products"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

//go:embed sqlite/*.sql postgres/*.sql
var migrations embed.FS

// Schema is the declarations' and the notices' tables. They belong to
// organisations, so the schema comes after the constituency's (and the
// outbox's, whose messages a notice queues).
var Schema = sqlkit.Schema{Name: "products", FS: migrations}

// Store keeps the declarations on a database. It is safe for concurrent
// use.
type Store struct {
	db sqlkit.DB
}

// New returns the declarations kept on db, which Schema has migrated.
func New(db sqlkit.DB) *Store { return &Store{db: db} }

var _ products.Declarations = (*Store)(nil)

const columns = `id, org_id, cpe, purl, vendor, product, version, note, added, added_by FROM product_declarations`

func scan(row sqlkit.Row) (products.Declaration, error) {
	var d products.Declaration
	err := row.Scan(&d.ID, &d.OrgID, &d.CPE, &d.PURL, &d.Vendor, &d.Product, &d.Version, &d.Note, sqlkit.Time(&d.Added), &d.AddedBy)
	return d, err
}

// now is the time as the database keeps it (to the microsecond).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// ident is what makes a declaration the same as another of its
// organisation.
func ident(d products.Declaration) string {
	return d.Kind() + ":" + strings.ToLower(d.Identifier())
}

// AddDeclarations checks and stores ds for org (see
// products.Declarations).
func (s *Store) AddDeclarations(ctx context.Context, org int64, ds []products.Declaration) (int, error) {
	return s.add(ctx, org, ds, false)
}

// ReplaceDeclarations replaces org's declarations with ds.
func (s *Store) ReplaceDeclarations(ctx context.Context, org int64, ds []products.Declaration) (int, error) {
	return s.add(ctx, org, ds, true)
}

func (s *Store) add(ctx context.Context, org int64, ds []products.Declaration, replace bool) (int, error) {
	for i := range ds {
		if err := products.Check(&ds[i]); err != nil {
			return 0, fmt.Errorf("add declarations: %d: %w", i+1, err)
		}
	}
	if len(ds) > products.MaxPerOrganisation {
		return 0, fmt.Errorf("add declarations: %w", products.ErrTooMany)
	}
	at := now()
	added := 0
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		added = 0
		// The organisation's row is locked in PostgreSQL, so that two
		// imports at once cannot pass the bound together (SQLite has one
		// writer at a time).
		lock := `SELECT id FROM organisations WHERE id = ?`
		if tx.Dialect() != sqlkit.SQLite {
			lock += ` FOR UPDATE`
		}
		var id int64
		if err := tx.QueryRow(ctx, lock, org).Scan(&id); err != nil {
			return store.NotFound(err, fmt.Sprintf("organisation %d", org))
		}
		if replace {
			if _, err := tx.Exec(ctx, `DELETE FROM product_declarations WHERE org_id = ?`, org); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM product_declarations WHERE org_id = ?`, org).Scan(&n); err != nil {
			return err
		}
		d := tx.Dialect()
		insert := `INSERT INTO product_declarations (org_id, ident, cpe, purl, vendor, product, version, product_key, note, added, added_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		if d != sqlkit.SQLite {
			insert += ` ON CONFLICT (org_id, ident) DO NOTHING`
		} else {
			insert = strings.Replace(insert, "INSERT INTO", "INSERT OR IGNORE INTO", 1)
		}
		for i := range ds {
			decl := &ds[i]
			rows, err := tx.Exec(ctx, insert, org, ident(*decl), decl.CPE, decl.PURL, decl.Vendor, decl.Product, decl.Version,
				products.NormaliseName(decl.Product), decl.Note, d.Time(at), decl.AddedBy)
			if err != nil {
				return err
			}
			if rows == 0 {
				continue // declared already
			}
			if n+added >= products.MaxPerOrganisation {
				return products.ErrTooMany
			}
			if err := tx.QueryRow(ctx, `SELECT id FROM product_declarations WHERE org_id = ? AND ident = ?`, org, ident(*decl)).Scan(&decl.ID); err != nil {
				return err
			}
			decl.OrgID, decl.Added = org, at
			added++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add declarations: %w", err)
	}
	return added, nil
}

// ListDeclarations returns org's declarations by product name.
func (s *Store) ListDeclarations(ctx context.Context, org int64) ([]products.Declaration, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT `+columns+` WHERE org_id = ? ORDER BY product_key, id`, []any{org}, scan)
	if err != nil {
		return nil, fmt.Errorf("list declarations: %w", err)
	}
	return out, nil
}

// CountDeclarations counts org's declarations.
func (s *Store) CountDeclarations(ctx context.Context, org int64) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM product_declarations WHERE org_id = ?`, org).Scan(&n); err != nil {
		return 0, fmt.Errorf("count declarations: %w", err)
	}
	return n, nil
}

// DeleteDeclaration deletes org's declaration id; store.ErrNotFound when
// org has none of that id (another organisation's included).
func (s *Store) DeleteDeclaration(ctx context.Context, org, id int64) error {
	n, err := s.db.Exec(ctx, `DELETE FROM product_declarations WHERE id = ? AND org_id = ?`, id, org)
	switch {
	case err != nil:
		return fmt.Errorf("delete declaration %d: %w", id, err)
	case n == 0:
		return fmt.Errorf("delete declaration %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// ConcernedDeclarations returns the declarations whose normalised
// product name is one of the products' (every declaration when one of
// them is a wildcard), by organisation.
func (s *Store) ConcernedDeclarations(ctx context.Context, list []publication.Product) (map[int64][]products.Declaration, error) {
	keys, all := products.ProductKeys(list)
	if !all && len(keys) == 0 {
		return map[int64][]products.Declaration{}, nil
	}
	a := s.db.Dialect().Args()
	q := `SELECT ` + columns
	if !all {
		q += ` WHERE ` + sqlkit.In(a, "product_key", keys)
	}
	q += ` ORDER BY org_id, product_key, id`
	found, err := sqlkit.All(ctx, s.db, q, a.List(), scan)
	if err != nil {
		return nil, fmt.Errorf("concerned declarations: %w", err)
	}
	out := map[int64][]products.Declaration{}
	for _, d := range found {
		out[d.OrgID] = append(out[d.OrgID], d)
	}
	return out, nil
}

// Tell records that org was told of the publication's revision and
// queues msgs, in one transaction; false, with nothing queued, when it
// was told already.
func (s *Store) Tell(ctx context.Context, publicationID int64, revision int, org int64, msgs []outbox.Message) (bool, error) {
	at := now()
	told := false
	err := s.db.Tx(ctx, func(tx sqlkit.DB) error {
		insert := `INSERT INTO product_notices (publication_id, revision, org_id, told) VALUES (?, ?, ?, ?)`
		if tx.Dialect() == sqlkit.SQLite {
			insert = strings.Replace(insert, "INSERT INTO", "INSERT OR IGNORE INTO", 1)
		} else {
			insert += ` ON CONFLICT DO NOTHING`
		}
		n, err := tx.Exec(ctx, insert, publicationID, revision, org, tx.Dialect().Time(at))
		if err != nil || n == 0 {
			return err
		}
		told = true
		return outboxdb.Queue(ctx, tx, msgs, at)
	})
	if err != nil {
		return false, fmt.Errorf("tell organisation %d of publication %d revision %d: %w", org, publicationID, revision, err)
	}
	return told, nil
}

// Told lists the organisations told of the publication's revision.
func (s *Store) Told(ctx context.Context, publicationID int64, revision int) ([]int64, error) {
	out, err := sqlkit.All(ctx, s.db, `SELECT org_id FROM product_notices WHERE publication_id = ? AND revision = ? ORDER BY org_id`,
		[]any{publicationID, revision}, func(r sqlkit.Row) (int64, error) {
			var id int64
			err := r.Scan(&id)
			return id, err
		})
	if err != nil {
		return nil, fmt.Errorf("told of publication %d: %w", publicationID, err)
	}
	return out, nil
}

// WasTold reports whether org was told of the publication's revision or
// of an earlier one, in one query (the notices' primary key starts with
// the publication).
func (s *Store) WasTold(ctx context.Context, publicationID int64, revision int, org int64) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM product_notices
		WHERE publication_id = ? AND org_id = ? AND revision >= 1 AND revision <= ? LIMIT 1) told`,
		publicationID, org, revision).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("was organisation %d told of publication %d: %w", org, publicationID, err)
	}
	return n > 0, nil
}
