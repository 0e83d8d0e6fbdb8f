package constituency

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/store"
)

// The form in which the store keeps an organisation, the same on SQLite
// and PostgreSQL, so that both give equal answers.

// StoreForm brings o's handle, networks, AS numbers and domains into the
// form the store keeps and returns: networks masked, with IPv4-mapped
// prefixes as IPv4 (CanonicalNetwork); domains in lower case, without a
// trailing dot; all sorted, without repeats, nil when there are none
// (SortHoldings). It replaces the slices rather than changing them in
// place, since they may be the caller's. An invalid handle, network, AS
// number 0 or empty domain is an error. Normalize checks far more, with
// reasons for a person, and ends with SortHoldings too, so that what it
// returns is already in this form.
func StoreForm(o *Organisation) error {
	if !store.ValidHandle(o.Handle) {
		return fmt.Errorf("organisation handle %q: want lower-case letters, digits and '-'", o.Handle)
	}
	nets := make([]netip.Prefix, 0, len(o.Networks))
	for _, p := range o.Networks {
		if !p.IsValid() {
			return fmt.Errorf("organisation %s: invalid network %v", o.Handle, p)
		}
		nets = append(nets, CanonicalNetwork(p))
	}
	o.Networks = nets

	asns := slices.Clone(o.ASNs)
	if slices.Contains(asns, 0) {
		return fmt.Errorf("organisation %s: AS number 0", o.Handle)
	}
	o.ASNs = asns

	domains := make([]string, 0, len(o.Domains))
	for _, d := range o.Domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" {
			return fmt.Errorf("organisation %s: empty domain", o.Handle)
		}
		domains = append(domains, d)
	}
	o.Domains = domains
	SortHoldings(o)
	return nil
}

// CanonicalNetwork returns p as the stores keep it: an IPv4-mapped prefix
// of /96 or longer as the IPv4 prefix it stands for, and host bits
// cleared. p must be valid.
func CanonicalNetwork(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// SortHoldings sorts o's networks, AS numbers and domains and drops
// repeats, in place, and leaves nil where there are none, as the stores
// return them, so that an organisation read from a file compares equal to
// the one stored. The values must already be in canonical form.
func SortHoldings(o *Organisation) {
	slices.SortFunc(o.Networks, netip.Prefix.Compare)
	o.Networks = slices.Compact(o.Networks)
	slices.Sort(o.ASNs)
	o.ASNs = slices.Compact(o.ASNs)
	slices.Sort(o.Domains)
	o.Domains = slices.Compact(o.Domains)
	if len(o.Networks) == 0 {
		o.Networks = nil
	}
	if len(o.ASNs) == 0 {
		o.ASNs = nil
	}
	if len(o.Domains) == 0 {
		o.Domains = nil
	}
}

// KeepContactIDs prepares an organisation's new contacts for replacing its
// current ones: a contact keeps its ID when it carries one of current's;
// with byAddress, a contact without an ID takes the ID of a current contact
// with the same e-mail address (case-insensitive) and role, so that
// re-importing a file that carries no IDs keeps them stable. Every other
// ID is cleared: the contact is new.
func KeepContactIDs(current, contacts []Contact, byAddress bool) {
	free := make(map[int64]bool, len(current))
	for _, c := range current {
		free[c.ID] = true
	}
	for i := range contacts {
		if id := contacts[i].ID; id != 0 {
			if free[id] {
				free[id] = false
				continue
			}
			contacts[i].ID = 0
		}
	}
	if !byAddress {
		return
	}
	for i := range contacts {
		if contacts[i].ID != 0 {
			continue
		}
		for _, c := range current {
			if free[c.ID] && c.Role == contacts[i].Role && strings.EqualFold(c.Email, contacts[i].Email) {
				contacts[i].ID = c.ID
				free[c.ID] = false
				break
			}
		}
	}
}

// SameOrganisation reports whether a and b hold the same record, apart
// from ID and times: what an import compares to leave an unchanged
// organisation (and the constituency version) alone. Both must be
// normalized.
func SameOrganisation(a, b *Organisation) bool {
	return a.Handle == b.Handle && a.Name == b.Name && a.Sector == b.Sector && a.Country == b.Country &&
		a.Language == b.Language && a.Notes == b.Notes &&
		slices.Equal(a.Networks, b.Networks) && slices.Equal(a.ASNs, b.ASNs) &&
		slices.Equal(a.Domains, b.Domains) && slices.Equal(a.Contacts, b.Contacts)
}
