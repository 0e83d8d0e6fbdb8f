package console

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

// organisationForm is a filled-in organisation form with contact rows.
func organisationValues(fields map[string]string, contacts ...map[string]string) url.Values {
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, x)
	}
	v.Set("contacts", strconv.Itoa(len(contacts)))
	for i, c := range contacts {
		for k, x := range c {
			v.Set(fmt.Sprintf("c%d.%s", i, k), x)
		}
	}
	return v
}

func TestOrganisationLifecycle(t *testing.T) {
	env := newTeamEnv(t, nil)
	s := &organisationLifecycle{env: env, b: env.admin()}
	s.create(t)
	t.Run("edit keeps the handle and contact IDs", s.edit)
	t.Run("remove a contact", s.removeContact)
	t.Run("delete", s.delete)
	t.Run("an organisation with users is not deleted", s.deleteWithUsers)
	for _, want := range []string{"organisation.create", "organisation.update", "organisation.delete"} {
		if !contains(env.auditActions(), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	if env.reloads != 4 {
		t.Errorf("%d reloads, want one per change (4)", env.reloads)
	}
}

// organisationLifecycle is what the steps of TestOrganisationLifecycle
// share: the console, an administrator's browser, and the organisation as
// the last step left it.
type organisationLifecycle struct {
	env *teamEnv
	b   *browser
	o   constituency.Organisation
}

// create adds an organisation through the form and checks what was
// stored, the pipeline's table, its page and its edit form.
func (s *organisationLifecycle) create(t *testing.T) {
	env, b, ctx := s.env, s.b, context.Background()
	if r := b.get("/constituency/new"); r.status != http.StatusOK {
		t.Fatalf("new form: %d", r.status)
	}
	r := b.post("/constituency/new", organisationValues(map[string]string{
		"name": "Université de Liège", "handle": "uliege", "sector": "education", "country": "be", "language": "fr",
		"networks": "192.0.2.0/24\n2001:db8:100::/48", "asns": "AS64496", "domains": "uliege.example", "notes": "first line",
	}, map[string]string{"name": "CSIRT", "email": "csirt@uliege.example", "role": "abuse", "notify": "on"},
		map[string]string{}, // an empty row is no contact
	))
	m := locationID.FindStringSubmatch(r.location)
	if r.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q %.500s", r.status, r.location, text(r.body))
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	o, err := env.store.GetOrganisation(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	s.o = o
	if o.Handle != "uliege" || o.Country != "BE" || len(o.Networks) != 2 || len(o.Contacts) != 1 || !o.Contacts[0].Notify {
		t.Fatalf("stored %+v", o)
	}
	if owner, ok := env.directory.OwnerOf(netip.MustParseAddr("192.0.2.9"), 0, ""); !ok || owner != "uliege" {
		t.Fatalf("the pipeline's table was not rebuilt: owner %q %v", owner, ok)
	}
	// The page reads as a record first, with a link to its events and
	// the form one button away.
	page := b.get(r.location)
	mustSay(t, page.body, "The organisation was saved.", "Université de Liège", "Edit", "Events of this organisation")
	mustContain(t, page.body, `<dd class="mono" id="view-handle">uliege</dd>`, `href="/events?org=uliege"`,
		`href="/events?cidr=192.0.2.0%2f24"`, `href="/events?asn=64496">AS64496</a>`, `href="/constituency/`+m[1]+`/edit"`)
	if strings.Contains(page.body, `id="organisation-form"`) {
		t.Error("the organisation's page opens as a form")
	}
	page = b.get(orgPath(o) + "/edit")
	mustSay(t, page.body, "Université de Liège", "The short name cannot change")
	mustContain(t, page.body, `id="organisation-form"`, `<span class="mono readonly" id="handle">uliege</span>`, "192.0.2.0/24\n2001:db8:100::/48")
	if strings.Contains(page.body, `name="handle"`) {
		t.Error("the handle can be edited")
	}
}

// edit checks that an update keeps the handle and the contacts' IDs.
func (s *organisationLifecycle) edit(t *testing.T) {
	env, o, ctx := s.env, s.o, context.Background()
	contactID := strconv.FormatInt(o.Contacts[0].ID, 10)
	r := s.b.post(orgPath(o), organisationValues(map[string]string{
		"handle": "renamed", "name": "ULiège", "sector": "education", "country": "BE", "language": "fr",
		"networks": "192.0.2.0/24", "asns": "", "domains": "uliege.example",
	}, map[string]string{"id": contactID, "name": "CSIRT ULiège", "email": "csirt@uliege.example", "role": "abuse", "notify": "on"},
		map[string]string{"name": "Security officer", "email": "ciso@uliege.example", "role": "management"},
	))
	if r.status != http.StatusSeeOther {
		t.Fatalf("update: %d %.800s", r.status, text(r.body))
	}
	got, err := env.store.GetOrganisation(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Handle != "uliege" || got.Name != "ULiège" || len(got.ASNs) != 0 || len(got.Contacts) != 2 {
		t.Fatalf("after update: %+v", got)
	}
	i := slices.IndexFunc(got.Contacts, func(c constituency.Contact) bool { return c.Email == "csirt@uliege.example" })
	if i < 0 || got.Contacts[i].ID != o.Contacts[0].ID || got.Contacts[i].Name != "CSIRT ULiège" {
		t.Fatalf("contact lost its ID: %+v (was %d)", got.Contacts, o.Contacts[0].ID)
	}
	if _, err := env.store.GetOrganisationByHandle(ctx, "renamed"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the posted handle was used: %v", err)
	}
	s.o = got
}

// removeContact removes the management contact through the form.
func (s *organisationLifecycle) removeContact(t *testing.T) {
	o := s.o
	var rows []map[string]string
	for _, c := range o.Contacts {
		row := map[string]string{"id": strconv.FormatInt(c.ID, 10), "name": c.Name, "email": c.Email, "role": c.Role}
		if c.Role == constituency.ContactManagement {
			row["remove"] = "on"
		}
		rows = append(rows, row)
	}
	r := s.b.post(orgPath(o), organisationValues(map[string]string{"name": o.Name, "language": "fr", "networks": "192.0.2.0/24"}, rows...))
	if r.status != http.StatusSeeOther {
		t.Fatalf("update: %d %.800s", r.status, text(r.body))
	}
	got, _ := s.env.store.GetOrganisation(context.Background(), o.ID)
	if len(got.Contacts) != 1 || got.Contacts[0].Role != constituency.ContactAbuse {
		t.Fatalf("contacts after removal: %+v", got.Contacts)
	}
}

// delete checks that deleting needs the handle typed, and that a deleted
// organisation is gone from the store, the pipeline's table and its page.
func (s *organisationLifecycle) delete(t *testing.T) {
	env, b, o, ctx := s.env, s.b, s.o, context.Background()
	page := b.get(orgPath(o) + "/delete")
	mustSay(t, page.body, "Type the short name uliege to confirm")
	if r := b.post(orgPath(o)+"/delete", url.Values{"confirm": {"wrong"}}); r.status != http.StatusBadRequest {
		t.Fatalf("delete without confirmation: %d", r.status)
	}
	if _, err := env.store.GetOrganisation(ctx, o.ID); err != nil {
		t.Fatalf("deleted without confirmation: %v", err)
	}
	r := b.post(orgPath(o)+"/delete", url.Values{"confirm": {"uliege"}})
	if r.status != http.StatusSeeOther || r.location != "/constituency?done=organisation-deleted" {
		t.Fatalf("delete: %d %q", r.status, r.location)
	}
	if _, err := env.store.GetOrganisation(ctx, o.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("still there: %v", err)
	}
	if _, ok := env.directory.OwnerOf(netip.MustParseAddr("192.0.2.9"), 0, ""); ok {
		t.Fatal("the pipeline still tags the deleted organisation")
	}
	if r := b.get(orgPath(o)); r.status != http.StatusNotFound {
		t.Fatalf("page of a deleted organisation: %d", r.status)
	}
}

// deleteWithUsers checks that an organisation with portal accounts is not
// deleted.
func (s *organisationLifecycle) deleteWithUsers(t *testing.T) {
	env, b := s.env, s.b
	held := env.createOrganisation(constituency.Organisation{Handle: "held", Name: "Held", Language: "en"})
	u := env.addUser("held-user", auth.RoleConstituent, "the constituent's passphrase")
	u.OrgID = held.ID
	if err := env.store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	b.get(orgPath(held) + "/delete")
	r := b.post(orgPath(held)+"/delete", url.Values{"confirm": {"held"}})
	if r.status != http.StatusConflict {
		t.Fatalf("status %d", r.status)
	}
	mustSay(t, r.body, "Portal accounts belong to this organisation")
	mustSay(t, b.get(orgPath(held)).body, "held-user")
}

func TestOrganisationValidation(t *testing.T) {
	env := newTeamEnv(t, nil)
	env.createOrganisation(constituency.Organisation{Handle: "demo-college", Name: "Demo College", Language: "nl",
		Networks: prefixes("198.51.100.0/24"), ASNs: []uint32{64497}, Domains: []string{"college.example"}})
	b := env.admin()
	b.get("/constituency/new")
	form := organisationValues(map[string]string{
		"name": "Broken <Org>", "handle": "broken", "language": "en",
		"networks": "192.0.2.7/24\n198.51.100.0/24\nnot-a-network", "asns": "AS64497\nASx", "domains": "college.example",
	}, map[string]string{"name": "Someone", "email": "not an address", "role": "abuse", "notify": "on"})
	r := b.post("/constituency/new", form)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d", r.status)
	}
	mustSay(t, r.body,
		"The organisation was not saved: correct the marked fields.",
		"192.0.2.7/24: host bits are set; the network is 192.0.2.0/24",
		"not-a-network: not an IP address or network",
		"ASx: not an AS number",
	)
	mustContain(t, r.body, `value="Someone"`, `value="Broken &lt;Org&gt;"`, "192.0.2.7/24\n198.51.100.0/24\nnot-a-network", `value="not an address"`)
	if !strings.Contains(text(r.body), "write the address alone") && !strings.Contains(text(r.body), "not an e-mail address") {
		t.Errorf("the bad e-mail address is not explained: %.1500s", text(r.body))
	}
	if n, _ := env.store.CountOrganisations(context.Background(), constituency.OrganisationQuery{}); n != 1 {
		t.Fatalf("%d organisations stored", n)
	}

	t.Run("in the reader's language", func(t *testing.T) {
		env.addUser("admin-fr", auth.RoleAdmin, "the French admin's passphrase")
		fr := env.browser()
		fr.login("admin-fr", "the French admin's passphrase")
		if r := fr.post("/account/language", url.Values{"language": {"fr"}}); r.status != http.StatusSeeOther {
			t.Fatalf("set language: status %d", r.status)
		}
		fr.get("/constituency/new")
		frForm := maps.Clone(form)
		frForm.Del("csrf") // the other browser's
		r := fr.post("/constituency/new", frForm)
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d", r.status)
		}
		mustSay(t, r.body,
			"192.0.2.7/24: des bits d'hôte sont à 1 ; le réseau est 192.0.2.0/24",
			"not-a-network: pas une adresse IP ni un réseau",
			"ASx: pas un numéro d'AS",
		)
		if strings.Contains(text(r.body), "host bits") {
			t.Errorf("English reason on the French page: %.1500s", text(r.body))
		}
	})
	t.Run("overlaps with another organisation", func(t *testing.T) {
		form.Set("networks", "192.0.2.0/24\n198.51.100.0/24")
		form.Set("asns", "AS64497")
		form.Set("c0.email", "noc@broken.example")
		r := b.post("/constituency/new", form)
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d", r.status)
		}
		mustSay(t, r.body,
			"198.51.100.0/24 is already a network of Demo College.",
			"AS64497 is already an AS number of Demo College.",
			"college.example is already a domain of Demo College.",
		)
		if strings.Contains(text(r.body), "192.0.2.0/24 is already") {
			t.Error("a free network is reported as taken")
		}
	})
	t.Run("a network inside another organisation's is a note, not an error", func(t *testing.T) {
		form.Set("networks", "198.51.100.128/25")
		form.Set("asns", "")
		form.Set("domains", "lab.college.example")
		r := b.post("/constituency/new", form)
		if r.status != http.StatusSeeOther {
			t.Fatalf("status %d %.1500s", r.status, text(r.body))
		}
	})
	t.Run("handle taken", func(t *testing.T) {
		r := b.post("/constituency/new", organisationValues(map[string]string{"name": "Another", "handle": "Demo-College", "language": "en"}))
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d", r.status)
		}
		mustSay(t, r.body, "The short name demo-college is already used by Demo College.")
	})
	t.Run("an analyst may edit the constituency", func(t *testing.T) {
		a := env.browser()
		a.login("analyst", analystPassword)
		a.get("/constituency/new")
		r := a.post("/constituency/new", organisationValues(map[string]string{"name": "Analyst's", "handle": "analysts", "language": "de"}))
		if r.status != http.StatusSeeOther {
			t.Fatalf("status %d %.500s", r.status, text(r.body))
		}
	})
}

