package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// incidentData is what incidents() puts in the fixture's database: two
// phishing reports of one URL grouped into incident a, three reports in
// the triage queue (with nothing to group by), incident b opened by hand,
// and a task on a.
type incidentData struct {
	queue    []int64 // three new reports
	grouped  []int64 // the two reports of a
	a, b     string  // tags
	aID, bID int64
	task     int64 // a task of a
	evil     string
	// attached is the SHA-256 of an HTML page attached to a.
	attached string
}

func (f *fixture) incidents() incidentData {
	f.t.Helper()
	ctx := f.t.Context()
	svc := &incident.Service{Store: f.store, Audit: f.store}
	d := incidentData{evil: "https://evil-bank.com/login"}
	receive := func(kind incident.Kind, text string, obs ...extract.Observable) incident.Receipt {
		r := &incident.Report{Channel: incident.ChannelWeb, Kind: kind, Text: text, Observables: obs}
		receipt, err := svc.Receive(ctx, r)
		if err != nil {
			f.t.Fatal(err)
		}
		return receipt
	}
	url := extract.Observable{Kind: extract.URL, Value: d.evil}
	first := receive(incident.KindPhishing, "a mail with a link to "+d.evil, url)
	second := receive(incident.KindPhishing, "the same link: "+d.evil, url)
	if !second.Opened {
		f.t.Fatalf("the second report of a URL should open an incident: %+v", second)
	}
	d.grouped = []int64{first.ReportID, second.ReportID}
	d.a, d.aID = second.Tag.String(), second.IncidentID
	for i := range 3 {
		d.queue = append(d.queue, receive(incident.KindOther, "caller number "+strconv.Itoa(i)+" says the network is slow").ReportID)
	}
	actor := incident.Actor{UserID: f.users["ada"].ID, Name: "ada"}
	b, err := svc.CreateIncident(ctx, actor, incident.Incident{Title: "A duplicate of the phishing"}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	d.b, d.bID = b.Tag.String(), b.ID
	task, err := svc.AddTask(ctx, actor, d.aID, "Check the headers")
	if err != nil {
		f.t.Fatal(err)
	}
	d.task = task.ID
	att, err := svc.Attach(ctx, actor, d.aID, "page.html", "text/html", []byte(attachedPage))
	if err != nil {
		f.t.Fatal(err)
	}
	d.attached = att.SHA256
	return d
}

// attachedPage is the content of incident a's attachment.
const attachedPage = `<html><script>alert(1)</script></html>`

// incidentCalls are the successful calls of the incident routes for
// TestOpenAPIMatchesRoutes's "every documented operation is served".
func (f *fixture) incidentCalls() map[string]struct {
	path, body string
	status     int
} {
	d := f.incidents()
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	return map[string]struct {
		path, body string
		status     int
	}{
		"GET /reports/{id}":                         {path: "/reports/" + id(d.queue[0])},
		"POST /reports":                             {body: `{"channel":"phone","kind":"other","text":"a call"}`, status: http.StatusCreated},
		"POST /reports/close":                       {body: `{"ids":[` + id(d.queue[1]) + `],"reason":"spam"}`},
		"POST /incidents":                           {body: `{"title":"By hand"}`, status: http.StatusCreated},
		"GET /incidents/{tag}":                      {path: "/incidents/" + d.a},
		"GET /incidents/{tag}/observables":          {path: "/incidents/" + d.a + "/observables"},
		"PATCH /incidents/{tag}":                    {path: "/incidents/" + d.a, body: `{"severity":"high"}`},
		"POST /incidents/{tag}/transition":          {path: "/incidents/" + d.a + "/transition", body: `{"status":"triage"}`},
		"POST /incidents/{tag}/tasks":               {path: "/incidents/" + d.a + "/tasks", body: `{"playbook":true}`, status: http.StatusCreated},
		"POST /incidents/{tag}/tasks/{id}/done":     {path: "/incidents/" + d.a + "/tasks/" + id(d.task) + "/done"},
		"POST /incidents/{tag}/notes":               {path: "/incidents/" + d.a + "/notes", body: `{"text":"a note"}`, status: http.StatusCreated},
		"POST /incidents/{tag}/merge":               {path: "/incidents/" + d.a + "/merge", body: `{"from":["` + d.b + `"]}`},
		"POST /incidents/{tag}/reports":             {path: "/incidents/" + d.a + "/reports", body: `{"ids":[` + id(d.queue[2]) + `]}`},
		"GET /incidents/{tag}/attachments/{sha256}": {path: "/incidents/" + d.a + "/attachments/" + d.attached},
		// Served, and refused as documented: the fixture's team has no
		// OpenPGP identity yet (TestIncidentMailAPI sends with one).
		"POST /incidents/{tag}/mail":   {path: "/incidents/" + d.a + "/mail", body: `{"to":["x@example.net"],"subject":"Hi","text":"x"}`, status: http.StatusBadRequest},
		"POST /incidents/{tag}/events": {path: "/incidents/" + d.a + "/events", body: `{"events":["` + f.hashes["phish"] + `"]}`},
		"GET /incidents/{tag}/events":  {path: "/incidents/" + d.a + "/events"},
	}
}

// errorMessage is the message of an error body.
func errorMessage(t *testing.T, r response) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	return e.Error.Message
}

