package api

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// organisationSteps is what the steps of TestOrganisationsReadAndWrite
// share: the fixture, its team data and the organisation the create step
// makes, which the later steps replace and delete.
type organisationSteps struct {
	f       *fixture
	d       teamData
	labPath string
	created teamOrganisationJSON
}

func TestOrganisationsReadAndWrite(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	s := &organisationSteps{f: f, d: d, labPath: "/organisations/" + strconv.FormatInt(d.lab.ID, 10)}

	t.Run("list and search", s.listAndSearch)
	t.Run("read", s.read)
	t.Run("create", s.create)
	t.Run("create refuses what the console refuses", s.createRefusesWhatConsoleRefuses)
	t.Run("replace", s.replace)
	t.Run("delete", s.delete)
	t.Run("delete is refused while accounts belong to it", s.deleteRefusedWhileAccountsBelong)
}

// listAndSearch is the subtest "list and search" of TestOrganisationsReadAndWrite.
func (s *organisationSteps) listAndSearch(t *testing.T) {
	f := s.f
	r := f.get("/organisations", "ana")
	checkSchema(t, "OrganisationList", r.body)
	list := decode[organisationListJSON](t, r)
	if list.Total != 2 || len(list.Organisations) != 2 || list.Organisations[0].Handle != "lab" {
		t.Fatalf("list %s", r.body)
	}
	r = f.get("/organisations?q=PHYSICS", "ana")
	if list = decode[organisationListJSON](t, r); list.Total != 1 || list.Organisations[0].Handle != "lab" {
		t.Fatalf("search %s", r.body)
	}
	r = f.get("/organisations?limit=1&offset=1", "ana")
	if list = decode[organisationListJSON](t, r); list.Total != 2 || len(list.Organisations) != 1 || list.Organisations[0].Handle != "research" {
		t.Fatalf("page 2 %s", r.body)
	}
	wantError(t, f.get("/organisations?limit=0", "ana"), http.StatusBadRequest, "bad_parameter", "limit")
	wantError(t, f.get("/organisations?offset=-1", "ana"), http.StatusBadRequest, "bad_parameter", "offset")
}

// read is the subtest "read" of TestOrganisationsReadAndWrite.
func (s *organisationSteps) read(t *testing.T) {
	f := s.f
	d := s.d
	labPath := s.labPath
	r := f.get(labPath, "ana")
	checkSchema(t, "TeamOrganisation", r.body)
	o := decode[teamOrganisationJSON](t, r)
	if o.Handle != "lab" || o.Name != d.lab.Name || len(o.Contacts) != 1 || o.Contacts[0].Email != "cert@lab.example.org" {
		t.Fatalf("lab %s", r.body)
	}
	wantError(t, f.get("/organisations/999999", "ana"), http.StatusNotFound, "not_found", "")
	wantError(t, f.get("/organisations/lab", "ana"), http.StatusBadRequest, "bad_parameter", "id")
}

// create is the subtest "create" of TestOrganisationsReadAndWrite.
func (s *organisationSteps) create(t *testing.T) {
	f := s.f
	r := f.postJSON("/organisations", "ana", `{"handle":"Hospital","name":"  City Hospital ","country":"be","language":"nl",
			"networks":["10.1.3.0/24","192.0.2.7"],"asns":[64501,"AS64502"],"domains":["Hospital.example."],
			"contacts":[{"name":"Desk","email":"desk@hospital.example","role":"security","notify":true}]}`)
	s.created = decodeCreated[teamOrganisationJSON](t, r)
	checkSchema(t, "TeamOrganisation", r.body)
	if s.created.Handle != "hospital" || s.created.Name != "City Hospital" || s.created.Country != "BE" ||
		s.created.Networks[0].String() != "10.1.3.0/24" || s.created.Networks[1].String() != "192.0.2.7/32" ||
		s.created.ASNs[1] != 64502 || s.created.Domains[0] != "hospital.example" || s.created.Contacts[0].ID == 0 {
		t.Fatalf("created %s", r.body)
	}
	// Its network lies inside the research network's: allowed, and said.
	if len(s.created.CheckNotes) != 1 || !strings.Contains(s.created.CheckNotes[0], "10.0.0.0/8") {
		t.Errorf("check notes %q", s.created.CheckNotes)
	}
	if a := f.lastAudit(); a.Action != "organisation.create" || a.Target != "hospital" || a.Actor != "ana" ||
		!strings.HasPrefix(a.Detail, "2 networks, 2 AS numbers, 1 domains, 1 contacts") {
		t.Errorf("audit %+v", a)
	}
	owners := decode[ownersJSON](t, f.get("/owners?q=10.1.3.9", "ana"))
	if len(owners.Owners) != 2 || owners.Owners[0].Handle != "hospital" {
		t.Errorf("the lookup does not know it yet: %+v", owners)
	}
}