func TestContactKeyBadges(t *testing.T) {
	env := newTeamEnv(t, nil)
	now := time.Now()
	_, expired := testKey(t, "Old Key", "old@uni.example", now.Add(-400*24*time.Hour), 365*24*time.Hour)
	good, usable := testKey(t, "Good Key", "good@uni.example", now.Add(-time.Hour), 0)
	o := env.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Uni", Language: "en", Contacts: []constituency.Contact{
		{Name: "Old", Email: "old@uni.example", Role: constituency.ContactAbuse, Notify: true, PGPKey: expired},
		{Name: "Good", Email: "good@uni.example", Role: constituency.ContactSecurity, Notify: true, PGPKey: usable},
		{Name: "Plain", Email: "plain@uni.example", Role: constituency.ContactTechnical, Notify: true},
	}})
	b := env.admin()
	expiredOn := now.Add(-35 * 24 * time.Hour).UTC().Format("2006-01-02")
	// The record and the form judge the keys alike.
	for path, table := range map[string]string{orgPath(o): `id="view-contacts"`, orgPath(o) + "/edit": `id="contacts"`} {
		r := b.get(path)
		keys := r.body[strings.Index(r.body, table):]
		mustSay(t, keys,
			"Expired on "+expiredOn+": nothing is sent to this contact until the key is replaced.",
			"usable "+fmt.Sprintf("%X", good.PrimaryKey.Fingerprint)+" Never expires.",
			"No key: notifications are signed, not encrypted.",
		)
		mustContain(t, r.body, `<span class="badge bad keystatus">`, `<span class="badge ok keystatus">`)
	}

	t.Run("a pasted key is judged before saving", func(t *testing.T) {
		r := b.post(orgPath(o), organisationValues(map[string]string{"name": "Uni", "language": "en", "networks": "bad"},
			map[string]string{"name": "Good", "email": "good@uni.example", "role": "security", "key": usable}))
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d", r.status)
		}
		mustSay(t, r.body, fmt.Sprintf("%X", good.PrimaryKey.Fingerprint))
	})
}

