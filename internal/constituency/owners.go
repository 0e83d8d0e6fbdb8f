package constituency

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store"
)

// What the console and the API share when a person asks "who owns this?"
// or changes an organisation: the table to ask, the owners with their
// names, the check of a change against the stored constituency and the
// audit summary of a saved organisation. Both call these, so that neither
// answers or checks differently from the other.

// OrganisationReader is what the shared helpers read of the store.
type OrganisationReader interface {
	GetOrganisation(ctx context.Context, id int64) (Organisation, error)
	ListOrganisations(ctx context.Context, q OrganisationQuery) ([]Organisation, error)
}

// TableOf is the pipeline's table when there is a directory d (loaded
// now if it never was), else one built from s now.
func TableOf(ctx context.Context, d *Directory, s OrganisationReader) (*Table, error) {
	if d != nil {
		if d.Version() < 0 {
			if err := d.Reload(ctx); err != nil {
				return nil, fmt.Errorf("load constituency table: %w", err)
			}
		}
		return d.Table(), nil
	}
	orgs, err := s.ListOrganisations(ctx, OrganisationQuery{})
	if err != nil {
		return nil, fmt.Errorf("constituency table: %w", err)
	}
	return NewTable(orgs), nil
}

// Owner is one answer to "who owns this?": the match and the name of its
// organisation, "" for one deleted since the table was built.
type Owner struct {
	Match
	Name string
	// Disabled says the organisation is disabled: events are still
	// attributed to it, but it is not notified.
	Disabled bool
}

// ErrNotAQuery is the error of Owners for a query that is not an IP
// address, a network, an AS number or a domain.
var ErrNotAQuery = errors.New("not an IP address, network (192.0.2.0/24), AS number (AS64496) or domain")

// Owners answers query with the table of TableOf: every owner from the
// most specific to the least (see Table.Lookup), each with its name.
func Owners(ctx context.Context, d *Directory, s OrganisationReader, query string) ([]Owner, error) {
	table, err := TableOf(ctx, d, s)
	if err != nil {
		return nil, err
	}
	matches, err := table.Lookup(query)
	if err != nil {
		// Lookup fails only on what was asked.
		return nil, fmt.Errorf("%w: %w", ErrNotAQuery, err)
	}
	out := make([]Owner, 0, len(matches))
	known := map[int64]Owner{}
	for _, m := range matches {
		o, ok := known[m.OrgID]
		if !ok {
			org, err := s.GetOrganisation(ctx, m.OrgID)
			switch {
			case err == nil:
				o.Name, o.Disabled = org.Name, org.Disabled
			case !errors.Is(err, store.ErrNotFound):
				return nil, fmt.Errorf("owner %s: %w", m.Handle, err)
			}
			known[m.OrgID] = o
		}
		o.Match = m
		out = append(out, o)
	}
	return out, nil
}

// CheckChangeIn is CheckChange of o against every stored organisation but
// selfID (0 for a new organisation).
func CheckChangeIn(ctx context.Context, s OrganisationReader, o *Organisation, selfID int64) (Verdict, error) {
	all, err := s.ListOrganisations(ctx, OrganisationQuery{})
	if err != nil {
		return Verdict{}, fmt.Errorf("check organisation: %w", err)
	}
	others := all[:0]
	for _, x := range all {
		if x.ID != selfID {
			others = append(others, x)
		}
	}
	return CheckChange(o, others)
}

// Summary is the audit detail of a saved organisation: what it holds, not
// its contacts' details.
func Summary(o Organisation) string {
	return fmt.Sprintf("%d networks, %d AS numbers, %d domains, %d contacts", len(o.Networks), len(o.ASNs), len(o.Domains), len(o.Contacts))
}
