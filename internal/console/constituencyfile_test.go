package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
)

var importToken = regexp.MustCompile(`name="token" value="([0-9a-f]+)"`)

// checkImport uploads content for a dry run.
func (b *browser) checkImport(name, mode string, content string) response {
	b.env.t.Helper()
	b.get("/constituency/import")
	return b.postMultipart("/constituency/import", url.Values{"action": {"check"}, "mode": {mode}}, "file", name, []byte(content))
}

func TestImportDryRunAndApply(t *testing.T) {
	env := newTeamEnv(t, nil)
	env.createOrganisation(constituency.Organisation{Handle: "keep", Name: "Kept Org", Language: "en", Networks: prefixes("198.51.100.0/24")})
	env.createOrganisation(constituency.Organisation{Handle: "changed", Name: "Old Name", Language: "en", Networks: prefixes("203.0.113.0/24"),
		Contacts: []constituency.Contact{{Name: "NOC", Email: "noc@changed.example", Role: constituency.ContactAbuse, Notify: true}}})
	s := &importSteps{env: env, b: env.admin()}
	if r := s.b.get("/constituency/import"); r.status != http.StatusOK {
		t.Fatalf("form: %d", r.status)
	}
	s.checkRefused(t)

	good := "handle,name,language,networks,contact_name,contact_email,contact_role,contact_notify\n" +
		"changed,New Name,en,203.0.113.0/24,NOC,noc@changed.example,abuse,true\n" +
		"fresh,Fresh Org,nl,192.0.2.0/24,CSIRT,csirt@fresh.example,security,true\n"
	s.dryRun(t, good)
	t.Run("another person cannot apply it", func(t *testing.T) {
		r := env.analyst().post("/constituency/import", url.Values{"action": {"apply"}, "token": {s.token}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d", r.status)
		}
	})
	s.apply(t)

	t.Run("the constituency changed since the check", func(t *testing.T) { s.applyStale(t, good) })
	t.Run("an upload over the limit", func(t *testing.T) {
		s.b.get("/constituency/import")
		r := s.b.postMultipart("/constituency/import", url.Values{"action": {"check"}}, "file", "big.csv", bytes.Repeat([]byte("x"), maxImportBytes+1))
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", r.status)
		}
		mustSay(t, r.body, "too large")
	})
}

// importSteps is what the steps of TestImportDryRunAndApply share: the
// console, an administrator's browser, and the apply token of the last
// dry run.
type importSteps struct {
	env   *teamEnv
	b     *browser
	token string
}