func TestLookup(t *testing.T) {
	env := newTeamEnv(t, nil)
	research := env.createOrganisation(constituency.Organisation{Handle: "demo-research", Name: "Research Network", Language: "en",
		Networks: prefixes("198.18.0.0/16"), ASNs: []uint32{64499}})
	lab := env.createOrganisation(constituency.Organisation{Handle: "demo-lab", Name: "Quantum Lab", Language: "en",
		Networks: prefixes("198.18.42.0/24"), Domains: []string{"lab.research.example"}})
	b := env.browser()
	b.login("analyst", analystPassword)
	owner := func(query string) response {
		t.Helper()
		return b.get("/constituency?lookup=" + url.QueryEscape(query))
	}
	for query, want := range map[string][]string{
		"198.18.42.7":              {"Quantum Lab", "network", "198.18.42.0/24"},
		"198.18.1.1":               {"Research Network", "network", "198.18.0.0/16"},
		"AS64499":                  {"Research Network", "AS number", "AS64499"},
		"www.lab.research.example": {"Quantum Lab", "domain", "lab.research.example"},
		"198.18.0.0/16":            {"Research Network", "Quantum Lab"},
	} {
		r := owner(query)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", query, r.status)
		}
		result := r.body[strings.Index(r.body, `id="lookup-result"`):]
		result = result[:strings.Index(result, "</table>")]
		mustSay(t, result, want...)
		// Every owner, the most specific first: the research network
		// around the lab's is named after it.
		if query == "198.18.42.7" && !(strings.Contains(result, "Research Network") &&
			strings.Index(result, "Quantum Lab") < strings.Index(result, "Research Network")) {
			t.Errorf("%s: want the lab, then the research network around it:\n%s", query, text(result))
		}
	}
	mustContain(t, owner("198.18.42.7").body, fmt.Sprintf(`href="/constituency/%d"`, lab.ID))
	mustSay(t, b.get(orgPath(lab)).body, "Note: 198.18.42.0/24: lies inside 198.18.0.0/16 of demo-research; the more specific network wins")
	mustContain(t, owner("198.18.1.1").body, fmt.Sprintf(`href="/constituency/%d"`, research.ID))
	r := owner("203.0.113.1")
	mustSay(t, r.body, "Nobody: 203.0.113.1 belongs to no organisation of the constituency.")
	if strings.Contains(r.body, `id="lookup-result"`) {
		t.Error("an owner is shown for nobody's address")
	}
	if r := owner("not a thing!"); r.status != http.StatusBadRequest || !strings.Contains(text(r.body), "Not an IP address, network") {
		t.Errorf("bad query: %d %.300s", r.status, text(r.body))
	}

	t.Run("without a directory the store answers", func(t *testing.T) {
		plain := newEnv(t, nil)
		plain.addUser("admin", auth.RoleAdmin, adminPassword)
		plain.createOrganisation(constituency.Organisation{Handle: "x", Name: "Org X", Language: "en", Networks: prefixes("10.0.0.0/8")})
		r := plain.admin().get("/constituency?lookup=10.1.2.3")
		mustSay(t, r.body, "Org X")
	})
}

