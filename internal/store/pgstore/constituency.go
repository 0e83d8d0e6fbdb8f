package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/constituencysql"
)

// querier is what reading and writing an organisation needs: the pool or
// a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readSnapshot is the transaction of reads that must agree with each other
// (an organisation and what it owns).
var readSnapshot = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// bumpVersion increases the constituency version; every transaction that
// changes an organisation calls it first. The row lock it takes orders
// those transactions: they take their other locks in turn, so two of them
// cannot deadlock (an import creating the handle a concurrent create
// inserted would otherwise wait for it while holding what it waits for),
// and an import's reads stay true until it commits. A transaction that
// fails rolls the bump back with everything else.
func bumpVersion(ctx context.Context, tx querier) error {
	if _, err := tx.Exec(ctx, `UPDATE constituency_version SET version = version + 1 WHERE id = 1`); err != nil {
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
		return fmt.Errorf("pgstore: create organisation: %w", err)
	}
	for i := range next.Contacts {
		next.Contacts[i].ID = 0
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		return createOrganisation(ctx, tx, &next, store.RecordTime())
	})
	if err != nil {
		return fmt.Errorf("pgstore: create organisation %s: %w", next.Handle, err)
	}
	*o = next
	return nil
}

// createOrganisation inserts a normalized o whose contacts carry no IDs;
// it sets o.ID, the times and the contacts' IDs.
func createOrganisation(ctx context.Context, tx querier, o *store.Organisation, at time.Time) error {
	if o.Created.IsZero() {
		o.Created = at
	}
	o.Updated = at
	err := tx.QueryRow(ctx, `INSERT INTO organisations (handle, name, sector, country, language, notes, search, created, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		o.Handle, o.Name, o.Sector, o.Country, o.Language, o.Notes, store.OrganisationSearchText(o), o.Created, at).Scan(&o.ID)
	if isUnique(err) {
		return fmt.Errorf("handle %s: %w", o.Handle, store.ErrConflict)
	}
	if err != nil {
		return err
	}
	if err := claimHandle(ctx, tx, o); err != nil {
		return err
	}
	return writeOwned(ctx, tx, o)
}

// claimHandle records o's handle as used, after o's own row: a handle
// recorded already belonged to a deleted organisation, and is refused. A
// delete of that organisation that committed while o's insert waited for
// it has recorded its handle by then.
func claimHandle(ctx context.Context, tx querier, o *store.Organisation) error {
	tag, err := tx.Exec(ctx, `INSERT INTO organisation_handles (handle, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, o.Handle, o.ID)
	if err != nil {
		return fmt.Errorf("record handle %s: %w", o.Handle, err)
	}
	if tag.RowsAffected() == 0 {
		return &store.RetiredHandleError{Handle: o.Handle}
	}
	return nil
}

// writeOwned inserts what o owns under o.ID, one statement a table. A
// contact with an ID keeps it (the caller cleared the IDs that are not the
// organisation's own); the others get new ones from the sequence, which it
// sets in o.Contacts.
func writeOwned(ctx context.Context, tx querier, o *store.Organisation) error {
	if len(o.Networks) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO org_networks (org_id, prefix) SELECT $1, unnest($2::cidr[])`, o.ID, o.Networks); err != nil {
			return fmt.Errorf("networks: %w", err)
		}
	}
	if len(o.ASNs) > 0 {
		asns := make([]int64, len(o.ASNs))
		for i, a := range o.ASNs {
			asns[i] = int64(a)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO org_asns (org_id, asn) SELECT $1, unnest($2::bigint[])`, o.ID, asns); err != nil {
			return fmt.Errorf("AS numbers: %w", err)
		}
	}
	if len(o.Domains) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO org_domains (org_id, domain) SELECT $1, unnest($2::text[])`, o.ID, o.Domains); err != nil {
			return fmt.Errorf("domains: %w", err)
		}
	}
	if len(o.Contacts) == 0 {
		return nil
	}
	fresh := 0
	for _, c := range o.Contacts {
		if c.ID == 0 {
			fresh++
		}
	}
	if fresh > 0 {
		// IDs drawn first, so that one INSERT writes every contact and
		// each knows its ID.
		rows, err := tx.Query(ctx, `SELECT nextval(pg_get_serial_sequence('org_contacts', 'id')) FROM generate_series(1, $1)`, fresh)
		if err != nil {
			return fmt.Errorf("contact IDs: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("contact IDs: %w", err)
		}
		for i := range o.Contacts {
			if o.Contacts[i].ID == 0 {
				o.Contacts[i].ID, ids = ids[0], ids[1:]
			}
		}
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
		SELECT u.id, $1, u.position, u.name, u.email, u.phone, u.role, u.pgp_key, u.notify
		FROM unnest($2::bigint[], $3::integer[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::boolean[])
			AS u(id, position, name, email, phone, role, pgp_key, notify)`,
		o.ID, ids, positions, names, emails, phones, roles, keys, notify); err != nil {
		return fmt.Errorf("contacts: %w", err)
	}
	return nil
}

