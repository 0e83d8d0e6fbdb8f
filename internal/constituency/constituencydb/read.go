package constituencydb

// Reading organisations with everything they own.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

const organisationColumns = `o.id, o.handle, o.name, o.sector, o.country, o.language, o.notes, o.created, o.updated, o.disabled`

func scanOrganisation(row sqlkit.Row) (constituency.Organisation, error) {
	var o constituency.Organisation
	err := row.Scan(&o.ID, &o.Handle, &o.Name, &o.Sector, &o.Country, &o.Language, &o.Notes,
		sqlkit.Time(&o.Created), sqlkit.Time(&o.Updated), &o.Disabled)
	return o, err
}

// GetOrganisation returns the whole organisation id.
func (s *Store) GetOrganisation(ctx context.Context, id int64) (constituency.Organisation, error) {
	return s.readOrganisation(ctx, `o.id = ?`, id, fmt.Sprintf("get organisation %d", id))
}

// GetOrganisationByHandle returns the whole organisation with handle.
func (s *Store) GetOrganisationByHandle(ctx context.Context, handle string) (constituency.Organisation, error) {
	return s.readOrganisation(ctx, `o.handle = ?`, handle, "get organisation "+handle)
}

// readOrganisation reads one organisation in one snapshot, so that its
// record and what it owns agree.
func (s *Store) readOrganisation(ctx context.Context, where string, arg any, what string) (constituency.Organisation, error) {
	var o constituency.Organisation
	err := s.db.Snapshot(ctx, func(tx sqlkit.DB) error {
		var err error
		o, err = getOrganisation(ctx, tx, where, arg)
		return err
	})
	return o, store.NotFound(err, "constituency: "+what)
}

// getOrganisation reads one whole organisation selected by where (on
// alias o, with one parameter); the database's "no rows" when there is
// none.
func getOrganisation(ctx context.Context, db sqlkit.DB, where string, arg any) (constituency.Organisation, error) {
	o, err := scanOrganisation(db.QueryRow(ctx, `SELECT `+organisationColumns+` FROM organisations AS o WHERE `+where, arg))
	if err != nil {
		return constituency.Organisation{}, err
	}
	orgs := []constituency.Organisation{o}
	if err := loadOwned(ctx, db, orgs, false); err != nil {
		return constituency.Organisation{}, err
	}
	return orgs[0], nil
}

// searchText is what OrganisationQuery.Text is looked up in: the handle,
// name, sector and contact e-mails, lower-cased (by Go, which knows more
// than ASCII, unlike SQLite's lower()), one a line. The organisations'
// search column keeps it, and a lower-cased query text is found in it as a
// substring; a text with a line break matches nothing.
func searchText(o *constituency.Organisation) string {
	parts := []string{o.Handle, o.Name, o.Sector}
	for _, c := range o.Contacts {
		parts = append(parts, c.Email)
	}
	return strings.ToLower(strings.Join(parts, "\n"))
}

// organisationFilter writes the WHERE clause of q; ok is false when q
// cannot match anything.
func organisationFilter(d sqlkit.Dialect, q constituency.OrganisationQuery) (where string, args []any, ok bool) {
	text := strings.ToLower(strings.TrimSpace(q.Text))
	switch {
	case strings.Contains(text, "\n"):
		return "", nil, false
	case text == "":
		return "", nil, true
	}
	// The position of a substring, 0 when absent: instr in SQLite, strpos
	// in PostgreSQL.
	find := "instr"
	if d == sqlkit.Postgres {
		find = "strpos"
	}
	return ` WHERE ` + find + `(o.search, ?) > 0`, []any{text}, true
}

