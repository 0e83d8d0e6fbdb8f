package constituencytest

// The contract of searching organisations.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
)

func testOrganisationSearch(t *testing.T, s Stores) {
	ctx := t.Context()
	for _, o := range []constituency.Organisation{
		{Handle: "ulb", Name: "Université libre de Bruxelles", Sector: "Education",
			Contacts: []constituency.Contact{{Email: "CERT@ulb.example"}, {Email: "noc@campus.example"}}},
		{Handle: "kuleuven", Name: "KU Leuven", Sector: "education", Contacts: []constituency.Contact{{Email: "security@kuleuven.example"}}},
		{Handle: "fod-bosa", Name: "FOD BOSA", Sector: "Government"},
		{Handle: "odd-name-1", Name: "100% secure_corp", Sector: "industry"},
		{Handle: "zeta", Name: "Zeta"},
	} {
		createOrg(t, s, o)
	}
	tests := []struct {
		text string
		want string
	}{
		{"", "fod-bosa kuleuven odd-name-1 ulb zeta"},
		{"  ", "fod-bosa kuleuven odd-name-1 ulb zeta"},
		{"ul", "kuleuven ulb"},                    // handle part
		{"UNIVERSITÉ", "ulb"},                     // name, beyond ASCII
		{"EDUCATION", "kuleuven ulb"},             // sector, any case
		{"campus.example", "ulb"},                 // a second contact's e-mail
		{"cert@ulb", "ulb"},                       // an e-mail stored in upper case
		{"security@", "kuleuven"},                 // only one organisation's
		{"%", "odd-name-1"},                       // LIKE wildcards are plain characters
		{"_", "odd-name-1"},                       // idem
		{"secure_corp", "odd-name-1"},             // idem
		{"libre de", "ulb"},                       // spaces inside
		{"nothing like it", ""},                   // no match
		{"ulb\nuniversité", ""},                   // never across fields
		{"bosa", "fod-bosa"},                      // handle and name
		{"government", "fod-bosa"},                // sector
		{"o", "fod-bosa kuleuven odd-name-1 ulb"}, // many
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("text %q", tt.text), func(t *testing.T) {
			list, err := s.ListOrganisations(ctx, constituency.OrganisationQuery{Text: tt.text})
			if err != nil {
				t.Fatalf("ListOrganisations: %v", err)
			}
			var handles []string
			for _, o := range list {
				handles = append(handles, o.Handle)
			}
			if got := strings.Join(handles, " "); got != tt.want {
				t.Errorf("ListOrganisations = %q, want %q", got, tt.want)
			}
			n, err := s.CountOrganisations(ctx, constituency.OrganisationQuery{Text: tt.text, Limit: 1, Offset: 1})
			if err != nil {
				t.Fatalf("CountOrganisations: %v", err)
			}
			if want := len(strings.Fields(tt.want)); n != int64(want) {
				t.Errorf("CountOrganisations = %d, want %d", n, want)
			}
		})
	}
	t.Run("paging", func(t *testing.T) {
		var pages []string
		for offset := 0; offset < 6; offset += 2 {
			list, err := s.ListOrganisations(ctx, constituency.OrganisationQuery{Limit: 2, Offset: offset})
			if err != nil {
				t.Fatal(err)
			}
			var handles []string
			for _, o := range list {
				handles = append(handles, o.Handle)
			}
			pages = append(pages, strings.Join(handles, " "))
		}
		if got := strings.Join(pages, " | "); got != "fod-bosa kuleuven | odd-name-1 ulb | zeta" {
			t.Errorf("pages of 2: %s", got)
		}
	})
	t.Run("whole organisations", func(t *testing.T) {
		list, err := s.ListOrganisations(ctx, constituency.OrganisationQuery{Text: "ulb"})
		if err != nil || len(list) != 1 {
			t.Fatalf("ListOrganisations(ulb) = %+v, %v", list, err)
		}
		one, err := s.GetOrganisation(ctx, list[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := orgDiff(list[0], one); d != "" || len(one.Contacts) != 2 {
			t.Errorf("listed organisation differs from GetOrganisation: %s", d)
		}
	})
}
