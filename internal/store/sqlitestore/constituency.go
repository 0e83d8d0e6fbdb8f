package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/constituencysql"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// queryer is what reading an organisation needs: the read pool, a read
// transaction or the write transaction that is about to change it.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// execer is a transaction or a connection that writes.
type execer interface {
	queryer
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// bumpVersion increases the constituency version; every transaction that
// changes an organisation calls it before committing.
func bumpVersion(ctx context.Context, tx execer) error {
	if _, err := tx.ExecContext(ctx, `UPDATE constituency_version SET version = version + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("bump constituency version: %w", err)
	}
	return nil
}

// CreateOrganisation stores o with everything it owns; it sets o.ID, the
// contacts' IDs, Created (when zero) and Updated, and normalizes o's
// networks, AS numbers and domains as they are stored. o is unchanged
// when it fails.
func (s *Store) CreateOrganisation(ctx context.Context, o *store.Organisation) error {
	next := *o
	next.Contacts = slices.Clone(o.Contacts)
	if err := store.NormalizeOrganisation(&next); err != nil {
		return fmt.Errorf("sqlitestore: create organisation: %w", err)
	}
	for i := range next.Contacts {
		next.Contacts[i].ID = 0
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: create organisation %s: %w", next.Handle, err)
	}
	defer tx.Rollback()
	err = createOrganisation(ctx, tx, &next, store.RecordTime())
	if err == nil {
		err = bumpVersion(ctx, tx)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: create organisation %s: %w", next.Handle, err)
	}
	*o = next
	return nil
}

// createOrganisation inserts a normalized o whose contacts carry no IDs;
// it sets o.ID, the times and the contacts' IDs.
func createOrganisation(ctx context.Context, tx execer, o *store.Organisation, at time.Time) error {
	if o.Created.IsZero() {
		o.Created = at
	}
	o.Updated = at
	res, err := tx.ExecContext(ctx, `INSERT INTO organisations (handle, name, sector, country, language, notes, search, created, updated)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Handle, o.Name, o.Sector, o.Country, o.Language, o.Notes, store.OrganisationSearchText(o), o.Created.UnixMicro(), at.UnixMicro())
	if isUnique(err) {
		return fmt.Errorf("handle %s: %w", o.Handle, store.ErrConflict)
	}
	if err != nil {
		return err
	}
	if o.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	if err := claimHandle(ctx, tx, o); err != nil {
		return err
	}
	return writeOwned(ctx, tx, o)
}

// claimHandle records o's handle as used, after o's own row: a handle
// recorded already belonged to a deleted organisation, and is refused.
func claimHandle(ctx context.Context, tx execer, o *store.Organisation) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO organisation_handles (handle, org_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, o.Handle, o.ID)
	if err != nil {
		return fmt.Errorf("record handle %s: %w", o.Handle, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("record handle %s: %w", o.Handle, err)
	} else if n == 0 {
		return &store.RetiredHandleError{Handle: o.Handle}
	}
	return nil
}

// writeOwned inserts what o owns under o.ID: networks, AS numbers,
// domains and contacts. A contact with an ID keeps it (the caller cleared
// the IDs that are not the organisation's own); the others get new ones,
// which it sets in o.Contacts.
func writeOwned(ctx context.Context, tx execer, o *store.Organisation) error {
	for _, p := range o.Networks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_networks (org_id, prefix) VALUES (?, ?)`, o.ID, p.String()); err != nil {
			return fmt.Errorf("network %s: %w", p, err)
		}
	}
	for _, a := range o.ASNs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_asns (org_id, asn) VALUES (?, ?)`, o.ID, int64(a)); err != nil {
			return fmt.Errorf("AS%d: %w", a, err)
		}
	}
	for _, d := range o.Domains {
		if _, err := tx.ExecContext(ctx, `INSERT INTO org_domains (org_id, domain) VALUES (?, ?)`, o.ID, d); err != nil {
			return fmt.Errorf("domain %s: %w", d, err)
		}
	}
	for i := range o.Contacts {
		c := &o.Contacts[i]
		res, err := tx.ExecContext(ctx, `INSERT INTO org_contacts (id, org_id, position, name, email, phone, role, pgp_key, notify)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, nullInt(c.ID), o.ID, i, c.Name, c.Email, c.Phone, c.Role, c.PGPKey, c.Notify)
		if err != nil {
			return fmt.Errorf("contact %q: %w", c.Email, err)
		}
		if c.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("contact %q: %w", c.Email, err)
		}
	}
	return nil
}

// UpdateOrganisation replaces the organisation o.ID but its handle and
// Created, which it sets in o from the stored record, together with
// Updated and the contacts' IDs. ErrNotFound when absent.
func (s *Store) UpdateOrganisation(ctx context.Context, o *store.Organisation) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: update organisation %d: %w", o.ID, err)
	}
	defer tx.Rollback()
	current, err := getOrganisation(ctx, tx, `o.id = ?`, o.ID)
	if err != nil {
		return notFound(err, fmt.Sprintf("update organisation %d", o.ID))
	}
	next := *o
	next.Handle, next.Created = current.Handle, current.Created
	next.Contacts = slices.Clone(o.Contacts)
	if err := store.NormalizeOrganisation(&next); err != nil {
		return fmt.Errorf("sqlitestore: update organisation %s: %w", current.Handle, err)
	}
	store.KeepContactIDs(current.Contacts, next.Contacts, false)
	if err := updateOrganisation(ctx, tx, &next, store.RecordTime()); err != nil {
		return fmt.Errorf("sqlitestore: update organisation %s: %w", current.Handle, err)
	}
	if err := bumpVersion(ctx, tx); err != nil {
		return fmt.Errorf("sqlitestore: update organisation %s: %w", current.Handle, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: update organisation %s: %w", current.Handle, err)
	}
	*o = next
	return nil
}

// updateOrganisation writes a normalized o over its stored record (o.ID)
// and sets o.Updated and its new contacts' IDs.
func updateOrganisation(ctx context.Context, tx execer, o *store.Organisation, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE organisations SET name = ?, sector = ?, country = ?, language = ?, notes = ?,
		search = ?, updated = ? WHERE id = ?`,
		o.Name, o.Sector, o.Country, o.Language, o.Notes, store.OrganisationSearchText(o), at.UnixMicro(), o.ID); err != nil {
		return err
	}
	for _, table := range []string{"org_networks", "org_asns", "org_domains", "org_contacts"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE org_id = ?`, o.ID); err != nil {
			return fmt.Errorf("replace %s: %w", table, err)
		}
	}
	o.Updated = at
	return writeOwned(ctx, tx, o)
}

// DeleteOrganisation removes an organisation with what it owns, its
// notification policy, change requests, pending notifications and its
// entries in the index of events by organisation (event_orgs), so that an
// organisation created later with the same handle does not inherit its
// events. The events keep extra.constituency: they are the record of what
// was seen. An organisation that users belong to is not deleted: the
// error wraps ErrConflict, and the users must be moved or deleted first.
func (s *Store) DeleteOrganisation(ctx context.Context, id int64) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: delete organisation %d: %w", id, err)
	}
	defer tx.Rollback()
	var handle string
	if err := tx.QueryRowContext(ctx, `SELECT handle FROM organisations WHERE id = ?`, id).Scan(&handle); err != nil {
		return notFound(err, fmt.Sprintf("delete organisation %d", id))
	}
	if err := deleteOrganisation(ctx, tx, id, handle); err != nil {
		return fmt.Errorf("sqlitestore: delete organisation %s: %w", handle, err)
	}
	if err := bumpVersion(ctx, tx); err != nil {
		return fmt.Errorf("sqlitestore: delete organisation %s: %w", handle, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: delete organisation %s: %w", handle, err)
	}
	return nil
}

func deleteOrganisation(ctx context.Context, tx execer, id int64, handle string) error {
	var users int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE org_id = ?`, id).Scan(&users); err != nil {
		return err
	}
	if users > 0 {
		return fmt.Errorf("%d users belong to it; move or delete them first: %w", users, store.ErrConflict)
	}
	// Networks, AS numbers, domains, contacts and change requests go by
	// ON DELETE CASCADE.
	for _, del := range []struct {
		query string
		arg   any
	}{
		{`DELETE FROM organisations WHERE id = ?`, id},
		{`DELETE FROM notification_policies WHERE org_id = ?`, id},
		{`DELETE FROM notify_queue WHERE org = ?`, handle},
		{`DELETE FROM event_orgs WHERE org = ?`, handle},
		{`DELETE FROM notified_sets WHERE org = ?`, handle},
		{`DELETE FROM notify_tallies WHERE org = ?`, handle},
	} {
		if _, err := tx.ExecContext(ctx, del.query, del.arg); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO organisation_handles (handle, org_id, retired) VALUES (?, ?, ?)
		ON CONFLICT (handle) DO UPDATE SET retired = excluded.retired`, handle, id, store.RecordTime().UnixMicro()); err != nil {
		return fmt.Errorf("retire handle: %w", err)
	}
	return nil
}

const organisationColumns = `o.id, o.handle, o.name, o.sector, o.country, o.language, o.notes, o.created, o.updated`

func scanOrganisation(row interface{ Scan(...any) error }) (store.Organisation, error) {
	var (
		o                store.Organisation
		created, updated int64
	)
	if err := row.Scan(&o.ID, &o.Handle, &o.Name, &o.Sector, &o.Country, &o.Language, &o.Notes, &created, &updated); err != nil {
		return store.Organisation{}, err
	}
	o.Created, o.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
	return o, nil
}

// getOrganisation reads one whole organisation selected by where (on
// alias o); sql.ErrNoRows when there is none.
func getOrganisation(ctx context.Context, q queryer, where string, arg any) (store.Organisation, error) {
	o, err := scanOrganisation(q.QueryRowContext(ctx, `SELECT `+organisationColumns+` FROM organisations AS o WHERE `+where, arg))
	if err != nil {
		return store.Organisation{}, err
	}
	orgs := []store.Organisation{o}
	if err := loadOwned(ctx, q, orgs); err != nil {
		return store.Organisation{}, err
	}
	return orgs[0], nil
}

// loadOwned fills in the networks, AS numbers, domains and contacts of
// orgs, one query a table for all of them.
func loadOwned(ctx context.Context, q queryer, orgs []store.Organisation) error {
	if len(orgs) == 0 {
		return nil
	}
	byID := make(map[int64]*store.Organisation, len(orgs))
	ids := make([]int64, len(orgs))
	for i := range orgs {
		byID[orgs[i].ID] = &orgs[i]
		ids[i] = orgs[i].ID
	}
	// One JSON array parameter, however many organisations.
	idList, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	in := ` WHERE org_id IN (SELECT value FROM json_each(?))`
	var orgID int64
	err = sqlkit.Each(ctx, q, `SELECT org_id, prefix FROM org_networks`+in, []any{string(idList)}, func(rows *sql.Rows) error {
		var prefix string
		if err := rows.Scan(&orgID, &prefix); err != nil {
			return err
		}
		p, err := netip.ParsePrefix(prefix)
		if err != nil {
			return fmt.Errorf("organisation %d: %w", orgID, err)
		}
		byID[orgID].Networks = append(byID[orgID].Networks, p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("networks: %w", err)
	}
	err = sqlkit.Each(ctx, q, `SELECT org_id, asn FROM org_asns`+in, []any{string(idList)}, func(rows *sql.Rows) error {
		var asn int64
		if err := rows.Scan(&orgID, &asn); err != nil {
			return err
		}
		byID[orgID].ASNs = append(byID[orgID].ASNs, uint32(asn))
		return nil
	})
	if err != nil {
		return fmt.Errorf("AS numbers: %w", err)
	}
	err = sqlkit.Each(ctx, q, `SELECT org_id, domain FROM org_domains`+in, []any{string(idList)}, func(rows *sql.Rows) error {
		var domain string
		if err := rows.Scan(&orgID, &domain); err != nil {
			return err
		}
		byID[orgID].Domains = append(byID[orgID].Domains, domain)
		return nil
	})
	if err != nil {
		return fmt.Errorf("domains: %w", err)
	}
	err = sqlkit.Each(ctx, q, `SELECT org_id, id, name, email, phone, role, pgp_key, notify FROM org_contacts`+in+
		` ORDER BY org_id, position`, []any{string(idList)}, func(rows *sql.Rows) error {
		var c store.Contact
		if err := rows.Scan(&orgID, &c.ID, &c.Name, &c.Email, &c.Phone, &c.Role, &c.PGPKey, &c.Notify); err != nil {
			return err
		}
		byID[orgID].Contacts = append(byID[orgID].Contacts, c)
		return nil
	})
	if err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	for i := range orgs {
		// The order the stores agree on (see Organisation), whatever
		// order the database returned.
		slices.SortFunc(orgs[i].Networks, netip.Prefix.Compare)
		slices.Sort(orgs[i].ASNs)
		slices.Sort(orgs[i].Domains)
	}
	return nil
}

// closeRows closes rows read to the end and reports the error that ended
// them.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	return errors.Join(err, rows.Close())
}

// GetOrganisation returns the whole organisation id.
func (s *Store) GetOrganisation(ctx context.Context, id int64) (store.Organisation, error) {
	return s.readOrganisation(ctx, `o.id = ?`, id, fmt.Sprintf("get organisation %d", id))
}

// GetOrganisationByHandle returns the whole organisation with handle.
func (s *Store) GetOrganisationByHandle(ctx context.Context, handle string) (store.Organisation, error) {
	return s.readOrganisation(ctx, `o.handle = ?`, handle, "get organisation "+handle)
}

// readOrganisation reads one organisation in a read transaction, so that
// its record and what it owns come from one snapshot.
func (s *Store) readOrganisation(ctx context.Context, where string, arg any, what string) (store.Organisation, error) {
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return store.Organisation{}, fmt.Errorf("sqlitestore: %s: %w", what, err)
	}
	defer tx.Rollback()
	o, err := getOrganisation(ctx, tx, where, arg)
	return o, notFound(err, what)
}

// organisationFilter writes the WHERE clause of q; ok is false when q
// cannot match anything.
func organisationFilter(q store.OrganisationQuery) (where string, args []any, ok bool) {
	if q.Text == "" {
		return "", nil, true
	}
	text, ok := store.SearchTextQuery(q.Text)
	if !ok {
		return "", nil, false
	}
	if text == "" {
		return "", nil, true
	}
	return ` WHERE instr(o.search, ?) > 0`, []any{text}, true
}

// ListOrganisations returns the whole organisations q selects, by handle.
func (s *Store) ListOrganisations(ctx context.Context, q store.OrganisationQuery) ([]store.Organisation, error) {
	where, args, ok := organisationFilter(q)
	if !ok {
		return nil, nil
	}
	limit := int64(-1) // SQLite's "no limit"
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	args = append(args, limit, max(q.Offset, 0))
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list organisations: %w", err)
	}
	defer tx.Rollback()
	out, err := sqlkit.Query(ctx, tx, `SELECT `+organisationColumns+` FROM organisations AS o`+where+
		` ORDER BY o.handle LIMIT ? OFFSET ?`, args, func(rows *sql.Rows) (store.Organisation, error) { return scanOrganisation(rows) })
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list organisations: %w", err)
	}
	if err := loadOwned(ctx, tx, out); err != nil {
		return nil, fmt.Errorf("sqlitestore: list organisations: %w", err)
	}
	return out, nil
}

// CountOrganisations counts the organisations q selects (its Limit and
// Offset aside).
func (s *Store) CountOrganisations(ctx context.Context, q store.OrganisationQuery) (int64, error) {
	where, args, ok := organisationFilter(q)
	if !ok {
		return 0, nil
	}
	var n int64
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM organisations AS o`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlitestore: count organisations: %w", err)
	}
	return n, nil
}

