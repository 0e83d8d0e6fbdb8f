package demo

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
)

// The demo constituent login: a user of Demo University A, who sees only
// that university's events in the portal.
const (
	ConstituentUser = "demo-univ"
	ConstituentOrg  = "demo-univ-a"
)

// Organisations are the demo constituency: the demo networks' owners, one
// research lab inside the research network (most specific wins), and an
// organisation known only by its domain and AS number.
func Organisations() []constituency.Organisation {
	p := netip.MustParsePrefix
	return []constituency.Organisation{
		{Handle: "demo-univ-a", Name: "Demo University A", Sector: "education", Country: "BE", Language: "fr",
			Networks: []netip.Prefix{p("192.0.2.0/24")}, ASNs: []uint32{64496}, Domains: []string{"univ-a.example"},
			Contacts: []constituency.Contact{
				{Name: "CSIRT Université A", Email: "csirt@univ-a.example", Role: constituency.ContactAbuse, Notify: true},
				{Name: "Claire Dubois", Email: "claire.dubois@univ-a.example", Phone: "+32 2 555 01 01", Role: constituency.ContactManagement},
			}},
		{Handle: "demo-college", Name: "Demo College", Sector: "education", Country: "BE", Language: "nl",
			Networks: []netip.Prefix{p("198.51.100.0/24")}, ASNs: []uint32{64497}, Domains: []string{"college.example"},
			Contacts: []constituency.Contact{
				{Name: "ICT-dienst", Email: "security@college.example", Role: constituency.ContactSecurity, Notify: true},
			}},
		{Handle: "demo-research", Name: "Demo Research Network", Sector: "research", Country: "BE", Language: "en",
			Networks: []netip.Prefix{p("198.18.0.0/16"), p("2001:db8::/32")}, ASNs: []uint32{64499, 64501},
			Contacts: []constituency.Contact{
				{Name: "NOC", Email: "noc@research.example", Phone: "+32 2 555 02 02", Role: constituency.ContactAbuse, Notify: true},
			}},
		{Handle: "demo-lab", Name: "Demo Quantum Lab", Sector: "research", Country: "BE", Language: "en",
			Networks: []netip.Prefix{p("198.18.42.0/24")}, Domains: []string{"lab.research.example"},
			Notes: "Hosted inside the research network; its own /24 is reported to the lab, not to the network.",
			Contacts: []constituency.Contact{
				{Name: "Lab IT", Email: "it@lab.research.example", Role: constituency.ContactTechnical, Notify: true},
			}},
		{Handle: "demo-gov", Name: "Demo Federal Public Service", Sector: "government", Country: "FR", Language: "fr",
			Networks: []netip.Prefix{p("198.19.0.0/16")}, ASNs: []uint32{64500}, Domains: []string{"gov.example"},
			Contacts: []constituency.Contact{
				{Name: "Cellule sécurité", Email: "securite@gov.example", Role: constituency.ContactSecurity, Notify: true},
			}},
	}
}

// loadConstituency stores, once, the demo organisations (Demo University
// A's CSIRT with an OpenPGP key, whose private half is kept in KeysDir so
// that its encrypted notifications can be read), the team's OpenPGP
// identity, and the constituent login.
func (s *Set) loadConstituency(ctx context.Context, st *database.DB) error {
	n, err := st.CountOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		return fmt.Errorf("demo constituency: %w", err)
	}
	if n == 0 {
		orgs := Organisations()
		now := time.Now()
		private, err := pgpmime.GenerateIdentity("CSIRT Université A", "csirt@univ-a.example", now)
		if err != nil {
			return fmt.Errorf("demo contact key: %w", err)
		}
		id, err := pgpmime.ParseIdentity(private, "")
		if err != nil {
			return fmt.Errorf("demo contact key: %w", err)
		}
		if err := os.MkdirAll(s.KeysDir(), 0o700); err != nil {
			return fmt.Errorf("demo contact key: %w", err)
		}
		if err := os.WriteFile(filepath.Join(s.KeysDir(), "csirt@univ-a.example.asc"), []byte(private), 0o600); err != nil {
			return fmt.Errorf("demo contact key: %w", err)
		}
		orgs[0].Contacts[0].PGPKey = id.PublicKey()
		if _, err := st.ImportOrganisations(ctx, orgs, false); err != nil {
			return fmt.Errorf("demo constituency: %w", err)
		}
	}
	if _, err := st.GetState(ctx, notify.IdentityStateKey); errors.Is(err, store.ErrNotFound) {
		team, err := pgpmime.GenerateIdentity("Vigil Demo CERT", "cert@demo-cert.example", time.Now())
		if err != nil {
			return fmt.Errorf("demo team key: %w", err)
		}
		if err := st.PutState(ctx, notify.IdentityStateKey, []byte(team)); err != nil {
			return fmt.Errorf("demo team key: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("demo team key: %w", err)
	}
	if _, err := st.GetUserByName(ctx, ConstituentUser); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("demo constituent user: %w", err)
	}
	org, err := st.GetOrganisationByHandle(ctx, ConstituentOrg)
	if err != nil {
		return fmt.Errorf("demo constituent user: %w", err)
	}
	u, err := auth.NewUser(ConstituentUser, "csirt@univ-a.example", auth.RoleConstituent, Password, "fr")
	if err != nil {
		return fmt.Errorf("demo constituent user: %w", err)
	}
	u.OrgID = org.ID
	if err := st.CreateUser(ctx, &u); err != nil {
		return fmt.Errorf("demo constituent user: %w", err)
	}
	return nil
}