// UpdateOrganisation replaces the organisation o.ID but its handle and
// Created, which it sets in o from the stored record, together with
// Updated and the contacts' IDs. ErrNotFound when absent.
func (s *Store) UpdateOrganisation(ctx context.Context, o *store.Organisation) error {
	var next store.Organisation
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Concurrent updates take turns on the version's row lock, each
		// reading what the previous one wrote.
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		current, err := getOrganisation(ctx, tx, `o.id = $1`, o.ID)
		if err != nil {
			return err
		}
		next = *o
		next.Handle, next.Created = current.Handle, current.Created
		next.Contacts = slices.Clone(o.Contacts)
		if err := store.NormalizeOrganisation(&next); err != nil {
			return err
		}
		store.KeepContactIDs(current.Contacts, next.Contacts, false)
		return updateOrganisation(ctx, tx, &next, store.RecordTime())
	})
	if err != nil {
		return notFound(err, fmt.Sprintf("update organisation %d", o.ID))
	}
	*o = next
	return nil
}

// updateOrganisation writes a normalized o over its stored record (o.ID)
// and sets o.Updated and its new contacts' IDs.
func updateOrganisation(ctx context.Context, tx querier, o *store.Organisation, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE organisations SET name = $1, sector = $2, country = $3, language = $4, notes = $5,
		search = $6, updated = $7 WHERE id = $8`,
		o.Name, o.Sector, o.Country, o.Language, o.Notes, store.OrganisationSearchText(o), at, o.ID); err != nil {
		return err
	}
	for _, table := range []string{"org_networks", "org_asns", "org_domains", "org_contacts"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE org_id = $1`, o.ID); err != nil {
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
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		var handle string
		if err := tx.QueryRow(ctx, `SELECT handle FROM organisations WHERE id = $1`, id).Scan(&handle); err != nil {
			return err
		}
		if err := deleteOrganisation(ctx, tx, id, handle); err != nil {
			return fmt.Errorf("%s: %w", handle, err)
		}
		return nil
	})
	return notFound(err, fmt.Sprintf("delete organisation %d", id))
}

