package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/notify"
)

// The routes that give the API what the console's team pages do:
// notification policies and templates, change requests, the constituency
// as a file, the team key and the audit log.

func TestPolicies(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	lab := "/organisations/" + strconv.FormatInt(d.lab.ID, 10) + "/policy"

	t.Run("the team default starts as the built-in one", func(t *testing.T) {
		r := f.get("/notifications/policy", "ana")
		checkSchema(t, "TeamPolicy", r.body)
		got := decode[teamPolicyJSON](t, r)
		if got.Set || !got.Policy.Enabled || got.Policy.Digest != notify.DigestDaily {
			t.Errorf("%+v", got)
		}
	})
	t.Run("replace the team default", func(t *testing.T) {
		r := f.sendJSON("PUT", "/notifications/policy", "ana", `{"enabled":true,"digest":"hourly","types":["phishing"]}`)
		checkSchema(t, "TeamPolicy", r.body)
		got := decode[teamPolicyJSON](t, r)
		if !got.Set || got.Policy.Digest != "hourly" || len(got.Policy.Types) != 1 {
			t.Errorf("%+v", got)
		}
		if a := f.lastAudit(); a.Action != "policy.update" || a.Target != "team default" || !strings.Contains(a.Detail, "API token") {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("an organisation follows the default until it has its own", func(t *testing.T) {
		got := decode[organisationPolicyJSON](t, f.get(lab, "ana"))
		if got.Own != nil || got.Effective.Digest != "hourly" || got.Effective.Language != "fr" {
			t.Errorf("%+v", got)
		}
		r := f.sendJSON("PUT", lab, "ana", `{"enabled":false,"format":"xarf"}`)
		checkSchema(t, "OrganisationPolicy", r.body)
		got = decode[organisationPolicyJSON](t, r)
		if got.Own == nil || got.Own.Format != "xarf" || got.Effective.Enabled || got.Effective.Digest != "daily" {
			t.Errorf("%+v", got)
		}
		if a := f.lastAudit(); a.Action != "policy.update" || a.Target != "lab" {
			t.Errorf("audit %+v", a)
		}
		if r := f.do("DELETE", lab, "ana", nil); r.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if got := decode[organisationPolicyJSON](t, f.get(lab, "ana")); got.Own != nil {
			t.Errorf("after delete: %+v", got)
		}
		if a := f.lastAudit(); a.Action != "policy.delete" || a.Target != "lab" {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		r := f.sendJSON("PUT", lab, "ana", `{"enabled":true,"digest":"weekly","types":["nope","nope"]}`)
		wantError(t, r, http.StatusBadRequest, "invalid_policy", "")
		e := errorOf(t, r)
		if len(e.Error.Problems) != 3 || e.Error.Problems[0].Field != "digest" || !strings.Contains(e.Error.Problems[0].Reason, "weekly") {
			t.Errorf("problems %+v", e.Error.Problems)
		}
		wantError(t, f.sendJSON("PUT", lab, "ana", `{"digest":"daily"}`), http.StatusBadRequest, "bad_parameter", "enabled")
		wantError(t, f.sendJSON("PUT", lab, "ana", `{"enabled":"yes"}`), http.StatusBadRequest, "bad_parameter", "enabled")
		wantError(t, f.sendJSON("PUT", "/organisations/99999/policy", "ana", `{"enabled":true}`), http.StatusNotFound, "not_found", "")
		wantError(t, f.get("/organisations/x/policy", "ana"), http.StatusBadRequest, "bad_parameter", "id")
	})
	t.Run("in the caller's language", func(t *testing.T) {
		r := f.do("PUT", lab, "ana", strings.NewReader(`{"enabled":true,"digest":"weekly"}`),
			"Content-Type", "application/json", "Accept-Language", "nl-BE,nl;q=0.9")
		wantError(t, r, http.StatusBadRequest, "invalid_policy", "")
		e := errorOf(t, r)
		if !strings.Contains(e.Error.Message, "niet opgeslagen") || !strings.Contains(e.Error.Problems[0].Reason, "weekly") ||
			r.header.Get("Content-Language") != "nl" {
			t.Errorf("Dutch answer: %s (%s)", r.body, r.header.Get("Content-Language"))
		}
	})
}

func TestTemplates(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	t.Run("list", func(t *testing.T) {
		r := f.get("/notifications/templates", "ana")
		checkSchema(t, "TemplateList", r.body)
		got := decode[struct{ Templates []templateSummaryJSON }](t, r)
		if len(got.Templates) < 2*len(notify.Languages) || got.Templates[0].Overridden {
			t.Errorf("%+v", got.Templates)
		}
	})
	t.Run("save, read and revert", func(t *testing.T) {
		r := f.sendJSON("PUT", "/notifications/templates/nl/digest", "ana", `{"subject":" Melding {{.Org.Name}} ","body":"Hallo\r\n{{.Org.Name}}"}`)
		checkSchema(t, "Template", r.body)
		got := decode[templateJSON](t, r)
		if !got.Overridden || got.Subject != "Melding {{.Org.Name}}" || got.Body != "Hallo\n{{.Org.Name}}" || got.UpdatedBy != "ana" || got.BuiltinBody == "" {
			t.Errorf("%+v", got)
		}
		if a := f.lastAudit(); a.Action != "template.save" || a.Target != "nl/digest" {
			t.Errorf("audit %+v", a)
		}
		pv := decode[previewJSON](t, f.postJSON("/notifications/templates/nl/digest/preview", "ana", ""))
		if !strings.HasPrefix(pv.Subject, "Melding ") || pv.Problem != nil {
			t.Errorf("preview of the saved template: %+v", pv)
		}
		if r := f.do("DELETE", "/notifications/templates/nl/digest", "ana", nil); r.status != http.StatusNoContent {
			t.Fatalf("revert: %d %s", r.status, r.body)
		}
		if got := decode[templateJSON](t, f.get("/notifications/templates/nl/digest", "ana")); got.Overridden {
			t.Errorf("after revert: %+v", got)
		}
	})
	t.Run("a type explanation, its slash escaped", func(t *testing.T) {
		got := decode[templateJSON](t, f.get("/notifications/templates/fr/type%2Fphishing", "ana"))
		if got.Name != "type/phishing" || got.HasSubject {
			t.Errorf("%+v", got)
		}
	})
	t.Run("preview a draft", func(t *testing.T) {
		r := f.postJSON("/notifications/templates/en/immediate/preview", "ana", `{"subject":"Now","body":"Dear {{.Org.Name}}"}`)
		checkSchema(t, "TemplatePreview", r.body)
		if pv := decode[previewJSON](t, r); pv.Subject != "Now" || !strings.Contains(pv.Text, "Dear ") || pv.Parts < 1 {
			t.Errorf("%+v", pv)
		}
		pv := decode[previewJSON](t, f.postJSON("/notifications/templates/en/immediate/preview", "ana", `{"subject":"Now","body":"{{.Nope"}`))
		if pv.Problem == nil || pv.Problem.Part != "body" || pv.Problem.Line != 1 {
			t.Errorf("broken draft: %+v %+v", pv, pv.Problem)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		r := f.sendJSON("PUT", "/notifications/templates/en/digest", "ana", `{"subject":"x","body":"{{.Nope"}`)
		wantError(t, r, http.StatusBadRequest, "invalid_template", "body")
		if e := errorOf(t, r); !strings.Contains(e.Error.Message, "line 1") {
			t.Errorf("message %q", e.Error.Message)
		}
		wantError(t, f.get("/notifications/templates/xx/digest", "ana"), http.StatusNotFound, "not_found", "")
		wantError(t, f.get("/notifications/templates/en/nope", "ana"), http.StatusNotFound, "not_found", "")
		wantError(t, f.sendJSON("PUT", "/notifications/templates/en/digest", "ana", `{"subject":"x"}`), http.StatusBadRequest, "bad_parameter", "body")
		big := `{"body":"` + strings.Repeat("x", notify.MaxTemplateBytes+1) + `"}`
		wantError(t, f.sendJSON("PUT", "/notifications/templates/en/digest", "ana", big), http.StatusBadRequest, "bad_parameter", "body")
	})
	t.Run("without a notifier", func(t *testing.T) {
		g := newFixture(t, fixtureOptions{noNotifier: true})
		wantError(t, g.sendJSON("PUT", "/notifications/templates/en/digest", "ana", `{"body":"x"}`), http.StatusNotImplemented, "not_implemented", "")
	})
}

func TestChangeRequests(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	r := f.get("/changerequests?open=true", "ana")
	checkSchema(t, "ChangeRequestList", r.body)
	got := decode[struct {
		ChangeRequests []changeRequestJSON `json:"change_requests"`
	}](t, r)
	if len(got.ChangeRequests) != 1 || got.ChangeRequests[0].Organisation != d.lab.Name || got.ChangeRequests[0].Done {
		t.Fatalf("%+v", got)
	}
	done := f.postJSON("/changerequests/"+strconv.FormatInt(d.request, 10)+"/done", "ana", "")
	checkSchema(t, "ChangeRequest", done.body)
	if c := decode[changeRequestJSON](t, done); !c.Done {
		t.Errorf("%+v", c)
	}
	if a := f.lastAudit(); a.Action != "changerequest.done" || a.Target != "lab" {
		t.Errorf("audit %+v", a)
	}
	if got := decode[struct {
		ChangeRequests []changeRequestJSON `json:"change_requests"`
	}](t, f.get("/changerequests?open=true", "ana")); len(got.ChangeRequests) != 0 {
		t.Errorf("still open: %+v", got)
	}
	wantError(t, f.postJSON("/changerequests/99999/done", "ana", ""), http.StatusNotFound, "not_found", "")
	wantError(t, f.get("/changerequests?open=maybe", "ana"), http.StatusBadRequest, "bad_parameter", "open")
	wantError(t, f.get("/changerequests?organisation=0", "ana"), http.StatusBadRequest, "bad_parameter", "organisation")
}

func TestConstituencyFile(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.teamData()
	exported := f.get("/constituency/export?format=csv", "ana")
	if exported.status != http.StatusOK || !strings.HasPrefix(exported.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(string(exported.body), "research") {
		t.Fatalf("export: %d %s", exported.status, exported.body)
	}
	file := string(exported.body) + "new,New Organisation,,,en,192.0.2.0/24,,,,,,,,,\n"
	post := func(query, body, ctype string) response {
		return f.do("POST", "/constituency/import"+query, "ana", strings.NewReader(body), "Content-Type", ctype)
	}

	dry := post("?dry_run=true", file, "text/csv")
	checkSchema(t, "ImportResult", dry.body)
	plan := decode[importJSON](t, dry)
	if !plan.DryRun || plan.Created != 1 || plan.Unchanged != 2 || len(plan.Steps) != 1 || plan.Steps[0].Handle != "new" {
		t.Fatalf("dry run %+v", plan)
	}
	if _, err := f.store.GetOrganisationByHandle(t.Context(), "new"); err == nil {
		t.Fatal("a dry run wrote")
	}

	t.Run("a stale version is refused", func(t *testing.T) {
		wantError(t, post("?version="+strconv.FormatInt(plan.Version+1, 10), file, "text/csv"), http.StatusConflict, "constituency_changed", "")
	})
	t.Run("apply", func(t *testing.T) {
		r := post("?version="+strconv.FormatInt(plan.Version, 10), file, "text/csv")
		got := decode[importJSON](t, r)
		if got.DryRun || got.Created != 1 || got.Version <= plan.Version {
			t.Fatalf("%+v", got)
		}
		if a := f.lastAudit(); a.Action != "constituency.import" || !strings.Contains(a.Detail, "merge: 1 created") {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("a broken file lists its problems with their lines", func(t *testing.T) {
		r := post("?format=csv", "handle,name,networks\nbad handle!,X,10.0.0.0/33\n", "application/octet-stream")
		wantError(t, r, http.StatusBadRequest, "invalid_file", "")
		e := errorOf(t, r)
		if len(e.Error.Problems) < 2 || e.Error.Problems[0].Line != 2 || e.Error.Problems[0].Severity != "error" {
			t.Errorf("problems %+v", e.Error.Problems)
		}
	})
	t.Run("a network a kept organisation has refuses a merge", func(t *testing.T) {
		r := post("", `[{"handle":"other","name":"Other","language":"en","networks":["10.1.2.0/24"]}]`, "application/json")
		wantError(t, r, http.StatusBadRequest, "invalid_file", "")
	})
	t.Run("a replace deleting an organisation with accounts is refused", func(t *testing.T) {
		lab, err := f.store.GetOrganisationByHandle(t.Context(), "lab")
		if err != nil {
			t.Fatal(err)
		}
		u := auth.User{Name: "labuser", Email: "labuser@lab.example", Role: auth.RoleConstituent, OrgID: lab.ID, Language: "en", PasswordHash: "unused"}
		if err := f.store.CreateUser(t.Context(), &u); err != nil {
			t.Fatal(err)
		}
		file := `[{"handle":"research","name":"Research Network","language":"en"},{"handle":"new","name":"New Organisation","language":"en"}]`
		for _, query := range []string{"?replace=true&dry_run=true", "?replace=true"} {
			r := f.do("POST", "/constituency/import"+query, "ana", strings.NewReader(file), "Content-Type", "application/json", "Accept-Language", "fr")
			wantError(t, r, http.StatusBadRequest, "invalid_file", "")
			found := false
			for _, p := range errorOf(t, r).Error.Problems {
				found = found || p.Handle == "lab" && strings.Contains(p.Reason, "lab ne peut pas être supprimée")
			}
			if !found {
				t.Errorf("%s: %s; want the accounts of lab named, in French", query, r.body)
			}
		}
		if _, err := f.store.GetOrganisationByHandle(t.Context(), "lab"); err != nil {
			t.Errorf("lab was deleted: %v", err)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		wantError(t, post("", "x", "text/plain"), http.StatusBadRequest, "bad_parameter", "format")
		wantError(t, post("?replace=yes", "x", "text/csv"), http.StatusBadRequest, "bad_parameter", "replace")
		wantError(t, f.get("/constituency/export?format=xml", "ana"), http.StatusBadRequest, "bad_parameter", "format")
	})
}

func TestTeamKey(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	if got := decode[teamKeyJSON](t, f.get("/teamkey", "ada")); got.Present {
		t.Fatalf("%+v", got)
	}
	r := f.postJSON("/teamkey/generate", "ada", `{"name":"Vigil CERT","email":"cert@example.org"}`)
	checkSchema(t, "TeamKey", r.body)
	key := decode[teamKeyJSON](t, r)
	if !key.Present || key.Fingerprint == "" || !strings.Contains(key.PublicKey, "PUBLIC KEY") || strings.Contains(string(r.body), "PRIVATE") {
		t.Fatalf("%s", r.body)
	}
	if a := f.lastAudit(); a.Action != "identity.generate" || a.Target != key.Fingerprint {
		t.Errorf("audit %+v", a)
	}
	if got := decode[teamKeyJSON](t, f.get("/teamkey", "ada")); got.Fingerprint != key.Fingerprint {
		t.Errorf("read back %+v", got)
	}
	t.Run("replacing needs confirming", func(t *testing.T) {
		body, _ := json.Marshal(importKeyInput{Key: d.key})
		wantError(t, f.postJSON("/teamkey/import", "ada", string(body)), http.StatusConflict, "key_exists", "replace")
		body, _ = json.Marshal(importKeyInput{Key: d.key, Replace: true})
		got := decode[teamKeyJSON](t, f.postJSON("/teamkey/import", "ada", string(body)))
		if got.Fingerprint == key.Fingerprint || got.Fingerprint == "" {
			t.Errorf("%+v", got)
		}
		if a := f.lastAudit(); a.Action != "identity.import" {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		wantError(t, f.postJSON("/teamkey/generate", "ada", `{"name":"A <b>","email":"cert@example.org","replace":true}`), http.StatusBadRequest, "bad_parameter", "name")
		wantError(t, f.postJSON("/teamkey/generate", "ada", `{"name":"A","email":"Cert <cert@example.org>","replace":true}`), http.StatusBadRequest, "bad_parameter", "email")
		wantError(t, f.postJSON("/teamkey/import", "ada", `{"key":"not a key","replace":true}`), http.StatusBadRequest, "bad_parameter", "key")
		wantError(t, f.postJSON("/teamkey/import", "ada", `{"replace":true}`), http.StatusBadRequest, "bad_parameter", "key")
	})
	t.Run("an analyst cannot", func(t *testing.T) {
		wantError(t, f.get("/teamkey", "ana"), http.StatusForbidden, "forbidden", "")
	})
}

func TestAuditLog(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for i := range 3 {
		if err := auth.Record(t.Context(), f.store, auth.AuditEntry{Actor: "ana", Action: "test", Target: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	r := f.get("/audit?limit=2", "ada")
	checkSchema(t, "AuditPage", r.body)
	page := decode[auditPageJSON](t, r)
	if len(page.Entries) != 2 || page.Entries[0].Target != "2" || page.NextBefore == 0 {
		t.Fatalf("%+v", page)
	}
	next := decode[auditPageJSON](t, f.get("/audit?limit=2&before="+strconv.FormatInt(page.NextBefore, 10), "ada"))
	if len(next.Entries) != 1 || next.Entries[0].Target != "0" || next.NextBefore != 0 {
		t.Errorf("%+v", next)
	}
	if got := decode[auditPageJSON](t, f.get("/audit?actor=nobody", "ada")); len(got.Entries) != 0 {
		t.Errorf("%+v", got)
	}
	wantError(t, f.get("/audit", "ana"), http.StatusForbidden, "forbidden", "")
	wantError(t, f.get("/audit?limit=0", "ada"), http.StatusBadRequest, "bad_parameter", "limit")
}

func TestEventTableView(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	t.Run("count", func(t *testing.T) {
		r := f.get("/events?limit=1", "ana")
		page := decode[eventPageJSON](t, r)
		if len(page.Events) != 1 || page.Count < 3 || page.CountMore || page.Window != 10000 {
			t.Errorf("%+v", page)
		}
	})
	t.Run("sort by source address, ascending, paged", func(t *testing.T) {
		first := decode[eventPageJSON](t, f.get("/events?sort=source.ip&dir=asc&limit=1&feed=scan-rdp", "ana"))
		if len(first.Events) != 1 || first.Next == "" || first.Events[0].Event.Value("source.ip") != "192.0.2.10" {
			t.Fatalf("%+v", first)
		}
		second := decode[eventPageJSON](t, f.get("/events?sort=source.ip&dir=asc&limit=1&feed=scan-rdp&cursor="+first.Next, "ana"))
		if len(second.Events) != 1 || second.Events[0].Event.Value("source.ip") != "2001:db8::5" {
			t.Errorf("%+v", second)
		}
	})
	t.Run("group by feed", func(t *testing.T) {
		r := f.get("/events?group=feed", "ana")
		checkSchema(t, "EventPage", r.body)
		page := decode[eventPageJSON](t, r)
		if len(page.Groups) == 0 || page.Groups[0].Count < page.Groups[len(page.Groups)-1].Count {
			t.Errorf("%+v", page.Groups)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		wantError(t, f.get("/events?sort=colour", "ana"), http.StatusBadRequest, "bad_parameter", "sort")
		wantError(t, f.get("/events?dir=up", "ana"), http.StatusBadRequest, "bad_parameter", "dir")
		wantError(t, f.get("/events?group=colour", "ana"), http.StatusBadRequest, "bad_parameter", "group")
		wantError(t, f.get("/events?group=feed&format=csv", "ana"), http.StatusBadRequest, "bad_parameter", "group")
		wantError(t, f.get("/events?sort=feed&cursor=abc", "ana"), http.StatusBadRequest, "bad_parameter", "cursor")
	})
	t.Run("a constituent cannot group by organisation", func(t *testing.T) {
		f.constituency()
		wantError(t, f.get("/constituent/events?group=org", "ca"), http.StatusBadRequest, "bad_parameter", "group")
		if r := f.get("/constituent/events?group=type", "ca"); r.status != http.StatusOK {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
}

func TestErrorsInTheCallersLanguage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, tc := range []struct{ lang, want string }{
		{"", "unknown parameter"}, {"nl", "onbekende parameter"}, {"fr-BE, fr;q=0.8", "paramètre inconnu"}, {"de", "unbekannter Parameter"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			r := f.do("GET", "/events?colour=red", "ana", nil, "Accept-Language", tc.lang)
			wantError(t, r, http.StatusBadRequest, "bad_parameter", "colour")
			if e := errorOf(t, r); !strings.Contains(e.Error.Message, tc.want) {
				t.Errorf("message %q, want %q", e.Error.Message, tc.want)
			}
		})
	}
	r := f.do("GET", "/events", "", nil, "Accept-Language", "de")
	wantError(t, r, http.StatusUnauthorized, "unauthorized", "")
	if e := errorOf(t, r); !strings.Contains(e.Error.Message, "erforderlich") {
		t.Errorf("message %q", e.Error.Message)
	}
}

// errorOf decodes an error answer, whatever its status.
func errorOf(t *testing.T, r response) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return e
}

func TestOrganisationProblemsInTheCallersLanguage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	r := f.do("POST", "/organisations", "ana", strings.NewReader(`{"handle":"Bad Handle","name":"X","country":"XX"}`),
		"Content-Type", "application/json", "Accept-Language", "fr")
	wantError(t, r, http.StatusBadRequest, "invalid_organisation", "")
	e := errorOf(t, r)
	english := errorOf(t, f.sendJSON("POST", "/organisations", "ana", `{"handle":"Bad Handle","name":"X","country":"XX"}`))
	if len(e.Error.Problems) == 0 || len(e.Error.Problems) != len(english.Error.Problems) {
		t.Fatalf("problems %+v / %+v", e.Error.Problems, english.Error.Problems)
	}
	for i := range e.Error.Problems {
		if e.Error.Problems[i].Field != english.Error.Problems[i].Field || e.Error.Problems[i].Reason == english.Error.Problems[i].Reason {
			t.Errorf("problem %d: French %q, English %q", i, e.Error.Problems[i].Reason, english.Error.Problems[i].Reason)
		}
	}
}

// TestIssue11ErrorsInFrench: the errors of deleting an account, of the
// saved searches and of a constituent token follow Accept-Language, one
// of each here in French.
func TestIssue11ErrorsInFrench(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	lone := auth.User{Name: "lone", Email: "lone@example.org", Role: auth.RoleConstituent, Language: "en", PasswordHash: "unused"}
	if err := f.store.CreateUser(t.Context(), &lone); err != nil {
		t.Fatal(err)
	}
	f.tokens["lone"] = f.newToken(lone.ID, "lone-script")
	fr := func(method, path, user, body string) response {
		return f.do(method, path, user, strings.NewReader(body), "Content-Type", "application/json", "Accept-Language", "fr")
	}
	for _, tc := range []struct {
		name   string
		r      response
		status int
		code   string
		want   string
	}{
		{"own account", fr("DELETE", "/users/"+strconv.FormatInt(f.users["ada"].ID, 10), "ada", ""),
			http.StatusConflict, "own_account", "votre propre compte"},
		{"account not found", fr("DELETE", "/users/999999", "ada", ""), http.StatusNotFound, "not_found", "aucun compte"},
		{"saved search name", fr("POST", "/saved-searches", "ana", `{"name":"","query":""}`),
			http.StatusBadRequest, "bad_parameter", "Donnez à la recherche un nom"},
		{"saved search query", fr("POST", "/saved-searches", "ana", `{"name":"x","query":"ip=nope"}`),
			http.StatusBadRequest, "bad_parameter", "le paramètre ip de la requête"},
		{"saved search not found", fr("GET", "/saved-searches/999999", "ana", ""), http.StatusNotFound, "not_found", "aucune recherche enregistrée"},
		{"constituent without organisation", fr("GET", "/constituent/organisation", "lone", ""),
			http.StatusForbidden, "no_organisation", "rattaché à aucune organisation"},
		{"feed not found", fr("POST", "/feeds/nope/run", "ada", ""), http.StatusNotFound, "not_found", "aucun flux ne porte ce nom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", tc.r.status, tc.status, tc.r.body)
			}
			if e := errorOf(t, tc.r); e.Error.Code != tc.code || !strings.Contains(e.Error.Message, tc.want) {
				t.Errorf("error %+v, want %s saying %q", e.Error, tc.code, tc.want)
			}
		})
	}
}