// checkRefused runs the subtests of files that cannot be imported: each
// problem is named, and no apply button is offered.
func (s *importSteps) checkRefused(t *testing.T) {
	env, b, ctx := s.env, s.b, context.Background()
	t.Run("problems by line and column", func(t *testing.T) {
		r := b.checkImport("orgs.csv", "merge", "handle,name,networks,contact_email,contact_role\n"+
			"good,Good Org,192.0.2.0/24,csirt@good.example,abuse\n"+
			"bad-net,Bad Net,192.0.2.7/24,noc@badnet.example,abuse\n"+
			"bad-mail,Bad Mail,10.0.0.0/8,not-an-address,abuse\n")
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d %.500s", r.status, text(r.body))
		}
		mustSay(t, r.body, "The file cannot be imported as it is",
			"error 3 networks bad-net 192.0.2.7/24 host bits are set",
			"error 4 contact_email bad-mail not-an-address")
		if strings.Contains(r.body, `id="apply"`) {
			t.Fatal("a file with errors can be applied")
		}
	})
	t.Run("a conflict with a kept organisation", func(t *testing.T) {
		r := b.checkImport("orgs.json", "merge", `[{"handle": "thief", "name": "Thief", "networks": ["198.51.100.0/24"]}]`)
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d %.500s", r.status, text(r.body))
		}
		mustSay(t, r.body, "error networks thief 198.51.100.0/24 is also a network of keep")
		// Replacing deletes "keep", so the network is free.
		r = b.checkImport("orgs.json", "replace", `[{"handle": "thief", "name": "Thief", "networks": ["198.51.100.0/24"]}]`)
		if r.status != http.StatusOK {
			t.Fatalf("replace: %d %.500s", r.status, text(r.body))
		}
		mustSay(t, r.body, "1 to create", "2 to delete", "changed (Old Name)", "keep (Kept Org)")
	})
	t.Run("a replace deleting an organisation with accounts", func(t *testing.T) {
		keep, err := env.store.GetOrganisationByHandle(ctx, "keep")
		if err != nil {
			t.Fatal(err)
		}
		u := auth.User{Name: "keeper", Email: "keeper@keep.example", Role: auth.RoleConstituent, OrgID: keep.ID, Language: "en", PasswordHash: "unused"}
		if err := env.store.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		defer env.store.DeleteUser(ctx, u.ID)
		r := b.checkImport("orgs.json", "replace", `[{"handle": "thief", "name": "Thief", "networks": ["198.51.100.0/24"]}]`)
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d %.500s", r.status, text(r.body))
		}
		mustSay(t, r.body, "The organisation keep cannot be deleted while accounts belong to it")
		if strings.Contains(r.body, `id="apply"`) {
			t.Fatal("an import deleting an organisation with accounts can be applied")
		}
	})
	t.Run("not a constituency file", func(t *testing.T) {
		r := b.checkImport("orgs.txt", "merge", "whatever")
		mustSay(t, r.body, "Choose the format")
		if r := b.postMultipart("/constituency/import", url.Values{"action": {"check"}}, "", "", nil); r.status != http.StatusBadRequest {
			t.Errorf("no file: %d", r.status)
		}
	})
}

// dryRun checks the good file: the plan is shown, the store is not
// changed, and an apply form carries the token kept for the next steps.
func (s *importSteps) dryRun(t *testing.T, good string) {
	r := s.b.checkImport("constituency.csv", "merge", good)
	if r.status != http.StatusOK {
		t.Fatalf("dry run: %d %.800s", r.status, text(r.body))
	}
	mustSay(t, r.body, "1 to create: fresh (Fresh Org)", "1 to update: changed (New Name)", "0 to delete", "0 unchanged",
		"Organisations not in the file are kept.")
	if n, _ := s.env.store.CountOrganisations(context.Background(), constituency.OrganisationQuery{}); n != 2 {
		t.Fatalf("the dry run changed the store: %d organisations", n)
	}
	token := importToken.FindStringSubmatch(r.body)
	if token == nil {
		t.Fatal("no apply form")
	}
	s.token = token[1]
}

// apply applies the dry run's plan and checks the store, the pipeline's
// table, that the token works once, and the audit log.
func (s *importSteps) apply(t *testing.T) {
	env, b, ctx := s.env, s.b, context.Background()
	r := b.post("/constituency/import", url.Values{"action": {"apply"}, "token": {s.token}})
	if r.status != http.StatusSeeOther || r.location != "/constituency?done=import" {
		t.Fatalf("apply: %d %q %.500s", r.status, r.location, text(r.body))
	}
	changed, err := env.store.GetOrganisationByHandle(ctx, "changed")
	if err != nil || changed.Name != "New Name" {
		t.Fatalf("changed: %+v %v", changed, err)
	}
	if _, err := env.store.GetOrganisationByHandle(ctx, "keep"); err != nil {
		t.Fatalf("merge deleted an organisation: %v", err)
	}
	if owner, ok := env.directory.Table().Lookup("192.0.2.1"); ok != nil || len(owner) != 1 || owner[0].Handle != "fresh" {
		t.Fatalf("the pipeline's table does not know the import: %v %v", owner, ok)
	}
	if r := b.post("/constituency/import", url.Values{"action": {"apply"}, "token": {s.token}}); r.status != http.StatusBadRequest {
		t.Fatalf("applied twice: %d", r.status)
	}
	if !contains(env.auditActions(), "constituency.import") {
		t.Error("import not audited")
	}
}

