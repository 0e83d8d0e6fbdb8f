package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
)

// pubData are the fixture's publications by what they are: published
// at each label, and a CLEAR draft.
type pubData map[string]publication.Publication

// publications writes, through the service, a publication published at
// each TLP label (written by ana, approved and published by pub) and a
// CLEAR draft.
func (f *fixture) publications() pubData {
	f.t.Helper()
	ctx := f.t.Context()
	svc := &publication.Service{Store: f.store.Publications, Audit: f.store}
	author := publication.Actor{UserID: f.users["ana"].ID, Name: "ana"}
	approver := publication.Actor{UserID: f.users["pub"].ID, Name: "pub"}
	out := pubData{}
	for _, tlp := range []publication.TLP{publication.TLPClear, publication.TLPGreen, publication.TLPAmber, publication.TLPRed, "draft"} {
		label, publish := tlp, true
		if tlp == "draft" {
			label, publish = publication.TLPClear, false
		}
		c := publication.Content{Severity: "high", TLP: label, Texts: []publication.Text{{Lang: "en", Title: "Title " + string(tlp), Body: "secret-" + string(tlp)}}}
		p, err := svc.Create(ctx, author, publication.KindAdvisory, c, "")
		if err != nil {
			f.t.Fatal(err)
		}
		if publish {
			for _, step := range []func() (publication.Publication, error){
				func() (publication.Publication, error) { return svc.Submit(ctx, author, p.ID) },
				func() (publication.Publication, error) { return svc.Approve(ctx, approver, p.ID) },
				func() (publication.Publication, error) { return svc.Publish(ctx, approver, p.ID) },
			} {
				if p, err = step(); err != nil {
					f.t.Fatal(err)
				}
			}
		}
		out[string(tlp)] = p
	}
	return out
}

// publicationCalls are the successful calls of the publication routes,
// for TestOpenAPIMatchesRoutes, on publications it writes.
func (f *fixture) publicationCalls() map[string]struct {
	path, body string
	status     int
} {
	d := f.publications()
	draft := "/publications/" + d["draft"].Ident
	return map[string]struct {
		path, body string
		status     int
	}{
		"GET /publications/{ident}":           {path: "/publications/" + d["CLEAR"].Ident},
		"PATCH /publications/{ident}":         {path: draft, body: `{"tags":["rdp"]}`},
		"POST /publications/{ident}/{action}": {path: draft + "/submit"},
		"POST /publications":                  {body: `{"kind":"news","severity":"low","tlp":"CLEAR","texts":[{"lang":"en","title":"News"}]}`, status: http.StatusCreated},
	}
}

// listed returns the titles a list answer holds.
func listed(t *testing.T, r response) []string {
	t.Helper()
	var page struct {
		Publications []publicationJSON `json:"publications"`
	}
	if r.status != http.StatusOK {
		t.Fatalf("list: status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range page.Publications {
		out = append(out, p.Content.Texts[0].Title)
	}
	slices.Sort(out)
	return out
}

// TestPublicationsByReader: without a token only what is public is seen,
// never GREEN, AMBER, RED or a draft; a constituent sees CLEAR and GREEN;
// the team sees everything; a bad token is refused.
func TestPublicationsByReader(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	d := f.publications()
	tests := []struct {
		who     string
		visible []string
	}{
		{"", []string{"CLEAR"}},
		{"ca", []string{"CLEAR", "GREEN"}},
		{"ana", []string{"AMBER", "CLEAR", "GREEN", "RED", "draft"}},
		{"pub", []string{"AMBER", "CLEAR", "GREEN", "RED", "draft"}},
	}
	for _, tt := range tests {
		t.Run("reader "+tt.who, func(t *testing.T) {
			var want []string
			for _, v := range tt.visible {
				want = append(want, "Title "+v)
			}
			if got := listed(t, f.get("/publications", tt.who)); !slices.Equal(got, want) {
				t.Errorf("list: %q, want %q", got, want)
			}
			// offset=0 is the first page.
			if got := listed(t, f.get("/publications?offset=0", tt.who)); !slices.Equal(got, want) {
				t.Errorf("list with offset=0: %q, want %q", got, want)
			}
			for key, p := range d {
				r := f.get("/publications/"+p.Ident, tt.who)
				seen := slices.Contains(tt.visible, key)
				if seen && r.status != http.StatusOK || !seen && (r.status != http.StatusNotFound || strings.Contains(string(r.body), "secret-")) {
					t.Errorf("GET %s (%s): status %d", p.Ident, key, r.status)
				}
			}
			// Asking for other statuses does not widen what is seen.
			for _, status := range []string{"draft", "review", "withdrawn"} {
				got := listed(t, f.get("/publications?status="+status, tt.who))
				if tt.who == "" || tt.who == "ca" {
					if len(got) != 0 {
						t.Errorf("status=%s: %q", status, got)
					}
				}
			}
		})
	}
	// The token-less answer never holds a restricted label's text.
	r := f.get("/publications?limit=1000", "")
	for _, secret := range []string{"secret-GREEN", "secret-AMBER", "secret-RED", "secret-draft", `"GREEN"`, `"AMBER"`, `"RED"`} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("the public list holds %s", secret)
		}
	}
	// The public get has no team-only fields.
	if body := string(f.get("/publications/"+d["CLEAR"].Ident, "").body); strings.Contains(body, `"author"`) || strings.Contains(body, `"history"`) {
		t.Errorf("public get tells the team's fields: %s", body)
	}
	// A wrong token is refused, not read as none.
	f.tokens["forged"] = "vgl_" + strings.Repeat("A", 52)
	if r := f.get("/publications", "forged"); r.status != http.StatusUnauthorized {
		t.Errorf("forged token: status %d", r.status)
	}
}