// ListOrganisations returns the whole organisations q selects, by handle,
// from one snapshot.
func (s *Store) ListOrganisations(ctx context.Context, q constituency.OrganisationQuery) ([]constituency.Organisation, error) {
	d := s.db.Dialect()
	where, args, ok := organisationFilter(d, q)
	if !ok {
		return nil, nil
	}
	page := ``
	if q.Limit > 0 || q.Offset > 0 {
		// SQLite wants a LIMIT before an OFFSET; -1 is none there, NULL in
		// PostgreSQL.
		var limit any = int64(q.Limit)
		if q.Limit <= 0 {
			limit = int64(-1)
			if d == sqlkit.Postgres {
				limit = nil
			}
		}
		page = ` LIMIT ? OFFSET ?`
		args = append(args, limit, int64(max(q.Offset, 0)))
	}
	var out []constituency.Organisation
	err := s.db.Snapshot(ctx, func(tx sqlkit.DB) error {
		var err error
		out, err = listOrganisations(ctx, tx, where+` ORDER BY o.handle`+page, args, where == `` && page == ``)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("constituency: list organisations: %w", err)
	}
	return out, nil
}

// listOrganisations reads the whole organisations that rest (a WHERE
// clause, an order, a page) selects; all says that rest selects every
// organisation.
func listOrganisations(ctx context.Context, db sqlkit.DB, rest string, args []any, all bool) ([]constituency.Organisation, error) {
	out, err := sqlkit.All(ctx, db, `SELECT `+organisationColumns+` FROM organisations AS o`+rest, args, scanOrganisation)
	if err != nil {
		return nil, err
	}
	if err := loadOwned(ctx, db, out, all); err != nil {
		return nil, err
	}
	return out, nil
}

// CountOrganisations counts the organisations q selects (its Limit and
// Offset aside).
func (s *Store) CountOrganisations(ctx context.Context, q constituency.OrganisationQuery) (int64, error) {
	where, args, ok := organisationFilter(s.db.Dialect(), q)
	if !ok {
		return 0, nil
	}
	var n int64
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM organisations AS o`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("constituency: count organisations: %w", err)
	}
	return n, nil
}

// ownedBy returns the condition that selects the rows of the organisations
// ids, with one parameter however many they are: a JSON array that
// json_each unpacks in SQLite, an array in PostgreSQL.
func ownedBy(d sqlkit.Dialect, ids []int64) (string, any, error) {
	if d == sqlkit.Postgres {
		return ` WHERE org_id = ANY(?)`, ids, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return "", nil, err
	}
	return ` WHERE org_id IN (SELECT value FROM json_each(?))`, string(list), nil
}

// loadOwned fills in the networks, AS numbers, domains and contacts of
// orgs, one query a table for all of them; all says that orgs are every
// organisation there is, whose rows need no condition.
func loadOwned(ctx context.Context, db sqlkit.DB, orgs []constituency.Organisation, all bool) error {
	if len(orgs) == 0 {
		return nil
	}
	byID := make(map[int64]*constituency.Organisation, len(orgs))
	ids := make([]int64, len(orgs))
	for i := range orgs {
		byID[orgs[i].ID] = &orgs[i]
		ids[i] = orgs[i].ID
	}
	where, args := ``, []any(nil)
	if !all {
		cond, arg, err := ownedBy(db.Dialect(), ids)
		if err != nil {
			return err
		}
		where, args = cond, []any{arg}
	}
	var (
		orgID  int64
		prefix netip.Prefix
		asn    int64
		domain string
		c      constituency.Contact
	)
	for _, t := range []struct {
		what, query string
		dst         []any
		add         func(o *constituency.Organisation)
	}{
		{"networks", `SELECT org_id, prefix FROM org_networks` + where, []any{&orgID, prefixDest{&prefix}},
			func(o *constituency.Organisation) { o.Networks = append(o.Networks, prefix) }},
		{"AS numbers", `SELECT org_id, asn FROM org_asns` + where, []any{&orgID, &asn},
			func(o *constituency.Organisation) { o.ASNs = append(o.ASNs, uint32(asn)) }},
		{"domains", `SELECT org_id, domain FROM org_domains` + where, []any{&orgID, &domain},
			func(o *constituency.Organisation) { o.Domains = append(o.Domains, domain) }},
		{"contacts", `SELECT org_id, id, name, email, phone, role, pgp_key, notify FROM org_contacts` + where +
			` ORDER BY org_id, position`, []any{&orgID, &c.ID, &c.Name, &c.Email, &c.Phone, &c.Role, &c.PGPKey, &c.Notify},
			func(o *constituency.Organisation) { o.Contacts = append(o.Contacts, c) }},
	} {
		err := db.Each(ctx, t.query, args, func(row sqlkit.Row) error {
			if err := row.Scan(t.dst...); err != nil {
				return err
			}
			o := byID[orgID]
			if o == nil {
				return fmt.Errorf("a row of organisation %d, which was not read", orgID)
			}
			t.add(o)
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", t.what, err)
		}
	}
	for i := range orgs {
		// The order the stores agree on (see Organisation), whatever
		// order the database returned.
		constituency.SortHoldings(&orgs[i])
	}
	return nil
}

// prefixDest scans a network: text in SQLite, a cidr in PostgreSQL.
type prefixDest struct{ p *netip.Prefix }

func (d prefixDest) Scan(src any) error {
	var err error
	switch v := src.(type) {
	case string:
		*d.p, err = netip.ParsePrefix(v)
	case []byte:
		*d.p, err = netip.ParsePrefix(string(v))
	case netip.Prefix:
		*d.p = v
	default:
		err = fmt.Errorf("network from %T", src)
	}
	return err
}