func TestOrganisationListAndSearch(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	var orgs []constituency.Organisation
	for i := range 55 {
		sector := "education"
		if i%5 == 0 {
			sector = "government"
		}
		orgs = append(orgs, constituency.Organisation{Handle: fmt.Sprintf("org-%02d", i), Name: fmt.Sprintf("Organisation %02d", i),
			Sector: sector, Language: "en", Networks: prefixes(fmt.Sprintf("10.%d.0.0/16", i))})
	}
	if _, err := env.store.ImportOrganisations(ctx, orgs, false); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.login("analyst", analystPassword)
	r := b.get("/constituency")
	mustSay(t, r.body, "55 organisations")
	if n := strings.Count(r.body, `class="org-link"`); n != organisationsPerPage {
		t.Fatalf("%d rows on the first page", n)
	}
	mustContain(t, r.body, `href="/constituency?page=2" id="next"`)
	r = b.get("/constituency?page=2")
	if n := strings.Count(r.body, `class="org-link"`); n != 5 || !strings.Contains(r.body, "Organisation 54") {
		t.Fatalf("%d rows on the second page", n)
	}
	r = b.get("/constituency?q=government")
	mustSay(t, r.body, "11 organisations")
	if strings.Contains(r.body, "Organisation 01") {
		t.Error("search ignored")
	}
	if r := b.get("/constituency?page=999999999999999999999"); r.status != http.StatusOK {
		t.Errorf("absurd page: %d", r.status)
	}
}

