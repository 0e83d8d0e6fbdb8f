package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// caseEnv is a console with an analyst, a publisher, a constituent and
// an organisation, and reports received through incident.Service.
type caseEnv struct {
	*testEnv
	org constituency.Organisation
}

const casePassword = "the case handler's passphrase"

func newCaseEnv(t *testing.T) *caseEnv {
	t.Helper()
	env := &caseEnv{testEnv: newEnv(t, nil)}
	ctx := context.Background()
	env.org = constituency.Organisation{Handle: "bank-x", Name: "Bank X", Language: "en"}
	if err := env.store.CreateOrganisation(ctx, &env.org); err != nil {
		t.Fatal(err)
	}
	env.addUser("analyst", auth.RoleAnalyst, casePassword)
	env.addUser("other", auth.RoleAnalyst, casePassword)
	env.addUser("publisher", auth.RolePublisher, casePassword)
	u := env.addUser("constituent", auth.RoleConstituent, casePassword)
	u.OrgID = env.org.ID
	if err := env.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return env
}

// receive stores a report as the intake would, and returns its receipt.
func (e *caseEnv) receive(kind incident.Kind, text string) incident.Receipt {
	e.t.Helper()
	r := incident.Report{Channel: incident.ChannelWeb, Kind: kind, Received: time.Now(), Text: text,
		Reporter: incident.Reporter{Name: "Citizen", Email: "citizen@mail.example"}, Observables: extract.Find(text)}
	rec, err := e.console.cases().Receive(context.Background(), &r)
	if err != nil {
		e.t.Fatal(err)
	}
	return rec
}

func (e *caseEnv) analyst() *browser {
	b := e.browser()
	b.login("analyst", casePassword)
	return b
}

// openIncident opens an incident from the reports through the queue's
// form and returns its tag.
func (e *caseEnv) openIncident(b *browser, ids ...int64) string {
	e.t.Helper()
	b.get("/reports")
	form := url.Values{}
	for _, id := range ids {
		form.Add("report", strconv.FormatInt(id, 10))
	}
	res := b.post("/reports/open", form)
	m := regexp.MustCompile(`^/incidents/([0-9]+-[0-9]+)\?done=incident-opened$`).FindStringSubmatch(res.location)
	if res.status != http.StatusSeeOther || m == nil {
		e.t.Fatalf("open incident: status %d, location %q, body %.500s", res.status, res.location, res.body)
	}
	return m[1]
}