// createRefusesWhatConsoleRefuses is the subtest "create refuses what the console refuses" of TestOrganisationsReadAndWrite.
func (s *organisationSteps) createRefusesWhatConsoleRefuses(t *testing.T) {
	f := s.f
	labPath := s.labPath
	r := f.postJSON("/organisations", "ana", `{"handle":"Bad Name","name":"","language":"xx","country":"Belgium",
			"networks":["10.1.2.0/24","192.0.2.7/24","nonsense"],"asns":["AS64500",0],"domains":["lab.example.org"],
			"contacts":[{"email":"not an address","role":"boss"}]}`)
	wantError(t, r, http.StatusBadRequest, "invalid_organisation", "")
	var body errorBody
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, p := range body.Error.Problems {
		key := p.Field
		if p.Contact > 0 {
			key = "contact " + key
		}
		got[key]++
		if p.Reason == "" {
			t.Errorf("problem without a reason: %+v", p)
		}
	}
	// Every problem at once: the handle, name, language and country;
	// the network taken by the lab, the one with host bits and the
	// one that does not parse; the AS of the research network and AS
	// 0; the lab's domain; the contact's address and role.
	for key, n := range map[string]int{"handle": 1, "name": 1, "language": 1, "country": 1, "networks": 3, "asns": 2,
		"domains": 1, "contact email": 1, "contact role": 1} {
		if got[key] != n {
			t.Errorf("%s: %d problems, want %d (%s)", key, got[key], n, r.body)
		}
	}
	wantError(t, f.postJSON("/organisations", "ana", `{"handle":"lab","name":"Another"}`), http.StatusBadRequest, "invalid_organisation", "")
	wantError(t, f.postJSON("/organisations", "ana", `{"handle":"x","name":"X","networks":"10.0.0.0/8"}`), http.StatusBadRequest, "bad_parameter", "networks")
	wantError(t, f.postJSON("/organisations", "ana", `{"handle":"x","name":"X","asns":[true]}`), http.StatusBadRequest, "bad_parameter", "asns")
	wantError(t, f.postJSON("/organisations", "ana", `{"handle":"x","name":"X","owner":"me"}`), http.StatusBadRequest, "bad_parameter", "owner")
	wantError(t, f.postJSON("/organisations?dry_run=1", "ana", `{"handle":"x","name":"X"}`), http.StatusBadRequest, "bad_parameter", "dry_run")
	wantError(t, f.do("POST", "/organisations", "ana", strings.NewReader(`{"handle":"x","name":"X"}`)), http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	r = f.sendJSON("PATCH", labPath, "ana", `{"name":"X"}`)
	wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed", "")
	if allow := r.header.Get("Allow"); allow != "GET, PUT, DELETE, HEAD" {
		t.Errorf("Allow %q", allow)
	}
	if list := decode[organisationListJSON](t, f.get("/organisations", "ana")); list.Total != 3 {
		t.Errorf("%d organisations after refused creates", list.Total)
	}
}

// replace is the subtest "replace" of TestOrganisationsReadAndWrite.
func (s *organisationSteps) replace(t *testing.T) {
	f := s.f
	path := "/organisations/" + strconv.FormatInt(s.created.ID, 10)
	contactID := s.created.Contacts[0].ID
	r := f.sendJSON("PUT", path, "ana", `{"name":"City Hospital","language":"en","notes":"`+strings.Repeat("A long note. ", 40)+`",
			"networks":["10.1.4.0/24"],"contacts":[{"email":"desk@hospital.example","role":"security","notify":false},
			{"email":"ciso@hospital.example","role":"management"}]}`)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	checkSchema(t, "TeamOrganisation", r.body)
	o := decode[teamOrganisationJSON](t, r)
	if o.Handle != "hospital" || len(o.Networks) != 1 || o.ASNs == nil || len(o.ASNs) != 0 || len(o.Contacts) != 2 || o.Created.IsZero() {
		t.Fatalf("replaced %s", r.body)
	}
	for _, c := range o.Contacts {
		if c.Email == "desk@hospital.example" && (c.ID != contactID || c.Notify) {
			t.Errorf("the desk contact %+v: want id %d kept, notify off", c, contactID)
		}
	}
	if a := f.lastAudit(); a.Action != "organisation.update" || a.Target != "hospital" {
		t.Errorf("audit %+v", a)
	}
	wantError(t, f.sendJSON("PUT", path, "ana", `{"handle":"clinic","name":"City Hospital"}`), http.StatusBadRequest, "bad_parameter", "handle")
	wantError(t, f.sendJSON("PUT", path, "ana", `{"name":"City Hospital","networks":["10.1.2.0/24"]}`), http.StatusBadRequest, "invalid_organisation", "")
	wantError(t, f.sendJSON("PUT", "/organisations/999999", "ana", `{"name":"X"}`), http.StatusNotFound, "not_found", "")
	if r := f.sendJSON("PUT", path, "ana", `{"handle":"hospital","name":"City Hospital"}`); r.status != http.StatusOK {
		t.Errorf("the same handle: %d %s", r.status, r.body)
	}
}

// delete is the subtest "delete" of TestOrganisationsReadAndWrite.
func (s *organisationSteps) delete(t *testing.T) {
	f := s.f
	path := "/organisations/" + strconv.FormatInt(s.created.ID, 10)
	r := f.do("DELETE", path, "ana", nil)
	if r.status != http.StatusNoContent || len(r.body) != 0 || r.header.Get("Content-Type") != "" {
		t.Fatalf("%d %q %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if a := f.lastAudit(); a.Action != "organisation.delete" || a.Target != "hospital" {
		t.Errorf("audit %+v", a)
	}
	wantError(t, f.get(path, "ana"), http.StatusNotFound, "not_found", "")
	wantError(t, f.do("DELETE", path, "ana", nil), http.StatusNotFound, "not_found", "")
	if owners := decode[ownersJSON](t, f.get("/owners?q=10.1.4.9", "ana")); len(owners.Owners) != 1 || owners.Owners[0].Handle != "research" {
		t.Errorf("the lookup still names it: %+v", owners)
	}
	// A retired short name is never given again.
	r = f.postJSON("/organisations", "ana", `{"handle":"hospital","name":"New Hospital"}`)
	wantError(t, r, http.StatusBadRequest, "invalid_organisation", "")
	if !strings.Contains(string(r.body), "never given again") {
		t.Errorf("retired handle: %s", r.body)
	}
}

// deleteRefusedWhileAccountsBelong is the subtest "delete is refused while accounts belong to it" of TestOrganisationsReadAndWrite.
func (s *organisationSteps) deleteRefusedWhileAccountsBelong(t *testing.T) {
	f := s.f
	d := s.d
	labPath := s.labPath
	r := f.postJSON("/users", "ada", `{"name":"labuser","role":"constituent","organisation_id":`+strconv.FormatInt(d.lab.ID, 10)+
		`,"password":"a long enough password"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("%d %s", r.status, r.body)
	}
	wantError(t, f.do("DELETE", labPath, "ana", nil), http.StatusConflict, "organisation_has_users", "")
	if r := f.get(labPath, "ana"); r.status != http.StatusOK {
		t.Errorf("the lab is gone: %d", r.status)
	}
}

// TestOrganisationChangesReachThePipeline checks that a change through the
// API rebuilds the pipeline's table at once, as one in the console does,
// and that "who owns this?" answers from that table.
func TestOrganisationChangesReachThePipeline(t *testing.T) {
	f := newFixture(t, fixtureOptions{directory: true})
	if owners := decode[ownersJSON](t, f.get("/owners?q=10.7.0.1", "ana")); len(owners.Owners) != 0 {
		t.Fatalf("owners before: %+v", owners)
	}
	r := f.postJSON("/organisations", "ana", `{"handle":"seven","name":"Seven","networks":["10.7.0.0/16"]}`)
	created := decodeCreated[teamOrganisationJSON](t, r)
	if owner, ok := f.directory.OwnerOf(netip.MustParseAddr("10.7.0.1"), 0, ""); !ok || owner != "seven" {
		t.Fatalf("the pipeline's table after a create: %q %v", owner, ok)
	}
	if owners := decode[ownersJSON](t, f.get("/owners?q=10.7.0.1", "ana")); len(owners.Owners) != 1 || owners.Owners[0].Handle != "seven" {
		t.Fatalf("owners after: %+v", owners)
	}
	path := "/organisations/" + strconv.FormatInt(created.ID, 10)
	if r := f.sendJSON("PUT", path, "ana", `{"name":"Seven","networks":["10.8.0.0/16"]}`); r.status != http.StatusOK {
		t.Fatalf("replace: %d %s", r.status, r.body)
	}
	if owner, ok := f.directory.OwnerOf(netip.MustParseAddr("10.8.0.1"), 0, ""); !ok || owner != "seven" {
		t.Fatalf("the pipeline's table after a replace: %q %v", owner, ok)
	}
	if r := f.do("DELETE", path, "ana", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if owner, ok := f.directory.OwnerOf(netip.MustParseAddr("10.8.0.1"), 0, ""); ok {
		t.Fatalf("the pipeline's table after a delete still names %q", owner)
	}
}