// ImportOrganisations creates or updates every organisation of orgs by
// handle, and with replace deletes the others, in one transaction. An
// organisation that is the same as stored is left alone (not counted, its
// Updated kept); contacts without IDs keep those of stored contacts with
// the same e-mail address and role. Any error, an invalid or repeated
// handle among them, rolls all of it back.
func (s *Store) ImportOrganisations(ctx context.Context, orgs []store.Organisation, replace bool) (store.ImportResult, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: %w", err)
	}
	defer tx.Rollback()
	var (
		res  store.ImportResult
		seen = make(map[string]bool, len(orgs))
		at   = store.RecordTime()
	)
	for i := range orgs {
		o := orgs[i]
		o.Contacts = slices.Clone(o.Contacts)
		if err := store.NormalizeOrganisation(&o); err != nil {
			return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: entry %d: %w", i+1, err)
		}
		if seen[o.Handle] {
			return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: entry %d: handle %s given twice: %w", i+1, o.Handle, store.ErrConflict)
		}
		seen[o.Handle] = true
		current, err := getOrganisation(ctx, tx, `o.handle = ?`, o.Handle)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			o.ID, o.Created = 0, time.Time{}
			for j := range o.Contacts {
				o.Contacts[j].ID = 0
			}
			if err := createOrganisation(ctx, tx, &o, at); err != nil {
				return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: %s: %w", o.Handle, err)
			}
			res.Created++
			continue
		case err != nil:
			return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: %s: %w", o.Handle, err)
		}
		o.ID, o.Created, o.Updated = current.ID, current.Created, current.Updated
		store.KeepContactIDs(current.Contacts, o.Contacts, true)
		if store.SameOrganisation(&o, &current) {
			continue
		}
		if err := updateOrganisation(ctx, tx, &o, at); err != nil {
			return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: %s: %w", o.Handle, err)
		}
		res.Updated++
	}
	if replace {
		rows, err := tx.QueryContext(ctx, `SELECT id, handle FROM organisations`)
		if err != nil {
			return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: %w", err)
		}
		type victim struct {
			id     int64
			handle string
		}
		var gone []victim
		for rows.Next() {
			var v victim
			if err := rows.Scan(&v.id, &v.handle); err != nil {
				rows.Close()
				return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: %w", err)
			}
			if !seen[v.handle] {
				gone = append(gone, v)
			}
		}
		if err := closeRows(rows); err != nil {
			return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: %w", err)
		}
		for _, v := range gone {
			if err := deleteOrganisation(ctx, tx, v.id, v.handle); err != nil {
				return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: delete %s: %w", v.handle, err)
			}
			res.Deleted++
		}
	}
	if res == (store.ImportResult{}) {
		return res, nil
	}
	if err := bumpVersion(ctx, tx); err != nil {
		return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return store.ImportResult{}, fmt.Errorf("sqlitestore: import organisations: commit: %w", err)
	}
	return res, nil
}

// ConstituencyVersion returns the version bumped by every organisation
// change.
func (s *Store) ConstituencyVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.read.QueryRowContext(ctx, `SELECT version FROM constituency_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlitestore: constituency version: %w", err)
	}
	return v, nil
}

// AddChangeRequest stores r; it sets r.ID and r.Created (when zero).
// ErrNotFound when r.OrgID names no organisation.
func (s *Store) AddChangeRequest(ctx context.Context, r *store.ChangeRequest) error {
	return named(constituencysql.AddChangeRequest(ctx, s.DB(), r))
}

// ListChangeRequests returns an organisation's requests (orgID 0: every
// organisation's), newest first.
func (s *Store) ListChangeRequests(ctx context.Context, orgID int64, includeDone bool) ([]store.ChangeRequest, error) {
	out, err := constituencysql.ListChangeRequests(ctx, s.DB(), orgID, includeDone)
	return out, named(err)
}

// MarkChangeRequestDone records that the team handled request id.
func (s *Store) MarkChangeRequestDone(ctx context.Context, id int64) error {
	return named(constituencysql.MarkChangeRequestDone(ctx, s.DB(), id))
}

var _ store.Constituency = (*Store)(nil)