func TestChangeRequests(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	o := env.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Uni", Language: "en"})
	u := env.addUser("uni-user", auth.RoleConstituent, "the constituent's passphrase")
	var reqs []constituency.ChangeRequest
	for i, text := range []string{"Please add 192.0.2.0/24", "Our abuse address changed", "Remove Bob"} {
		req := constituency.ChangeRequest{OrgID: o.ID, UserID: u.ID, Actor: u.Name, Text: text, Created: time.Now().Add(time.Duration(i) * time.Minute)}
		if err := env.store.AddChangeRequest(ctx, &req); err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, req)
	}
	if err := env.store.MarkChangeRequestDone(ctx, reqs[2].ID); err != nil {
		t.Fatal(err)
	}
	b := env.admin()
	r := b.get("/constituency/requests")
	mustSay(t, r.body, "2 open.")
	first, second, done := strings.Index(r.body, "Our abuse address changed"), strings.Index(r.body, "Please add"), strings.Index(r.body, "Remove Bob")
	if first < 0 || second < first || done < second {
		t.Fatalf("not open first, newest first: %d %d %d", first, second, done)
	}
	r = b.post(fmt.Sprintf("/constituency/requests/%d/done", reqs[0].ID), url.Values{"back": {"org"}})
	if r.status != http.StatusSeeOther || r.location != orgPath(o)+"?done=request-done" {
		t.Fatalf("mark done: %d %q", r.status, r.location)
	}
	open, err := env.store.ListChangeRequests(ctx, o.ID, false)
	if err != nil || len(open) != 1 || open[0].ID != reqs[1].ID {
		t.Fatalf("open after marking: %+v %v", open, err)
	}
	mustSay(t, b.get(orgPath(o)).body, "Our abuse address changed", "Mark handled")
	if r := b.post("/constituency/requests/999999/done", url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("unknown request: %d", r.status)
	}
	if !contains(env.auditActions(), "changerequest.done") {
		t.Error("not audited")
	}
}

