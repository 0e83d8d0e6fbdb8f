package correspond

import (
	"context"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
)

// Directory is what working out an incident's recipients reads: its
// reports and the constituency.
type Directory interface {
	ListReports(ctx context.Context, q incident.ReportQuery) (incident.ReportPage, error)
	ListOrganisations(ctx context.Context, q constituency.OrganisationQuery) ([]constituency.Organisation, error)
}

// Offer is who an incident may be written to.
type Offer struct {
	// Reporters are the reporters of its reports who gave an address,
	// once each (the first report's), with their language and tracking
	// number, and the key of a contact of the constituency who has that
	// address.
	Reporters []Recipient
	// Contacts are the contacts with an address of the organisations
	// it concerns, with their keys.
	Contacts []Recipient
	// keys maps every contact's address (lower case) to its key.
	keys map[string]string
}

// Offered works out who an incident may be written to.
func Offered(ctx context.Context, d Directory, inc incident.Incident) (Offer, error) {
	orgs, err := d.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		return Offer{}, err
	}
	o := Offer{keys: map[string]string{}}
	for _, org := range orgs {
		for _, ct := range org.Contacts {
			addr := strings.ToLower(ct.Email)
			if addr != "" && strings.TrimSpace(ct.PGPKey) != "" && o.keys[addr] == "" {
				o.keys[addr] = ct.PGPKey
			}
		}
	}
	page, err := d.ListReports(ctx, incident.ReportQuery{IncidentID: inc.ID, Oldest: true, Limit: 200})
	if err != nil {
		return Offer{}, err
	}
	seen := map[string]bool{}
	for _, r := range page.Reports {
		addr := strings.TrimSpace(r.Reporter.Email)
		if addr == "" || seen[strings.ToLower(addr)] {
			continue
		}
		seen[strings.ToLower(addr)] = true
		o.Reporters = append(o.Reporters, Recipient{Name: r.Reporter.Name, Address: addr, Key: o.keys[strings.ToLower(addr)],
			Kind: ToReporter, ReportID: r.ID, Tracking: r.Tracking, Language: Language(r.Language)})
	}
	for _, org := range orgs {
		if !slices.Contains(inc.OrgIDs, org.ID) {
			continue
		}
		for _, ct := range org.Contacts {
			if ct.Email != "" {
				o.Contacts = append(o.Contacts, Recipient{Name: ct.Name, Address: ct.Email, Key: ct.PGPKey, Kind: ToContact,
					OrgID: org.ID, Org: org.Name, ContactID: ct.ID})
			}
		}
	}
	return o, nil
}

// Other is an address typed in, with the key of a contact of the
// constituency who has it.
func (o Offer) Other(address string) Recipient {
	return Recipient{Address: address, Key: o.keys[strings.ToLower(strings.TrimSpace(address))], Kind: ToOther}
}

// Reporter returns the reporter of the report (ToReporter), if offered.
func (o Offer) Reporter(reportID int64) (Recipient, bool) {
	i := slices.IndexFunc(o.Reporters, func(r Recipient) bool { return r.ReportID == reportID })
	if i < 0 {
		return Recipient{}, false
	}
	return o.Reporters[i], true
}

// Contact returns the contact with that address (ToContact), if offered.
func (o Offer) Contact(address string) (Recipient, bool) {
	i := slices.IndexFunc(o.Contacts, func(r Recipient) bool { return strings.EqualFold(r.Address, strings.TrimSpace(address)) })
	if i < 0 {
		return Recipient{}, false
	}
	return o.Contacts[i], true
}