// applyStale checks that a plan is refused when the constituency changed
// between its check and its apply.
func (s *importSteps) applyStale(t *testing.T, good string) {
	r := s.b.checkImport("constituency.csv", "replace", good)
	token := importToken.FindStringSubmatch(r.body)
	if token == nil {
		t.Fatalf("no apply form: %.500s", text(r.body))
	}
	s.env.createOrganisation(constituency.Organisation{Handle: "meanwhile", Name: "Meanwhile", Language: "en"})
	r = s.b.post("/constituency/import", url.Values{"action": {"apply"}, "token": {token[1]}})
	if r.status != http.StatusConflict {
		t.Fatalf("status %d", r.status)
	}
	if _, err := s.env.store.GetOrganisationByHandle(context.Background(), "meanwhile"); err != nil {
		t.Fatal("a stale plan was applied")
	}
}

func TestExportRoundTrip(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	_, key := testKey(t, "CSIRT", "csirt@a.example", time.Now().Add(-time.Hour), 0)
	orgs := []constituency.Organisation{
		{Handle: "org-a", Name: "Org, \"A\"", Sector: "education", Country: "BE", Language: "fr", Notes: "two\nlines",
			Networks: prefixes("192.0.2.0/24", "2001:db8::/32"), ASNs: []uint32{64496}, Domains: []string{"a.example"},
			// In the files' order (by address), which the comparison
			// below relies on.
			Contacts: []constituency.Contact{
				{Name: "Boss", Email: "boss@a.example", Phone: "+32 2 555 01 01", Role: constituency.ContactManagement},
				{Name: "CSIRT", Email: "csirt@a.example", Role: constituency.ContactAbuse, Notify: true, PGPKey: key},
			}},
		{Handle: "org-b", Name: "Org B", Language: "nl", Networks: prefixes("198.51.100.0/24")},
	}
	for _, o := range orgs {
		env.createOrganisation(o)
	}
	want, err := env.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.login("analyst", analystPassword)
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			r := b.get("/constituency/export." + format)
			if r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
				t.Fatalf("export: %d %v", r.status, r.header)
			}
			if format == "csv" {
				records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
				if err != nil || len(records) != 4 { // header, two contacts of A, B
					t.Fatalf("%d records, %v", len(records), err)
				}
			}
			read, _, err := constituency.Read(strings.NewReader(r.body), constituency.Format(format))
			if err != nil {
				t.Fatalf("the export does not read back: %v", err)
			}
			if len(read) != len(want) {
				t.Fatalf("%d organisations read back", len(read))
			}
			for i := range read {
				got := read[i]
				got.ID, got.Created, got.Updated = want[i].ID, want[i].Created, want[i].Updated
				constituency.KeepContactIDs(want[i].Contacts, got.Contacts, true)
				if !constituency.SameOrganisation(&got, &want[i]) {
					t.Errorf("round trip changed %s:\n got %+v\nwant %+v", want[i].Handle, got, want[i])
				}
			}

			// Importing the export into an empty console gives the same
			// constituency.
			other := newTeamEnv(t, nil)
			ob := other.admin()
			res := ob.checkImport("export."+format, "replace", r.body)
			token := importToken.FindStringSubmatch(res.body)
			if token == nil {
				t.Fatalf("no apply form: %.800s", text(res.body))
			}
			if r := ob.post("/constituency/import", url.Values{"action": {"apply"}, "token": {token[1]}}); r.status != http.StatusSeeOther {
				t.Fatalf("apply: %d", r.status)
			}
			imported, err := other.store.ListOrganisations(ctx, constituency.OrganisationQuery{})
			if err != nil || len(imported) != len(want) {
				t.Fatalf("%d imported, %v", len(imported), err)
			}
			for i := range imported {
				a, w := imported[i], want[i]
				a.ID, a.Created, a.Updated = w.ID, w.Created, w.Updated
				constituency.KeepContactIDs(w.Contacts, a.Contacts, true)
				if !constituency.SameOrganisation(&a, &w) {
					t.Errorf("import of the export changed %s", w.Handle)
				}
			}
			if !slices.ContainsFunc(imported[0].Contacts, func(c constituency.Contact) bool { return c.PGPKey != "" }) {
				t.Error("the key did not survive")
			}
		})
	}
}