func deleteOrganisation(ctx context.Context, tx querier, id int64, handle string) error {
	var users int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE org_id = $1`, id).Scan(&users); err != nil {
		return err
	}
	if users > 0 {
		return fmt.Errorf("%d users belong to it; move or delete them first: %w", users, store.ErrConflict)
	}
	// The organisation's row first: its lock makes a concurrent
	// PutNotificationPolicy wait, then find no organisation. Networks, AS
	// numbers, domains, contacts and change requests go by ON DELETE
	// CASCADE.
	_, err := tx.Exec(ctx, `DELETE FROM organisations WHERE id = $1`, id)
	if isForeignKey(err) {
		// A user joined it since the count.
		return fmt.Errorf("users belong to it; move or delete them first: %w", store.ErrConflict)
	}
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM notification_policies WHERE org_id = $1`, id); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM notify_queue WHERE org = $1`, handle); err != nil {
		return err
	}
	for _, table := range []string{"event_orgs", "notified_sets", "notify_tallies"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE org = $1`, handle); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO organisation_handles (handle, org_id, retired) VALUES ($1, $2, $3)
		ON CONFLICT (handle) DO UPDATE SET retired = excluded.retired`, handle, id, store.RecordTime()); err != nil {
		return fmt.Errorf("retire handle: %w", err)
	}
	return nil
}

const organisationColumns = `o.id, o.handle, o.name, o.sector, o.country, o.language, o.notes, o.created, o.updated`

func scanOrganisation(row pgx.Row) (store.Organisation, error) {
	var o store.Organisation
	if err := row.Scan(&o.ID, &o.Handle, &o.Name, &o.Sector, &o.Country, &o.Language, &o.Notes, &o.Created, &o.Updated); err != nil {
		return store.Organisation{}, err
	}
	o.Created, o.Updated = o.Created.UTC(), o.Updated.UTC()
	return o, nil
}

// getOrganisation reads one whole organisation selected by where (on
// alias o, with one parameter); pgx.ErrNoRows when there is none.
func getOrganisation(ctx context.Context, q querier, where string, arg any) (store.Organisation, error) {
	o, err := scanOrganisation(q.QueryRow(ctx, `SELECT `+organisationColumns+` FROM organisations AS o WHERE `+where, arg))
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
func loadOwned(ctx context.Context, q querier, orgs []store.Organisation) error {
	if len(orgs) == 0 {
		return nil
	}
	byID := make(map[int64]*store.Organisation, len(orgs))
	ids := make([]int64, len(orgs))
	for i := range orgs {
		byID[orgs[i].ID] = &orgs[i]
		ids[i] = orgs[i].ID
	}
	var (
		orgID  int64
		prefix netip.Prefix
		asn    int64
		domain string
		c      store.Contact
	)
	for _, t := range []struct {
		what, query string
		dst         []any
		add         func(o *store.Organisation)
	}{
		{"networks", `SELECT org_id, prefix FROM org_networks WHERE org_id = ANY($1)`, []any{&orgID, &prefix},
			func(o *store.Organisation) { o.Networks = append(o.Networks, prefix) }},
		{"AS numbers", `SELECT org_id, asn FROM org_asns WHERE org_id = ANY($1)`, []any{&orgID, &asn},
			func(o *store.Organisation) { o.ASNs = append(o.ASNs, uint32(asn)) }},
		{"domains", `SELECT org_id, domain FROM org_domains WHERE org_id = ANY($1)`, []any{&orgID, &domain},
			func(o *store.Organisation) { o.Domains = append(o.Domains, domain) }},
		{"contacts", `SELECT org_id, id, name, email, phone, role, pgp_key, notify FROM org_contacts WHERE org_id = ANY($1)
			ORDER BY org_id, position`, []any{&orgID, &c.ID, &c.Name, &c.Email, &c.Phone, &c.Role, &c.PGPKey, &c.Notify},
			func(o *store.Organisation) { o.Contacts = append(o.Contacts, c) }},
	} {
		rows, err := q.Query(ctx, t.query, ids)
		if err != nil {
			return fmt.Errorf("%s: %w", t.what, err)
		}
		_, err = pgx.ForEachRow(rows, t.dst, func() error {
			t.add(byID[orgID])
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", t.what, err)
		}
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

// GetOrganisation returns the whole organisation id.
func (s *Store) GetOrganisation(ctx context.Context, id int64) (store.Organisation, error) {
	return s.readOrganisation(ctx, `o.id = $1`, id, fmt.Sprintf("get organisation %d", id))
}

// GetOrganisationByHandle returns the whole organisation with handle.
func (s *Store) GetOrganisationByHandle(ctx context.Context, handle string) (store.Organisation, error) {
	return s.readOrganisation(ctx, `o.handle = $1`, handle, "get organisation "+handle)
}

// readOrganisation reads one organisation in one snapshot.
func (s *Store) readOrganisation(ctx context.Context, where string, arg any, what string) (store.Organisation, error) {
	var o store.Organisation
	err := pgx.BeginTxFunc(ctx, s.pool, readSnapshot, func(tx pgx.Tx) error {
		var err error
		o, err = getOrganisation(ctx, tx, where, arg)
		return err
	})
	return o, notFound(err, what)
}

// organisationFilter writes the WHERE clause of q; ok is false when q
// cannot match anything.
func organisationFilter(q store.OrganisationQuery, a *args) (where string, ok bool) {
	text, ok := store.SearchTextQuery(q.Text)
	if !ok {
		return "", false
	}
	if text == "" {
		return "", true
	}
	return ` WHERE strpos(o.search, ` + a.add(text) + `) > 0`, true
}

// ListOrganisations returns the whole organisations q selects, by handle.
func (s *Store) ListOrganisations(ctx context.Context, q store.OrganisationQuery) ([]store.Organisation, error) {
	var a args
	where, ok := organisationFilter(q, &a)
	if !ok {
		return nil, nil
	}
	// A NULL limit is no limit.
	limit := pgtype.Int8{Int64: int64(q.Limit), Valid: q.Limit > 0}
	query := `SELECT ` + organisationColumns + ` FROM organisations AS o` + where +
		` ORDER BY o.handle LIMIT ` + a.add(limit) + ` OFFSET ` + a.add(max(q.Offset, 0))
	var out []store.Organisation
	err := pgx.BeginTxFunc(ctx, s.pool, readSnapshot, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, a...)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Organisation, error) { return scanOrganisation(row) }); err != nil {
			return err
		}
		return loadOwned(ctx, tx, out)
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list organisations: %w", err)
	}
	return out, nil
}

// CountOrganisations counts the organisations q selects (its Limit and
// Offset aside).
func (s *Store) CountOrganisations(ctx context.Context, q store.OrganisationQuery) (int64, error) {
	var a args
	where, ok := organisationFilter(q, &a)
	if !ok {
		return 0, nil
	}
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM organisations AS o`+where, a...).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count organisations: %w", err)
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
	var res store.ImportResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		res = store.ImportResult{}
		if err := bumpVersion(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+organisationColumns+` FROM organisations AS o`)
		if err != nil {
			return err
		}
		all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Organisation, error) { return scanOrganisation(row) })
		if err != nil {
			return err
		}
		if err := loadOwned(ctx, tx, all); err != nil {
			return err
		}
		stored := make(map[string]*store.Organisation, len(all))
		for i := range all {
			stored[all[i].Handle] = &all[i]
		}
		seen := make(map[string]bool, len(orgs))
		at := store.RecordTime()
		for i := range orgs {
			o := orgs[i]
			o.Contacts = slices.Clone(o.Contacts)
			if err := store.NormalizeOrganisation(&o); err != nil {
				return fmt.Errorf("entry %d: %w", i+1, err)
			}
			if seen[o.Handle] {
				return fmt.Errorf("entry %d: handle %s given twice: %w", i+1, o.Handle, store.ErrConflict)
			}
			seen[o.Handle] = true
			current := stored[o.Handle]
			if current == nil {
				o.ID, o.Created = 0, time.Time{}
				for j := range o.Contacts {
					o.Contacts[j].ID = 0
				}
				if err := createOrganisation(ctx, tx, &o, at); err != nil {
					return fmt.Errorf("%s: %w", o.Handle, err)
				}
				res.Created++
				continue
			}
			o.ID, o.Created, o.Updated = current.ID, current.Created, current.Updated
			store.KeepContactIDs(current.Contacts, o.Contacts, true)
			if store.SameOrganisation(&o, current) {
				continue
			}
			if err := updateOrganisation(ctx, tx, &o, at); err != nil {
				return fmt.Errorf("%s: %w", o.Handle, err)
			}
			res.Updated++
		}
		if replace {
			for i := range all {
				if seen[all[i].Handle] {
					continue
				}
				if err := deleteOrganisation(ctx, tx, all[i].ID, all[i].Handle); err != nil {
					return fmt.Errorf("delete %s: %w", all[i].Handle, err)
				}
				res.Deleted++
			}
		}
		if res == (store.ImportResult{}) {
			// Nothing changed: the version bump is rolled back.
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return store.ImportResult{}, nil
	}
	if err != nil {
		return store.ImportResult{}, fmt.Errorf("pgstore: import organisations: %w", err)
	}
	return res, nil
}

// errUnchanged rolls back an import that changed nothing.
var errUnchanged = errors.New("unchanged")

// ConstituencyVersion returns the version bumped by every organisation
// change.
func (s *Store) ConstituencyVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT version FROM constituency_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("pgstore: constituency version: %w", err)
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
