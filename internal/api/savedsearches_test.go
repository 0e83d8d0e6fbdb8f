package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
)

// savedList returns the names of the caller's saved searches, with an
// owner prefix for others' and a star for shared ones.
func (f *fixture) savedList(user string) []string {
	f.t.Helper()
	r := f.get("/saved-searches", user)
	if r.status != http.StatusOK {
		f.t.Fatalf("list as %s: %d %s", user, r.status, r.body)
	}
	var out struct {
		SavedSearches []savedSearchJSON `json:"saved_searches"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		f.t.Fatal(err)
	}
	names := []string{}
	for _, s := range out.SavedSearches {
		n := s.Name
		if !s.Mine {
			n = s.Owner + "/" + n
		}
		if s.Shared {
			n += "*"
		}
		names = append(names, n)
	}
	return names
}

// createSaved saves a search as user and returns its path.
func (f *fixture) createSaved(user, body string) string {
	f.t.Helper()
	r := f.postJSON("/saved-searches", user, body)
	if r.status != http.StatusCreated {
		f.t.Fatalf("create as %s: %d %s", user, r.status, r.body)
	}
	var s savedSearchJSON
	if err := json.Unmarshal(r.body, &s); err != nil {
		f.t.Fatal(err)
	}
	path := "/saved-searches/" + strconv.FormatInt(s.ID, 10)
	if loc := r.header.Get("Location"); loc != "/api/v1"+path {
		f.t.Errorf("Location %q", loc)
	}
	return path
}

// TestSavedSearchesAPI: save, list, run (as GET /events runs the same
// filters) and delete; sharing audited.
func TestSavedSearchesAPI(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	rdp := f.createSaved("ana", `{"name":"RDP","query":"feed=scan-rdp&sort=source.ip&group=type&asn="}`)
	bot := f.createSaved("ana", `{"name":"Bots","query":"type=infected-system","shared":true}`)
	if e := f.lastAudit(); e.Action != "savedsearch.share" || e.Target != "Bots" || e.Actor != "ana" || !strings.Contains(e.Detail, " by ana: ") {
		t.Errorf("audit %+v", e)
	}
	f.createSaved("ada", `{"name":"Admin's own","query":"tlp=RED"}`)
	if got, want := f.savedList("ana"), []string{"Bots*", "RDP"}; !slices.Equal(got, want) {
		t.Errorf("ana's list %q, want %q", got, want)
	}
	if got, want := f.savedList("ada"), []string{"Admin's own", "ana/Bots*"}; !slices.Equal(got, want) {
		t.Errorf("ada's list %q, want %q", got, want)
	}
	var one savedSearchJSON
	if r := f.get(rdp, "ana"); r.status != http.StatusOK || json.Unmarshal(r.body, &one) != nil || one.Query != "feed=scan-rdp&group=type&sort=source.ip" {
		t.Fatalf("GET %s: %d %s", rdp, r.status, r.body)
	}

	// Run: the same events as the search route gives for the query, in
	// its sort and with its grouping; a file newest first.
	for _, tc := range []struct{ saved, search string }{
		{rdp + "/events", "/events?feed=scan-rdp&sort=source.ip&group=type"},
		{rdp + "/events?limit=1", "/events?feed=scan-rdp&limit=1&sort=source.ip&group=type"},
		{rdp + "/events?format=csv", "/events?feed=scan-rdp&format=csv"},
		{bot + "/events?format=jsonl", "/events?type=infected-system&format=jsonl"},
		{bot + "/events?format=csv&columns=source.ip", "/events?type=infected-system&format=csv&columns=source.ip"},
	} {
		got, want := f.get(tc.saved, "ana"), f.get(tc.search, "ana")
		if got.status != http.StatusOK || string(got.body) != string(want.body) {
			t.Errorf("%s: %d\n%s\nwant (%s)\n%s", tc.saved, got.status, got.body, tc.search, want.body)
		}
	}
	var page eventPageJSON
	if r := f.get(rdp+"/events?limit=1", "ana"); json.Unmarshal(r.body, &page) != nil || len(page.Events) != 1 || page.Next == "" {
		t.Fatalf("first page %s", r.body)
	}
	if r := f.get(rdp+"/events?limit=1&cursor="+page.Next, "ana"); r.status != http.StatusOK || !strings.Contains(string(r.body), "rdp") {
		t.Errorf("second page: %d %s", r.status, r.body)
	}
	// Filters come from the saved search only.
	wantError(t, f.get(rdp+"/events?ip=192.0.2.10", "ana"), http.StatusBadRequest, "bad_parameter", "ip")

	if r := f.do("DELETE", rdp, "ana", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantError(t, f.get(rdp, "ana"), http.StatusNotFound, "not_found", "")
	if got := f.savedList("ana"); !slices.Equal(got, []string{"Bots*"}) {
		t.Errorf("after delete %q", got)
	}
}

// TestSavedSearchesAPIRefusals keeps the attacker's and the careless
// caller's tries: another's private search is missing, a shared one is
// deleted by its owner or an admin only, constituents and publishers are
// refused, and bad input says what is wrong.
func TestSavedSearchesAPIRefusals(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	ana2 := auth.User{Name: "ana2", Email: "ana2@cert.example", Role: auth.RoleAnalyst, Language: "en", PasswordHash: "unused"}
	if err := f.store.CreateUser(t.Context(), &ana2); err != nil {
		t.Fatal(err)
	}
	f.tokens["ana2"] = f.newToken(ana2.ID, "ana2-script")
	private := f.createSaved("ana", `{"name":"Private","query":"ip=192.0.2.10"}`)
	shared := f.createSaved("ana", `{"name":"Shared","query":"feed=sinkhole","shared":true}`)

	for _, user := range []string{"ana2", "ada"} {
		if got := f.savedList(user); slices.Contains(got, "ana/Private") {
			t.Errorf("%s lists ana's private search", user)
		}
		for _, path := range []string{private, private + "/events"} {
			wantError(t, f.get(path, user), http.StatusNotFound, "not_found", "")
		}
		wantError(t, f.do("DELETE", private, user, nil), http.StatusNotFound, "not_found", "")
	}
	wantError(t, f.do("DELETE", shared, "ana2", nil), http.StatusForbidden, "forbidden", "")
	if r := f.get(shared+"/events", "ana2"); r.status != http.StatusOK {
		t.Errorf("a colleague runs a shared search: %d", r.status)
	}
	// Constituents and publishers have no saved-search routes at all.
	for _, user := range []string{"ca", "pub"} {
		wantError(t, f.get("/saved-searches", user), http.StatusForbidden, "forbidden", "")
		wantError(t, f.get(shared, user), http.StatusForbidden, "forbidden", "")
		wantError(t, f.get(shared+"/events", user), http.StatusForbidden, "forbidden", "")
		wantError(t, f.postJSON("/saved-searches", user, `{"name":"x","query":""}`), http.StatusForbidden, "forbidden", "")
		wantError(t, f.do("DELETE", shared, user, nil), http.StatusForbidden, "forbidden", "")
	}
	// The admin may delete the shared one, audited with its owner.
	if r := f.do("DELETE", shared, "ada", nil); r.status != http.StatusNoContent {
		t.Fatalf("admin's delete: %d %s", r.status, r.body)
	}
	if e := f.lastAudit(); e.Action != "savedsearch.delete" || e.Actor != "ada" || !strings.Contains(e.Detail, "by ana") {
		t.Errorf("audit %+v", e)
	}

	for _, tc := range []struct {
		body       string
		status     int
		code, para string
	}{
		{`{"name":"","query":"ip=192.0.2.1"}`, http.StatusBadRequest, "bad_parameter", "name"},
		{`{"name":"` + strings.Repeat("x", 101) + `","query":""}`, http.StatusBadRequest, "bad_parameter", "name"},
		{`{"name":"x","query":"ip=nope"}`, http.StatusBadRequest, "bad_parameter", "query"},
		{`{"name":"x","query":"cursor=abc"}`, http.StatusBadRequest, "bad_parameter", "query"},
		{`{"name":"x","query":"sort=nonsense"}`, http.StatusBadRequest, "bad_parameter", "query"},
		{`{"name":"x","query":"url=http://example.org/` + strings.Repeat("a", 2100) + `"}`, http.StatusBadRequest, "bad_parameter", "query"},
		{`{"name":"Private","query":""}`, http.StatusConflict, "name_taken", "name"},
		{`{"name":"x","query":"","owner":"ada"}`, http.StatusBadRequest, "", ""},
		{`[]`, http.StatusBadRequest, "", ""},
	} {
		r := f.postJSON("/saved-searches", "ana", tc.body)
		if tc.code == "" {
			if r.status != tc.status {
				t.Errorf("%.40s: %d, want %d", tc.body, r.status, tc.status)
			}
			continue
		}
		wantError(t, r, tc.status, tc.code, tc.para)
	}
	wantError(t, f.get("/saved-searches/abc", "ana"), http.StatusBadRequest, "bad_parameter", "id")
	wantError(t, f.get("/saved-searches?x=1", "ana"), http.StatusBadRequest, "bad_parameter", "x")
}

// TestSavedSearchViewAPI: a saved search keeps its columns (the table's,
// in its order; an unknown one refused), and its run answers in its sort
// with its grouping's counts.
func TestSavedSearchViewAPI(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	path := f.createSaved("ana", `{"name":"Bulk","query":"feed=bulk&sort=source.ip&dir=asc&group=type","columns":["feed.name","source.ip"]}`)
	one := decode[savedSearchJSON](t, f.get(path, "ana"))
	if !slices.Equal(one.Columns, []string{"source.ip", "feed.name"}) {
		t.Errorf("columns %q", one.Columns)
	}
	if plain := decode[savedSearchJSON](t, f.get(f.createSaved("ana", `{"name":"Plain","query":"feed=bulk"}`), "ana")); plain.Columns == nil || len(plain.Columns) != 0 {
		t.Errorf("a search without columns: %#v", plain.Columns)
	}
	wantError(t, f.postJSON("/saved-searches", "ana", `{"name":"x","query":"","columns":["password"]}`), http.StatusBadRequest, "bad_parameter", "columns")
	wantError(t, f.postJSON("/saved-searches", "ana", `{"name":"x","query":"","columns":["source.ip","source.ip"]}`), http.StatusBadRequest, "bad_parameter", "columns")

	page := decode[eventPageJSON](t, f.get(path+"/events?limit=5", "ana"))
	var ips []string
	for _, e := range page.Events {
		ips = append(ips, e.Event.Value("source.ip"))
	}
	if want := []string{"198.51.100.0", "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"}; !slices.Equal(ips, want) {
		t.Errorf("rows %q, want the addresses in ascending order %q", ips, want)
	}
	if len(page.Groups) != 1 || page.Groups[0].Value != "scanner" || page.Groups[0].Count != bulkEvents {
		t.Errorf("groups %+v, want scanner: %d", page.Groups, bulkEvents)
	}
}