// TestPublicationWrites walks a draft through the API: the constituent
// and the anonymous are refused, the author cannot approve (four eyes),
// an analyst cannot publish, a publisher can.
func TestPublicationWrites(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	body := `{"kind":"advisory","severity":"critical","tlp":"CLEAR","cves":["CVE-2026-1234"],
		"texts":[{"lang":"en","title":"Acme flaw","body":"Patch now."},{"lang":"nl","title":"Acme-lek"}],
		"products":[{"Vendor":"Acme","Product":"Gateway","Versions":[{"Introduced":"1.0","Fixed":"1.4"}]}]}`
	if r := f.sendJSON("POST", "/publications", "", body); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous create: status %d", r.status)
	}
	if r := f.sendJSON("POST", "/publications", "ca", body); r.status != http.StatusForbidden {
		t.Errorf("constituent create: status %d", r.status)
	}
	r := f.sendJSON("POST", "/publications", "ana", body)
	var p publicationJSON
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &p) != nil || p.Status != "draft" || p.Author != "ana" || len(p.Content.Products) != 1 {
		t.Fatalf("create: status %d: %s", r.status, r.body)
	}
	path := "/publications/" + p.Ident
	if r := f.sendJSON("PATCH", path, "ana", `{"cves":["CVE-12"]}`); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"parameter":"cves`) {
		t.Errorf("bad CVE: status %d: %s", r.status, r.body)
	}
	if r := f.sendJSON("PATCH", path, "ana", `{"tags":["acme"]}`); r.status != http.StatusOK || !strings.Contains(string(r.body), `"tags":["acme"]`) || !strings.Contains(string(r.body), "Acme-lek") {
		t.Errorf("patch: status %d: %s", r.status, r.body)
	}
	if r := f.do("POST", path+"/submit", "ana", nil); r.status != http.StatusOK {
		t.Fatalf("submit: status %d: %s", r.status, r.body)
	}
	if r := f.do("POST", path+"/approve", "ana", nil); r.status != http.StatusForbidden {
		t.Errorf("analyst approve: status %d", r.status)
	}
	if r := f.do("POST", path+"/approve", "ca", nil); r.status != http.StatusForbidden {
		t.Errorf("constituent approve: status %d", r.status)
	}
	if r := f.do("POST", path+"/frobnicate", "pub", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown action: status %d", r.status)
	}
	// The publisher edits last, so may not approve: four eyes.
	f.sendJSON("PATCH", path, "pub", `{"tags":["acme","gateway"]}`)
	if r := f.do("POST", path+"/approve", "pub", nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Four eyes") {
		t.Errorf("last editor approve: status %d: %s", r.status, r.body)
	}
	// The admin neither wrote nor edited it.
	for _, action := range []string{"approve", "publish"} {
		if r := f.do("POST", path+"/"+action, "ada", nil); r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", action, r.status, r.body)
		}
	}
	r = f.get(path, "")
	if r.status != http.StatusOK || json.Unmarshal(r.body, &p) != nil || p.Status != "published" || len(p.Revisions) != 1 {
		t.Fatalf("public get after publishing: status %d: %s", r.status, r.body)
	}
	r = f.get(path, "pub")
	if json.Unmarshal(r.body, &p) != nil || len(p.Channels) == 0 || len(p.History) < 4 {
		t.Errorf("team get: channels %v, history %v", p.Channels, p.History)
	}
	if r := f.sendJSON("POST", path+"/withdraw", "pub", `{"reason":""}`); r.status != http.StatusBadRequest {
		t.Errorf("withdraw without a reason: status %d", r.status)
	}
	if r := f.sendJSON("POST", path+"/withdraw", "pub", `{"reason":"wrong product"}`); r.status != http.StatusOK {
		t.Errorf("withdraw: status %d: %s", r.status, r.body)
	}
	if r := f.get(path, ""); r.status != http.StatusNotFound {
		t.Errorf("a withdrawn publication is public: status %d", r.status)
	}
}

// TestPublicationChannelsInTheCallersLanguage: why a channel skipped a
// publication is kept as a message, and the API says it in the caller's
// language (the account's).
func TestPublicationChannelsInTheCallersLanguage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	body := `{"kind":"advisory","severity":"critical","tlp":"AMBER","texts":[{"lang":"en","title":"Amber flaw","body":"Patch now."}]}`
	r := f.sendJSON("POST", "/publications", "ana", body)
	var p publicationJSON
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &p) != nil {
		t.Fatalf("create: status %d: %s", r.status, r.body)
	}
	path := "/publications/" + p.Ident
	for _, step := range []struct{ action, user string }{{"submit", "ana"}, {"approve", "ada"}, {"publish", "ada"}} {
		if r := f.do("POST", path+"/"+step.action, step.user, nil); r.status != http.StatusOK {
			t.Fatalf("%s: status %d: %s", step.action, r.status, r.body)
		}
	}
	u := f.users["pub"]
	u.Language = "de"
	if err := f.store.UpdateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	r = f.get(path, "pub")
	if r.status != http.StatusOK || json.Unmarshal(r.body, &p) != nil || len(p.Channels) == 0 {
		t.Fatalf("team get: status %d: %s", r.status, r.body)
	}
	for _, ch := range p.Channels {
		if ch.Status != "skipped" || ch.LastError != "Nicht gesendet: dieser Kanal nimmt keine Veröffentlichungen mit TLP:AMBER." {
			t.Errorf("channel %s: %s %q", ch.Channel, ch.Status, ch.LastError)
		}
	}
	if strings.Contains(string(r.body), "publication.skip") {
		t.Errorf("the API shows the stored form: %s", r.body)
	}
}