func TestConstituentUsers(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	o := env.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Uni of Somewhere", Language: "en"})
	b := env.admin()
	r := b.get("/users")
	mustContain(t, r.body, fmt.Sprintf(`<option value="%d">Uni of Somewhere (uni)</option>`, o.ID), `<option value="constituent">constituent</option>`)
	org := strconv.FormatInt(o.ID, 10)
	for name, tc := range map[string]struct {
		form url.Values
		want string
	}{
		"constituent without organisation": {url.Values{"name": {"c1"}, "role": {"constituent"}, "org": {"0"}}, "A constituent account belongs to an organisation"},
		"analyst with organisation":        {url.Values{"name": {"c2"}, "role": {"analyst"}, "org": {org}}, "Only constituent accounts belong to an organisation"},
		"unknown organisation":             {url.Values{"name": {"c3"}, "role": {"constituent"}, "org": {"424242"}}, "This organisation does not exist any more."},
	} {
		tc.form.Set("password", "a long enough passphrase")
		r := b.post("/users", tc.form)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d", name, r.status)
		}
		mustSay(t, r.body, tc.want)
	}
	r = b.post("/users", url.Values{"name": {"uni-csirt"}, "role": {"constituent"}, "org": {org}, "password": {"a long enough passphrase"}, "language": {"en"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %.300s", r.status, text(r.body))
	}
	u, err := env.store.GetUserByName(ctx, "uni-csirt")
	if err != nil || u.Role != auth.RoleConstituent || u.OrgID != o.ID {
		t.Fatalf("%+v %v", u, err)
	}
	mustContain(t, b.get("/users").body, fmt.Sprintf(`<a href="/constituency/%d">Uni of Somewhere</a>`, o.ID))
	mustSay(t, b.get(orgPath(o)).body, "uni-csirt")
	cb := env.browser()
	cb.login("uni-csirt", "a long enough passphrase")
	if r := cb.get("/portal/organisation"); r.status != http.StatusOK || !strings.Contains(r.body, "Uni of Somewhere") {
		t.Fatalf("the new account's portal: %d", r.status)
	}

	t.Run("role changes", func(t *testing.T) {
		a, err := env.store.GetUserByName(ctx, "analyst")
		if err != nil {
			t.Fatal(err)
		}
		b.get("/users")
		if r := b.post(fmt.Sprintf("/users/%d", a.ID), url.Values{"action": {"role"}, "role": {"constituent"}}); r.status != http.StatusBadRequest {
			t.Fatalf("analyst made constituent without organisation: %d", r.status)
		}
		b.get("/users")
		if r := b.post(fmt.Sprintf("/users/%d", u.ID), url.Values{"action": {"role"}, "role": {"analyst"}}); r.status != http.StatusSeeOther {
			t.Fatalf("constituent made analyst: %d", r.status)
		}
		if got, _ := env.store.GetUser(ctx, u.ID); got.Role != auth.RoleAnalyst || got.OrgID != 0 {
			t.Fatalf("after the change: %+v", got)
		}
	})
}