func (e *caseEnv) timeline(tag string) []incident.Entry {
	e.t.Helper()
	tg, err := incident.ParseTag(tag)
	if err != nil {
		e.t.Fatal(err)
	}
	inc, err := e.store.GetIncidentByTag(context.Background(), tg)
	if err != nil {
		e.t.Fatal(err)
	}
	entries, err := e.store.Timeline(context.Background(), inc.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return entries
}

func (e *caseEnv) incident(tag string) incident.Incident {
	e.t.Helper()
	tg, _ := incident.ParseTag(tag)
	inc, err := e.store.GetIncidentByTag(context.Background(), tg)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func hasEntry(entries []incident.Entry, kind incident.EntryKind, text string) bool {
	for _, en := range entries {
		if en.Kind == kind && strings.Contains(en.Text, text) {
			return true
		}
	}
	return false
}

// TestCasePagesNeedPermission shows that a publisher and a constituent
// get neither the queue nor an incident, and cannot change one.
func TestCasePagesNeedPermission(t *testing.T) {
	env := newCaseEnv(t)
	rec := env.receive(incident.KindPhishing, "secret report text at https://evil-bank.be/login")
	tag := env.openIncident(env.analyst(), rec.ReportID)
	for _, who := range []string{"publisher", "constituent"} {
		b := env.browser()
		b.login(who, casePassword)
		for _, path := range []string{"/reports", "/reports/new", "/incidents", "/incidents/" + tag} {
			res := b.get(path)
			if res.status != http.StatusForbidden || strings.Contains(res.body, "secret report") || strings.Contains(res.body, "evil-bank.be") {
				t.Errorf("%s GET %s: status %d, want 403 without the data", who, path, res.status)
			}
		}
		res := b.post("/incidents/"+tag+"/notes", url.Values{"note": {"sneaky"}})
		if res.status != http.StatusForbidden || hasEntry(env.timeline(tag), incident.EntryNote, "sneaky") {
			t.Errorf("%s posted a note: status %d", who, res.status)
		}
		res = b.post("/reports/close", url.Values{"report": {strconv.FormatInt(rec.ReportID, 10)}, "reason": {"x"}})
		if res.status != http.StatusForbidden {
			t.Errorf("%s closed reports: status %d", who, res.status)
		}
		if strings.Contains(b.get("/").body, `href="/incidents"`) {
			t.Errorf("%s sees the incidents in the menu", who)
		}
	}
	// Without a session: the login page, never the data.
	res := env.browser().get("/incidents/" + tag)
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.location, "/login") {
		t.Errorf("anonymous: status %d location %q", res.status, res.location)
	}
	// Without the CSRF token: refused.
	b := env.analyst()
	res = b.post("/incidents/"+tag+"/notes", url.Values{"note": {"forged"}, "csrf": {""}})
	if res.status != http.StatusForbidden || hasEntry(env.timeline(tag), incident.EntryNote, "forged") {
		t.Errorf("a post without the CSRF token: status %d", res.status)
	}
}

// TestTriageQueue walks the queue: filters and counts, opening an
// incident from two reports, linking one by tag, closing with a reason,
// and the problems of each form said on the page.
func TestTriageQueue(t *testing.T) {
	env := newCaseEnv(t)
	r1 := env.receive(incident.KindPhishing, "a mail linking to https://one-bank.be/login")
	r2 := env.receive(incident.KindPhishing, "a text message with https://two-bank.be/pay")
	r3 := env.receive(incident.KindMalware, "my laptop shows a ransom note")
	r4 := env.receive(incident.KindFraud, "spam about a lottery")
	b := env.analyst()

	res := b.get("/reports")
	mustContain(t, res.body, r1.Tracking, r2.Tracking, r3.Tracking, r4.Tracking, "4 reports", `href="/reports"`)
	res = b.get("/reports?kind=phishing")
	mustContain(t, res.body, r1.Tracking, r2.Tracking, "2 reports")
	if strings.Contains(res.body, r3.Tracking) {
		t.Error("the kind filter shows a malware report")
	}
	if res = b.get("/reports?channel=phone"); strings.Contains(res.body, r1.Tracking) || !strings.Contains(res.body, "0 reports") {
		t.Error("the channel filter shows web reports as phone ones")
	}
	res = b.get("/reports?sort=oldest")
	if strings.Index(res.body, r1.Tracking) > strings.Index(res.body, r4.Tracking) {
		t.Error("oldest first does not put the first report first")
	}

	// Nothing ticked, a bad tag, no reason: each says so.
	if res = b.post("/reports/open", url.Values{}); res.status != http.StatusBadRequest || !strings.Contains(res.body, "Select at least one report") {
		t.Errorf("open without reports: %d %.300s", res.status, res.body)
	}
	res = b.post("/reports/link", url.Values{"report": {strconv.FormatInt(r3.ReportID, 10)}, "tag": {"nonsense"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "There is no incident nonsense") {
		t.Errorf("link to a bad tag: %d", res.status)
	}
	res = b.post("/reports/close", url.Values{"report": {strconv.FormatInt(r4.ReportID, 10)}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "Give a reason") {
		t.Errorf("close without a reason: %d", res.status)
	}

	tag := env.openIncident(b, r1.ReportID, r2.ReportID)
	page := b.get("/incidents/" + tag + "?done=incident-opened")
	mustContain(t, page.body, "The incident was opened.", r1.Tracking, r2.Tracking, "https://one-bank.be/login",
		`href="/events?url=https%3A%2F%2Fone-bank.be%2Flogin"`, `href="/events?fqdn=two-bank.be"`, "fraud / phishing")
	if !hasEntry(env.timeline(tag), incident.EntryCreated, "") {
		t.Error("no created line on the timeline")
	}
	// A report linked already cannot open another incident.
	res = b.post("/reports/open", url.Values{"report": {strconv.FormatInt(r1.ReportID, 10)}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "linked to another incident") {
		t.Errorf("reopening a linked report: %d %.300s", res.status, res.body)
	}

	res = b.post("/reports/link", url.Values{"report": {strconv.FormatInt(r3.ReportID, 10)}, "tag": {tag}})
	if res.status != http.StatusSeeOther || res.location != "/incidents/"+tag+"?done=reports-linked" {
		t.Fatalf("link: %d %q", res.status, res.location)
	}
	mustContain(t, b.get("/incidents/"+tag).body, "Reports linked</strong>: <span class=\"mono\">"+r3.Tracking)
	if inc := env.incident(tag); inc.Reports != 3 {
		t.Errorf("the incident counts %d reports, want 3", inc.Reports)
	}
	res = b.post("/reports/close", url.Values{"report": {strconv.FormatInt(r4.ReportID, 10)}, "reason": {"spam"}, "back": {"kind=fraud"}})
	if res.status != http.StatusSeeOther || res.location != "/reports?kind=fraud&done=reports-closed" {
		t.Fatalf("close: %d %q", res.status, res.location)
	}
	res = b.get("/reports")
	mustContain(t, res.body, "No reports match.")
	res = b.get("/reports?state=closed")
	mustContain(t, res.body, r4.Tracking, "spam")
	for _, a := range []string{"incident.create", "incident.link", "report.close"} {
		if !contains(env.auditActions(), a) {
			t.Errorf("no %s in the audit log", a)
		}
	}
}

// TestIncidentForms changes an incident through each of its page's forms
// and checks what it says, the timeline line, and the refusals.
func TestIncidentForms(t *testing.T) {
	env := newCaseEnv(t)
	rec := env.receive(incident.KindPhishing, "phish at https://evil-bank.be/x")
	b := env.analyst()
	tag := env.openIncident(b, rec.ReportID)
	base := "/incidents/" + tag
	post := func(path string, form url.Values, done string) {
		t.Helper()
		res := b.post(base+path, form)
		if res.status != http.StatusSeeOther || res.location != base+"?done="+done {
			t.Fatalf("POST %s: status %d location %q body %.500s", path, res.status, res.location, res.body)
		}
	}

	// A move that needs a reason, without one; a move the workflow
	// forbids; an unknown account: each is said, nothing changes.
	res := b.post(base+"/status", url.Values{"status": {"resolved"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "give a reason to move to resolved") {
		t.Errorf("resolve without a reason: %d %.300s", res.status, res.body)
	}
	res = b.post(base+"/status", url.Values{"status": {"sideways"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "sideways is not a status") {
		t.Errorf("unknown status: %d", res.status)
	}
	res = b.post(base+"/assign", url.Values{"assignee": {"9999"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "Choose an account that may handle incidents") {
		t.Errorf("assign to nobody known: %d", res.status)
	}
	res = b.post(base+"/notes", url.Values{"note": {"  "}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "a note needs some text") {
		t.Errorf("an empty note: %d", res.status)
	}
	if inc := env.incident(tag); inc.Status != incident.StatusNew || inc.AssigneeID != 0 {
		t.Fatalf("refused forms changed the incident: %+v", inc)
	}

	post("/assign", url.Values{"assignee": {"me"}}, "incident-assigned")
	post("/fields", url.Values{"severity": {"critical"}, "tlp": {"RED"}, "pap": {"GREEN"}, "title": {"Bank X phishing"},
		"orgs-shown": {"1"}, "org": {strconv.FormatInt(env.org.ID, 10)}}, "incident-changed")
	post("/playbook", url.Values{}, "incident-tasks")
	post("/playbook", url.Values{}, "incident-tasks") // adds nothing twice
	post("/status", url.Values{"status": {"in_progress"}}, "incident-status")
	post("/notes", url.Values{"note": {"Called the bank's SOC."}}, "incident-note")
	tasks, err := env.store.Tasks(context.Background(), env.incident(tag).ID)
	if err != nil || len(tasks) == 0 {
		t.Fatalf("tasks: %v %v", tasks, err)
	}
	if n := len(incident.PlaybookFor(incident.KindPhishing, "phishing").Steps); len(tasks) != n {
		t.Errorf("%d tasks after adding the playbook twice, want %d", len(tasks), n)
	}
	post("/tasks/"+strconv.FormatInt(tasks[0].ID, 10)+"/done", url.Values{}, "incident-task")
	res = b.post(base+"/tasks/999999/done", url.Values{})
	if res.status != http.StatusNotFound {
		t.Errorf("completing a task of nothing: %d", res.status)
	}
	post("/status", url.Values{"status": {"resolved"}, "reason": {"site taken down"}}, "incident-status")

	inc := env.incident(tag)
	if inc.Status != incident.StatusResolved || inc.StatusReason != "site taken down" || inc.Assignee != "analyst" ||
		inc.Severity != incident.SeverityCritical || inc.TLP != incident.TLPRed || inc.PAP != incident.PAPGreen ||
		inc.Title != "Bank X phishing" || len(inc.OrgIDs) != 1 || inc.OrgIDs[0] != env.org.ID {
		t.Errorf("incident after the forms: %+v", inc)
	}
	entries := env.timeline(tag)
	for _, k := range []incident.EntryKind{incident.EntryAssigned, incident.EntryField, incident.EntryTaskAdded,
		incident.EntryTaskDone, incident.EntryStatus, incident.EntryNote} {
		if !hasEntry(entries, k, "") {
			t.Errorf("no %s line on the timeline", k)
		}
	}
	page := b.get(base)
	mustContain(t, page.body, "resolved", "site taken down", "Called the bank&#39;s SOC.", `href="/constituency/`+strconv.FormatInt(env.org.ID, 10)+`"`,
		"Bank X", "TLP:RED", "PAP:GREEN", "critical", "done by analyst", "Task done</strong>", tasks[0].Title)
	for _, a := range []string{"incident.assign", "incident.update", "incident.task.add", "incident.task.done", "incident.status", "incident.note"} {
		if !contains(env.auditActions(), a) {
			t.Errorf("no %s in the audit log", a)
		}
	}
	if res := b.get("/incidents/2026-999999"); res.status != http.StatusNotFound {
		t.Errorf("an unknown tag: %d", res.status)
	}
}

// TestIncidentList filters the list by status, assignee and overdue and
// shows the countdown.
func TestIncidentList(t *testing.T) {
	env := newCaseEnv(t)
	b := env.analyst()
	mine := env.openIncident(b, env.receive(incident.KindDoS, "traffic from 203.0.113.9").ReportID)
	theirs := env.openIncident(b, env.receive(incident.KindVulnerability, "an old server").ReportID)
	b.get("/incidents/" + mine)
	if res := b.post("/incidents/"+mine+"/assign", url.Values{"assignee": {"me"}}); res.status != http.StatusSeeOther {
		t.Fatalf("assign: %d", res.status)
	}
	res := b.get("/incidents")
	mustContain(t, res.body, mine, theirs, "2 incidents", "due in ")
	res = b.get("/incidents?assignee=mine")
	if !strings.Contains(res.body, `href="/incidents/`+mine+`"`) || strings.Contains(res.body, `href="/incidents/`+theirs+`"`) {
		t.Error("mine shows another's incident or misses mine")
	}
	res = b.get("/incidents?assignee=none")
	if strings.Contains(res.body, `href="/incidents/`+mine+`"`) || !strings.Contains(res.body, `href="/incidents/`+theirs+`"`) {
		t.Error("unassigned is wrong")
	}
	if res = b.get("/incidents?overdue=1"); !strings.Contains(res.body, "No incidents match.") {
		t.Error("new incidents are overdue")
	}
	// Thirty days on, both are overdue.
	env.console.now = func() time.Time { return time.Now().Add(30 * 24 * time.Hour) }
	res = b.get("/incidents?overdue=1&sort=due")
	mustContain(t, res.body, mine, theirs, "overdue by ")
	if res = b.get("/incidents?status=closed"); !strings.Contains(res.body, "No incidents match.") {
		t.Error("the closed filter shows open incidents")
	}
}

// TestPhoneLog logs a call: the text is required, the observables are
// extracted, and the report waits in the queue with channel phone.
func TestPhoneLog(t *testing.T) {
	env := newCaseEnv(t)
	b := env.analyst()
	b.get("/reports/new")
	res := b.post("/reports/new", url.Values{"kind": {"fraud"}, "name": {"Mrs Peeters"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "Write down what the caller said") || !strings.Contains(res.body, "Mrs Peeters") {
		t.Errorf("a call without text: %d", res.status)
	}
	res = b.post("/reports/new", url.Values{"kind": {"nonsense"}, "text": {"x"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "nonsense is not a kind of report") {
		t.Errorf("an unknown kind: %d", res.status)
	}
	res = b.post("/reports/new", url.Values{"kind": {"fraud"}, "name": {"Mrs Peeters"}, "phone": {"+32 2 123 45 67"},
		"text": {"A caller from hxxps://fake-bank[.]be asked for her card code."}})
	if res.status != http.StatusSeeOther || res.location != "/reports?done=report-logged" {
		t.Fatalf("log a call: %d %q %.300s", res.status, res.location, res.body)
	}
	page, err := env.store.ListReports(context.Background(), incident.ReportQuery{Channels: []incident.Channel{incident.ChannelPhone}})
	if err != nil || len(page.Reports) != 1 {
		t.Fatalf("phone reports: %v %v", page, err)
	}
	r, err := env.store.GetReport(context.Background(), page.Reports[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Reporter.Name != "Mrs Peeters" || r.Kind != incident.KindFraud || r.State != incident.ReportNew {
		t.Errorf("the logged report: %+v", r)
	}
	found := false
	for _, o := range r.Observables {
		found = found || o.Kind == extract.URL && o.Value == "https://fake-bank.be"
	}
	if !found {
		t.Errorf("no refanged URL among %v", r.Observables)
	}
	mustContain(t, b.get("/reports?channel=phone").body, r.Tracking, "phone or visit")
	if !contains(env.auditActions(), "report.log") {
		t.Error("no report.log in the audit log")
	}
}

// TestOrganisationIncidents shows an organisation's incidents on its
// page and the delete refused with its own message while one is open.
func TestOrganisationIncidents(t *testing.T) {
	env := newCaseEnv(t)
	b := env.analyst()
	tag := env.openIncident(b, env.receive(incident.KindDataLeak, "customer data of Shop Y on a paste site").ReportID)
	// An organisation without accounts, so that only the incident holds
	// its delete back.
	shop := constituency.Organisation{Handle: "shop-y", Name: "Shop Y", Language: "en"}
	if err := env.store.CreateOrganisation(context.Background(), &shop); err != nil {
		t.Fatal(err)
	}
	org := strconv.FormatInt(shop.ID, 10)
	if strings.Contains(b.get("/constituency/"+org).body, `id="org-incidents"`) {
		t.Error("the page lists incidents before any concerns the organisation")
	}
	b.get("/incidents/" + tag)
	if res := b.post("/incidents/"+tag+"/fields", url.Values{"orgs-shown": {"1"}, "org": {org}}); res.status != http.StatusSeeOther {
		t.Fatalf("set the organisation: %d", res.status)
	}
	mustContain(t, b.get("/constituency/"+org).body, `id="org-incidents"`, `href="/incidents/`+tag+`"`)
	if res := b.get("/incidents?status=all&org=" + org); !strings.Contains(res.body, tag) {
		t.Error("the list filtered by organisation misses its incident")
	}
	b.get("/constituency/" + org + "/delete")
	res := b.post("/constituency/"+org+"/delete", url.Values{"confirm": {"shop-y"}})
	if res.status != http.StatusConflict || !strings.Contains(res.body, "Incidents still being handled concern this organisation") ||
		strings.Contains(res.body, "accounts belong") {
		t.Errorf("delete with an open incident: %d %.400s", res.status, res.body)
	}
}

// TestMergeAndTriage merges a duplicate incident into another from its
// page, and marks a report triaged from the queue.
func TestMergeAndTriage(t *testing.T) {
	env := newCaseEnv(t)
	b := env.analyst()
	keep := env.openIncident(b, env.receive(incident.KindPhishing, "see https://dupe-bank.com/a").ReportID)
	dupe := env.openIncident(b, env.receive(incident.KindPhishing, "see https://other-bank.net/b").ReportID)
	loose := env.receive(incident.KindOther, "a question about passwords")
	b.get("/incidents/" + dupe)
	res := b.post("/incidents/"+dupe+"/merge", url.Values{"into": {keep}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "Give a reason for the merge") {
		t.Errorf("merge without a reason: %d", res.status)
	}
	res = b.post("/incidents/"+dupe+"/merge", url.Values{"into": {dupe}, "reason": {"same"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "cannot be merged into itself") {
		t.Errorf("merge into itself: %d", res.status)
	}
	res = b.post("/incidents/"+dupe+"/merge", url.Values{"into": {keep}, "reason": {"the same campaign"}})
	if res.status != http.StatusSeeOther || res.location != "/incidents/"+keep+"?done=incident-merged" {
		t.Fatalf("merge: %d %q %.300s", res.status, res.location, res.body)
	}
	if inc := env.incident(keep); inc.Reports != 2 {
		t.Errorf("the survivor has %d reports, want 2", inc.Reports)
	}
	if inc := env.incident(dupe); inc.Status != incident.StatusClosed || inc.MergedInto != env.incident(keep).ID {
		t.Errorf("the merged incident: %+v", inc)
	}
	mustContain(t, b.get("/incidents/"+dupe).body, `href="/incidents/`+keep+`" id="merged-into"`, "merged into incident "+keep)
	if !hasEntry(env.timeline(keep), incident.EntryMerged, "the same campaign") {
		t.Error("no merged line on the survivor's timeline")
	}

	b.get("/reports")
	res = b.post("/reports/triage", url.Values{"report": {strconv.FormatInt(loose.ReportID, 10)}})
	if res.status != http.StatusSeeOther || res.location != "/reports?done=reports-triaged" {
		t.Fatalf("triage: %d %q", res.status, res.location)
	}
	if r, err := env.store.GetReport(context.Background(), loose.ReportID); err != nil || r.State != incident.ReportTriaged {
		t.Errorf("the report after triage: %+v %v", r.State, err)
	}
	mustContain(t, b.get("/reports?state=triaged").body, loose.Tracking)
	if !contains(env.auditActions(), "incident.merge") || !contains(env.auditActions(), "report.triage") {
		t.Error("merge or triage not in the audit log")
	}
}