// incidentRoutes are the paths of the reports and incidents routes with
// their parameters filled in, by method.
func incidentRoutes(d incidentData) [][2]string {
	var out [][2]string
	for _, rt := range routes {
		if !strings.HasPrefix(rt.path, "/reports") && !strings.HasPrefix(rt.path, "/incidents") {
			continue
		}
		p := strings.ReplaceAll(rt.path, "{tag}", d.a)
		p = strings.ReplaceAll(p, "{id}", strconv.FormatInt(d.queue[0], 10))
		p = strings.ReplaceAll(p, "{sha256}", d.attached)
		out = append(out, [2]string{rt.method, p})
	}
	return out
}

// TestIncidentRoutesRefuseOthers: a constituent's and a publisher's tokens
// never reach the reports and incidents (403, whatever the body), and no
// token gets 401.
func TestIncidentRoutesRefuseOthers(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	d := f.incidents()
	rts := incidentRoutes(d)
	if len(rts) != 19 {
		t.Fatalf("%d incident routes, want 19", len(rts))
	}
	for _, rt := range rts {
		for _, user := range []string{"ca", "pub"} {
			wantError(t, f.sendJSON(rt[0], rt[1], user, `{}`), http.StatusForbidden, "forbidden", "")
		}
		wantError(t, f.sendJSON(rt[0], rt[1], "", `{}`), http.StatusUnauthorized, "unauthorized", "")
	}
	// Nothing changed.
	r := decode[reportPageJSON](t, f.get("/reports?state=new", "ana"))
	if r.Total != 3 {
		t.Errorf("%d new reports after refused calls, want 3", r.Total)
	}
}

