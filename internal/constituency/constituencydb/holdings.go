package constituencydb

// Writing what an organisation owns: its networks, AS numbers, domains
// and contacts. The two databases are written differently on purpose.
// SQLite runs in the process, where a statement costs no round trip, so
// it takes one row a statement, the contacts' IDs from the rows it makes.
// PostgreSQL is across a network, where an import of 10,000 organisations
// with 100,000 networks would be 100,000 round trips: it takes one
// statement a table, each binding arrays that unnest makes rows of (cidr
// networks included), and draws the new contacts' IDs first so that one
// statement writes them all. The contract tests run both.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// writeOwned inserts what o owns under o.ID. A contact with an ID keeps
// it (the caller cleared the IDs that are not the organisation's own); the
// others get new ones, which it sets in o.Contacts.
func writeOwned(ctx context.Context, tx sqlkit.DB, o *constituency.Organisation) error {
	if tx.Dialect() == sqlkit.Postgres {
		return writeOwnedArrays(ctx, tx, o)
	}
	return writeOwnedRows(ctx, tx, o)
}

// writeOwnedRows writes o's holdings one row a statement (SQLite).
func writeOwnedRows(ctx context.Context, tx sqlkit.DB, o *constituency.Organisation) error {
	for _, p := range o.Networks {
		if _, err := tx.Exec(ctx, `INSERT INTO org_networks (org_id, prefix) VALUES (?, ?)`, o.ID, p.String()); err != nil {
			return fmt.Errorf("network %s: %w", p, err)
		}
	}
	for _, a := range o.ASNs {
		if _, err := tx.Exec(ctx, `INSERT INTO org_asns (org_id, asn) VALUES (?, ?)`, o.ID, int64(a)); err != nil {
			return fmt.Errorf("AS%d: %w", a, err)
		}
	}
	for _, d := range o.Domains {
		if _, err := tx.Exec(ctx, `INSERT INTO org_domains (org_id, domain) VALUES (?, ?)`, o.ID, d); err != nil {
			return fmt.Errorf("domain %s: %w", d, err)
		}
	}
	for i := range o.Contacts {
		c := &o.Contacts[i]
		var id any // NULL: SQLite chooses
		if c.ID != 0 {
			id = c.ID
		}
		newID, err := tx.Insert(ctx, `INSERT INTO org_contacts (id, org_id, position, name, email, phone, role, pgp_key, notify)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, o.ID, i, c.Name, c.Email, c.Phone, c.Role, c.PGPKey, c.Notify)
		if err != nil {
			return fmt.Errorf("contact %q: %w", c.Email, err)
		}
		c.ID = newID
	}
	return nil
}

// writeOwnedArrays writes o's holdings one statement a table
// (PostgreSQL).
func writeOwnedArrays(ctx context.Context, tx sqlkit.DB, o *constituency.Organisation) error {
	if len(o.Networks) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO org_networks (org_id, prefix) SELECT ?, unnest(?::cidr[])`, o.ID, o.Networks); err != nil {
			return fmt.Errorf("networks: %w", err)
		}
	}
	if len(o.ASNs) > 0 {
		asns := make([]int64, len(o.ASNs))
		for i, a := range o.ASNs {
			asns[i] = int64(a)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO org_asns (org_id, asn) SELECT ?, unnest(?::bigint[])`, o.ID, asns); err != nil {
			return fmt.Errorf("AS numbers: %w", err)
		}
	}
	if len(o.Domains) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO org_domains (org_id, domain) SELECT ?, unnest(?::text[])`, o.ID, o.Domains); err != nil {
			return fmt.Errorf("domains: %w", err)
		}
	}
	if len(o.Contacts) == 0 {
		return nil
	}
	if err := drawContactIDs(ctx, tx, o.Contacts); err != nil {
		return err
	}
	n := len(o.Contacts)
	ids, positions := make([]int64, n), make([]int32, n)
	names, emails, phones, roles, keys := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	notify := make([]bool, n)
	for i, c := range o.Contacts {
		ids[i], positions[i] = c.ID, int32(i)
		names[i], emails[i], phones[i], roles[i], keys[i], notify[i] = c.Name, c.Email, c.Phone, c.Role, c.PGPKey, c.Notify
	}
	if _, err := tx.Exec(ctx, `INSERT INTO org_contacts (id, org_id, position, name, email, phone, role, pgp_key, notify)
		SELECT u.id, ?, u.position, u.name, u.email, u.phone, u.role, u.pgp_key, u.notify
		FROM unnest(?::bigint[], ?::integer[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::boolean[])
			AS u(id, position, name, email, phone, role, pgp_key, notify)`,
		o.ID, ids, positions, names, emails, phones, roles, keys, notify); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	return nil
}

// drawContactIDs gives the contacts without an ID one from org_contacts'
// sequence (PostgreSQL), so that one INSERT writes every contact and each
// knows its ID.
func drawContactIDs(ctx context.Context, tx sqlkit.DB, contacts []constituency.Contact) error {
	fresh := 0
	for _, c := range contacts {
		if c.ID == 0 {
			fresh++
		}
	}
	if fresh == 0 {
		return nil
	}
	ids, err := sqlkit.All(ctx, tx, `SELECT nextval(pg_get_serial_sequence('org_contacts', 'id')) FROM generate_series(1, ?)`,
		[]any{fresh}, func(row sqlkit.Row) (int64, error) {
			var id int64
			err := row.Scan(&id)
			return id, err
		})
	if err != nil {
		return fmt.Errorf("contact IDs: %w", err)
	}
	if len(ids) != fresh {
		return fmt.Errorf("contact IDs: %d drawn for %d contacts", len(ids), fresh)
	}
	for i := range contacts {
		if contacts[i].ID == 0 {
			contacts[i].ID, ids = ids[0], ids[1:]
		}
	}
	return nil
}