// TestReportRoutes lists, reads, logs and closes reports.
func TestReportRoutes(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.incidents()
	t.Run("list and filter", func(t *testing.T) {
		for query, want := range map[string]int{"": 5, "state=new": 3, "state=linked": 2, "kind=phishing": 2,
			"channel=phone,email": 0, "q=SLOW": 3, "observable=" + d.evil: 2, "state=new&limit=2&offset=2": 3,
			"from=2000-01-01&to=2100-01-01": 5, "sort=oldest": 5, "incident=" + d.a: 2, "incident=" + d.b: 0} {
			r := f.get("/reports?"+query, "ana")
			checkSchema(t, "ReportPage", r.body)
			p := decode[reportPageJSON](t, r)
			if p.Total != want || p.More {
				t.Errorf("%s: total %d, want %d", query, p.Total, want)
			}
		}
		p := decode[reportPageJSON](t, f.get("/reports?sort=oldest&limit=1", "ana"))
		if len(p.Reports) != 1 || p.Reports[0].ID != d.grouped[0] {
			t.Errorf("the oldest report: %+v", p.Reports)
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		for query, param := range map[string]string{"state=open": "state", "kind=spam": "kind", "channel=fax": "channel",
			"from=yesterday": "from", "from=2026-02-01&to=2026-01-01": "to", "limit=0": "limit", "offset=-1": "offset",
			"sort=best": "sort", "incident=1": "incident", "incident=2026-9999": "incident", "tracking=R-1": "tracking"} {
			wantError(t, f.get("/reports?"+query, "ana"), http.StatusBadRequest, "bad_parameter", param)
		}
	})
	t.Run("one report", func(t *testing.T) {
		r := f.get("/reports/"+strconv.FormatInt(d.grouped[0], 10), "ana")
		checkSchema(t, "Report", r.body)
		rep := decode[reportJSON](t, r)
		if rep.IncidentID != d.aID || rep.State != incident.ReportLinked || len(rep.Observables) != 1 {
			t.Errorf("report %+v", rep)
		}
		wantError(t, f.get("/reports/99999", "ana"), http.StatusNotFound, "not_found", "")
		wantError(t, f.get("/reports/abc", "ana"), http.StatusBadRequest, "bad_parameter", "id")
	})
	t.Run("log a call", func(t *testing.T) { checkLogReport(t, f, d) })
	t.Run("close", func(t *testing.T) {
		ids := strconv.FormatInt(d.queue[0], 10) + "," + strconv.FormatInt(d.grouped[0], 10)
		r := f.postJSON("/reports/close", "ana", `{"ids":[`+ids+`],"reason":"spam"}`)
		checkSchema(t, "ChangeCount", r.body)
		if c := decode[countJSON](t, r); c.Changed != 1 || c.Of != 2 {
			t.Errorf("closed %+v, want 1 of 2 (a linked report stays)", c)
		}
		rep := decode[reportJSON](t, f.get("/reports/"+strconv.FormatInt(d.queue[0], 10), "ana"))
		if rep.State != incident.ReportClosed || rep.CloseReason != "spam" {
			t.Errorf("closed report %+v", rep)
		}
		if a := f.lastAudit(); a.Action != "report.close" || a.Actor != "ana" {
			t.Errorf("audit %+v", a)
		}
		wantError(t, f.postJSON("/reports/close", "ana", `{"ids":[1]}`), http.StatusBadRequest, "bad_parameter", "reason")
		wantError(t, f.postJSON("/reports/close", "ana", `{"ids":[],"reason":"x"}`), http.StatusBadRequest, "bad_parameter", "ids")
		wantError(t, f.postJSON("/reports/close", "ana", `{"ids":[0],"reason":"x"}`), http.StatusBadRequest, "bad_parameter", "ids")
	})
}

// checkLogReport logs phone calls: one that names the grouped URL joins
// its incident, observables found in the text; bad input is refused in
// the reader's language.
func checkLogReport(t *testing.T, f *fixture, d incidentData) {
	body := `{"channel":"phone","kind":"phishing","text":"the caller got a mail linking to hxxps://evil-bank[.]com/login","reporter":{"name":"Jo","phone":"+32 2 123 45 67"}}`
	r := f.postJSON("/reports", "ana", body)
	if r.status != http.StatusCreated || !strings.HasPrefix(r.header.Get("Location"), "/api/v1/reports/") {
		t.Fatalf("status %d, Location %q: %s", r.status, r.header.Get("Location"), r.body)
	}
	checkSchema(t, "ReportReceipt", r.body)
	var receipt receiptJSON
	if err := json.Unmarshal(r.body, &receipt); err != nil {
		t.Fatal(err)
	}
	if receipt.Incident != d.a || receipt.StatusToken == "" || receipt.Report.Channel != incident.ChannelPhone ||
		receipt.Report.Reporter.Phone == "" || !strings.HasPrefix(receipt.Report.Tracking, "R-") {
		t.Errorf("receipt %+v", receipt)
	}
	found := false
	for _, o := range receipt.Report.Observables {
		found = found || o.Kind == extract.URL && o.Value == d.evil
	}
	if !found {
		t.Errorf("the defanged URL was not found: %+v", receipt.Report.Observables)
	}
	if a := f.lastAudit(); a.Action != "report.create" || a.Target != receipt.Report.Tracking {
		t.Errorf("audit %+v", a)
	}
	wantError(t, f.postJSON("/reports", "ana", `{"channel":"phone","kind":"phishing"}`), http.StatusBadRequest, "bad_parameter", "text")
	wantError(t, f.postJSON("/reports", "ana", `{"channel":"phone","kind":"phishing","text":"x","reporter":{"org_id":999}}`),
		http.StatusNotFound, "not_found", "")
	wantError(t, f.postJSON("/reports", "ana", `{"channel":"phone","kind":"x","text":"t","colour":1}`), http.StatusBadRequest, "bad_parameter", "colour")
	bad := f.do("POST", "/reports", "ana", strings.NewReader(`{"channel":"fax","kind":"other","text":"t"}`),
		"Content-Type", "application/json", "Accept-Language", "fr")
	wantError(t, bad, http.StatusBadRequest, "bad_input", "")
	if msg := errorMessage(t, bad); !strings.Contains(msg, "fax") || !strings.Contains(msg, "signalement") {
		t.Errorf("the refusal in French: %q", msg)
	}
}

// TestIncidentRoutes lists, reads, opens and works on incidents.
func TestIncidentRoutes(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.incidents()
	t.Run("list and filter", func(t *testing.T) {
		for query, want := range map[string]int{"": 2, "status=new": 2, "status=closed": 0, "overdue=true": 0,
			"assignee=none": 2, "assignee=ana": 0, "q=DUPLICATE": 1, "observable=" + d.evil: 1, "severity=low,medium,high,critical": 2,
			"sort=due&limit=1": 2, "from=2000-01-01": 2} {
			r := f.get("/incidents?"+query, "ana")
			checkSchema(t, "IncidentPage", r.body)
			if p := decode[incidentPageJSON](t, r); p.Total != want {
				t.Errorf("%s: total %d, want %d", query, p.Total, want)
			}
		}
		for query, param := range map[string]string{"status=open": "status", "overdue=maybe": "overdue", "assignee=nobody": "assignee",
			"organisation=nowhere": "organisation", "sort=title": "sort", "severity=dire": "severity", "limit=5000": "limit"} {
			wantError(t, f.get("/incidents?"+query, "ana"), http.StatusBadRequest, "bad_parameter", param)
		}
	})
	t.Run("one incident", func(t *testing.T) {
		r := f.get("/incidents/"+d.a, "ana")
		checkSchema(t, "IncidentDetail", r.body)
		var inc incidentDetailJSON
		if err := json.Unmarshal(r.body, &inc); err != nil {
			t.Fatal(err)
		}
		if inc.Tag != d.a || len(inc.LinkedReports) != 2 || inc.Reports != 2 || len(inc.Tasks) != 1 || len(inc.Timeline) == 0 ||
			inc.Due == nil || inc.Kind != incident.KindPhishing {
			t.Errorf("incident %+v", inc)
		}
		wantError(t, f.get("/incidents/2026-9999", "ana"), http.StatusNotFound, "not_found", "")
		wantError(t, f.get("/incidents/abc", "ana"), http.StatusBadRequest, "bad_parameter", "tag")
	})
	t.Run("open", func(t *testing.T) { checkOpenIncident(t, f, d) })
	t.Run("change", func(t *testing.T) { checkChangeIncident(t, f, d) })
	t.Run("work", func(t *testing.T) { checkWorkIncident(t, f, d) })
}

func checkOpenIncident(t *testing.T, f *fixture, d incidentData) {
	q := strconv.FormatInt(d.queue[0], 10)
	r := f.postJSON("/incidents", "ana", `{"reports":[`+q+`],"severity":"high","tlp":"GREEN"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	checkSchema(t, "IncidentDetail", r.body)
	var inc incidentDetailJSON
	json.Unmarshal(r.body, &inc)
	if len(inc.LinkedReports) != 1 || inc.Severity != incident.SeverityHigh || inc.TLP != incident.TLPGreen || inc.Title == "" ||
		r.header.Get("Location") != "/api/v1/incidents/"+inc.Tag {
		t.Errorf("incident %+v, Location %q", inc, r.header.Get("Location"))
	}
	r = f.postJSON("/incidents", "ana", `{"title":"Defacement","type":"phishing","assignee":"ana"}`)
	json.Unmarshal(r.body, &inc)
	if r.status != http.StatusCreated || inc.Taxonomy != "fraud" || inc.Assignee != "ana" {
		t.Errorf("by hand: %d %s", r.status, r.body)
	}
	wantError(t, f.postJSON("/incidents", "ana", `{}`), http.StatusBadRequest, "bad_parameter", "title")
	wantError(t, f.postJSON("/incidents", "ana", `{"title":"x","type":"nonsense"}`), http.StatusBadRequest, "bad_parameter", "type")
	wantError(t, f.postJSON("/incidents", "ana", `{"title":"x","organisations":[999]}`), http.StatusBadRequest, "bad_parameter", "organisations")
	// A report linked already belongs to another incident.
	linked := strconv.FormatInt(d.grouped[0], 10)
	wantError(t, f.postJSON("/incidents", "ana", `{"reports":[`+linked+`]}`), http.StatusBadRequest, "bad_input", "")
	wantError(t, f.postJSON("/incidents", "ana", `{"reports":[99999]}`), http.StatusNotFound, "not_found", "")
}

func checkChangeIncident(t *testing.T, f *fixture, d incidentData) {
	org := constituency.Organisation{Handle: "bank", Name: "A Bank", Language: "en"}
	if err := f.store.CreateOrganisation(t.Context(), &org); err != nil {
		t.Fatal(err)
	}
	orgID := strconv.FormatInt(org.ID, 10)
	r := f.sendJSON("PATCH", "/incidents/"+d.a, "ana",
		`{"severity":"critical","tlp":"RED","pap":"GREEN","assignee":"ana","organisations":[`+orgID+`],"title":"Bank phishing"}`)
	checkSchema(t, "Incident", r.body)
	inc := decode[incidentJSON](t, r)
	if inc.Severity != incident.SeverityCritical || inc.TLP != incident.TLPRed || inc.Assignee != "ana" || inc.Title != "Bank phishing" ||
		len(inc.Organisations) != 1 {
		t.Errorf("changed %+v", inc)
	}
	if a := f.lastAudit(); a.Action != "incident.assign" || a.Actor != "ana" || !strings.Contains(a.Detail, "API token") {
		t.Errorf("audit %+v", a)
	}
	if p := decode[incidentPageJSON](t, f.get("/incidents?organisation=bank&assignee=ana", "ana")); p.Total != 1 {
		t.Errorf("by organisation and assignee: %d", p.Total)
	}
	for body, param := range map[string]string{`{"tlp":"PINK"}`: "tlp", `{"pap":"x"}`: "pap", `{"severity":"x"}`: "severity",
		`{"assignee":"ca"}`: "assignee", `{"assignee":"pub"}`: "assignee", `{"kind":"malware"}`: "kind", `{"title":5}`: "title"} {
		wantError(t, f.sendJSON("PATCH", "/incidents/"+d.a, "ana", body), http.StatusBadRequest, "bad_parameter", param)
	}
	wantError(t, f.sendJSON("PATCH", "/incidents/"+d.a, "ana", `{"title":" "}`), http.StatusBadRequest, "bad_input", "")
	wantError(t, f.sendJSON("PATCH", "/incidents/2026-9999", "ana", `{}`), http.StatusNotFound, "not_found", "")
	// The incident is being handled: the bank cannot be deleted, and says why.
	del := f.do("DELETE", "/organisations/"+orgID, "ada", nil)
	wantError(t, del, http.StatusConflict, "organisation_has_incidents", "")
	if msg := errorMessage(t, del); !strings.Contains(msg, "incidents") {
		t.Errorf("message %q", msg)
	}
	r = f.sendJSON("PATCH", "/incidents/"+d.a, "ana", `{"assignee":""}`)
	if inc := decode[incidentJSON](t, r); inc.Assignee != "" {
		t.Errorf("unassigned: %+v", inc)
	}
}

func checkWorkIncident(t *testing.T, f *fixture, d incidentData) {
	base := "/incidents/" + d.a
	r := f.postJSON(base+"/transition", "ana", `{"status":"in_progress"}`)
	if inc := decode[incidentJSON](t, r); inc.Status != incident.StatusInProgress {
		t.Errorf("status %s", inc.Status)
	}
	wantError(t, f.postJSON(base+"/transition", "ana", `{"status":"closed"}`), http.StatusBadRequest, "bad_input", "")
	wantError(t, f.postJSON(base+"/transition", "ana", `{"status":"done"}`), http.StatusBadRequest, "bad_parameter", "status")

	r = f.postJSON(base+"/tasks", "ana", `{"playbook":true}`)
	checkSchema(t, "TaskList", r.body)
	var tasks taskListJSON
	json.Unmarshal(r.body, &tasks)
	if r.status != http.StatusCreated || len(tasks.Tasks) < 3 || tasks.Tasks[0].Playbook != "phishing" {
		t.Errorf("playbook tasks: %d %s", r.status, r.body)
	}
	r = f.postJSON(base+"/tasks", "ana", `{"title":"Call the bank"}`)
	if json.Unmarshal(r.body, &tasks); r.status != http.StatusCreated || len(tasks.Tasks) != 1 || tasks.Tasks[0].Title != "Call the bank" {
		t.Errorf("a task by hand: %d %s", r.status, r.body)
	}
	wantError(t, f.postJSON(base+"/tasks", "ana", `{"title":"x","playbook":true}`), http.StatusBadRequest, "bad_parameter", "title")
	wantError(t, f.postJSON(base+"/tasks", "ana", `{}`), http.StatusBadRequest, "bad_input", "")
	wantError(t, f.postJSON(base+"/tasks", "ana", `{"playbook":true,"steps":["nap"]}`), http.StatusBadRequest, "bad_input", "")
	r = f.postJSON(base+"/tasks/"+strconv.FormatInt(d.task, 10)+"/done", "ana", "")
	checkSchema(t, "Task", r.body)
	if task := decode[taskJSON](t, r); !task.Done || task.By != "ana" {
		t.Errorf("done: %+v", task)
	}
	wantError(t, f.postJSON(base+"/tasks/99999/done", "ana", ""), http.StatusNotFound, "not_found", "")

	r = f.postJSON(base+"/notes", "ana", `{"text":"called the bank"}`)
	checkSchema(t, "TimelineEntry", r.body)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), "called the bank") {
		t.Errorf("note: %d %s", r.status, r.body)
	}
	wantError(t, f.postJSON(base+"/notes", "ana", `{"text":""}`), http.StatusBadRequest, "bad_input", "")

	q := strconv.FormatInt(d.queue[1], 10)
	r = f.postJSON(base+"/reports", "ana", `{"ids":[`+q+`]}`)
	if c := decode[countJSON](t, r); c.Changed != 1 {
		t.Errorf("linked %+v", c)
	}
	wantError(t, f.postJSON(base+"/reports", "ana", `{"ids":[]}`), http.StatusBadRequest, "bad_parameter", "ids")

	wantError(t, f.postJSON(base+"/merge", "ana", `{"from":["2026-9999"]}`), http.StatusNotFound, "not_found", "")
	wantError(t, f.postJSON(base+"/merge", "ana", `{"from":["x"]}`), http.StatusBadRequest, "bad_parameter", "from")
	wantError(t, f.postJSON(base+"/merge", "ana", `{"from":[]}`), http.StatusBadRequest, "bad_parameter", "from")
	wantError(t, f.postJSON(base+"/merge", "ana", `{"from":["`+d.a+`"]}`), http.StatusBadRequest, "bad_input", "")
	r = f.postJSON(base+"/merge", "ana", `{"from":["`+d.b+`"],"reason":"same mail"}`)
	checkSchema(t, "Incident", r.body)
	decode[incidentJSON](t, r)
	b := decode[incidentDetailJSON](t, f.get("/incidents/"+d.b, "ana"))
	if b.Status != incident.StatusClosed || b.MergedInto != d.aID {
		t.Errorf("merged incident %+v", b.incidentJSON)
	}
	a := decode[incidentDetailJSON](t, f.get(base, "ana"))
	if a.Reports != 3 || len(a.Tasks) < 5 {
		t.Errorf("after the work: %d reports, %d tasks", a.Reports, len(a.Tasks))
	}
}
