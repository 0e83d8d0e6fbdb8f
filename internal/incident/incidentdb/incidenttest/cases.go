package incidenttest

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

func testOperations(t *testing.T, f *fixture) {
	ctx := t.Context()
	a := f.receive(t, phishing("https://a.evil.example/"))
	b := f.receive(t, phishing("https://b.evil.example/"))
	c := f.receive(t, phishing("https://c.evil.example/"))
	inc, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Bank campaign"}, []int64{a.ReportID, b.ReportID})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Tag.Seq != 1 || inc.Reports != 2 || inc.Kind != incident.KindPhishing || inc.Type != "phishing" || inc.Status != incident.StatusNew {
		t.Errorf("created %+v", inc)
	}
	_, err = f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Twice"}, []int64{a.ReportID})
	wantInput(t, "an incident of a linked report", err)
	_, err = f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Ghost"}, []int64{99999})
	wantNotFound(t, "an incident of an unknown report", err)
	_, err = f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Bad", Type: "phishing", Taxonomy: "intrusions"}, nil)
	wantInput(t, "a wrong taxonomy", err)
	if n, err := f.svc.LinkReports(ctx, analyst, inc.ID, []int64{c.ReportID, a.ReportID}); err != nil || n != 1 {
		t.Errorf("LinkReports = %d, %v; want one linked (the other is there already)", n, err)
	}
	// A later report of an URL the analyst grouped by hand joins it.
	if got := f.receive(t, phishing("https://c.evil.example/")); got.IncidentID != inc.ID {
		t.Errorf("a report of a linked report's URL went to %d, want %d", got.IncidentID, inc.ID)
	}
	// Moving a report to another incident moves its count.
	other, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Other"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.LinkReports(ctx, analyst, other.ID, []int64{b.ReportID}); err != nil {
		t.Fatal(err)
	}
	if got, moved := f.incident(t, inc.ID).Reports, f.incident(t, other.ID).Reports; got != 3 || moved != 1 {
		t.Errorf("after a move the counters are %d and %d, want 3 and 1", got, moved)
	}
	_, err = f.svc.LinkReports(ctx, analyst, 99999, []int64{c.ReportID})
	wantNotFound(t, "linking to an unknown incident", err)

	bob := f.user(t, "bob")
	f.now = f.now.Add(time.Hour)
	sev, title, typ, orgs := incident.SeverityCritical, "Bank campaign, wave 2", "masquerade", []int64{7, 3, 7}
	changed, err := f.svc.Update(ctx, analyst, inc.ID, incident.Change{Severity: &sev, Title: &title, Type: &typ, OrgIDs: &orgs})
	if err != nil {
		t.Fatal(err)
	}
	if changed.Severity != sev || !changed.Due.Equal(inc.Created.Add(4*time.Hour)) || changed.Title != title ||
		changed.Taxonomy != "fraud" || !slices.Equal(changed.OrgIDs, []int64{3, 7}) || !changed.Updated.Equal(f.now) {
		t.Errorf("updated %+v", changed)
	}
	bad := "made-up"
	_, err = f.svc.Update(ctx, analyst, inc.ID, incident.Change{Type: &bad})
	wantInput(t, "an unknown RSIT type", err)
	tlp := incident.TLP("PURPLE")
	_, err = f.svc.Update(ctx, analyst, inc.ID, incident.Change{TLP: &tlp})
	wantInput(t, "an unknown TLP", err)
	if got := f.incident(t, inc.ID); got.Title != title || got.TLP != incident.TLPAmber {
		t.Errorf("a refused change changed %+v", got)
	}
	assigned, err := f.svc.Assign(ctx, analyst, inc.ID, bob.ID, bob.Name)
	if err != nil || assigned.AssigneeID != bob.ID || assigned.Assignee != "bob" {
		t.Errorf("Assign = %+v, %v", assigned, err)
	}
	_, err = f.svc.Assign(ctx, analyst, inc.ID, 4242, "nobody")
	wantNotFound(t, "assigning to an unknown account", err)
	if err := f.accounts.DeleteUser(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.incident(t, inc.ID); got.AssigneeID != 0 || got.Assignee != "" {
		t.Errorf("the deleted account still handles it: %+v", got)
	}
	want := "created report_linked report_linked report_linked report_linked field field field field field assigned"
	if got := f.timeline(t, inc.ID); got != want {
		t.Errorf("timeline\n%s\nwant\n%s", got, want)
	}
	list, _ := f.inc.Timeline(ctx, inc.ID)
	for _, e := range list {
		if e.Kind == incident.EntryField && e.Details["field"] == "severity" &&
			(e.Details["from"] != "medium" || e.Details["to"] != "critical" || e.Actor != "alice") {
			t.Errorf("severity entry %+v", e)
		}
	}
	wantAudit := []string{"incident.create", "incident.link", "incident.create", "incident.link", "incident.update", "incident.assign"}
	if got := f.audit(t); !slices.Equal(got, wantAudit) {
		t.Errorf("audit %q, want %q", got, wantAudit)
	}
}

func testWorkflow(t *testing.T, f *fixture) {
	ctx := t.Context()
	inc, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "DoS on the portal", Kind: incident.KindDoS}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Severity != incident.SeverityHigh || !inc.Due.Equal(f.now.Add(24*time.Hour)) || inc.Type != "dos" {
		t.Errorf("a DoS incident %+v", inc)
	}
	steps := []struct {
		to     incident.Status
		reason string
		ok     bool
	}{
		{incident.StatusTriage, "", true},
		{incident.StatusWaiting, "", false},
		{incident.StatusWaiting, "asked the provider for flows", true},
		{incident.StatusNew, "back", false},
		{incident.StatusInProgress, "", true},
		{incident.StatusResolved, "filtered upstream", true},
		{incident.StatusClosed, "", true},
		{incident.StatusResolved, "x", false},
		{incident.StatusInProgress, "", false},
		{incident.StatusInProgress, "it started again", true},
	}
	for _, s := range steps {
		f.now = f.now.Add(time.Minute)
		got, err := f.svc.Transition(ctx, analyst, inc.ID, s.to, s.reason)
		if !s.ok {
			wantInput(t, "to "+string(s.to), err)
			continue
		}
		if err != nil || got.Status != s.to || got.StatusReason != s.reason {
			t.Fatalf("to %s: %+v, %v", s.to, got, err)
		}
		if (s.to == incident.StatusClosed) != !got.Closed.IsZero() {
			t.Errorf("to %s: closed at %v", s.to, got.Closed)
		}
	}
	if got := f.timeline(t, inc.ID); got != "created status status status status status status" {
		t.Errorf("timeline %q", got)
	}
	if got := f.audit(t); len(got) != 7 || got[6] != "incident.status" {
		t.Errorf("audit %q", got)
	}
}

func testTasks(t *testing.T, f *fixture) {
	ctx := t.Context()
	inc, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Phishing", Kind: incident.KindPhishing}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nl, err := f.svc.AddPlaybookTasks(ctx, analyst, inc.ID, "nl", "takedown")
	if err != nil || len(nl) != 1 || nl[0].Title != "Vraag de hoster en de registrar om de site offline te halen" || nl[0].Step != "takedown" {
		t.Fatalf("a Dutch analyst's task: %+v, %v", nl, err)
	}
	all, err := f.svc.AddPlaybookTasks(ctx, analyst, inc.ID, "de")
	if err != nil || len(all) != 5 || all[0].Title != "Die vollständigen Kopfzeilen der Mail sammeln" {
		t.Fatalf("the whole playbook in German: %+v, %v", all, err)
	}
	_, err = f.svc.AddPlaybookTasks(ctx, analyst, inc.ID, "en", "mitigate")
	wantInput(t, "a step of another playbook", err)
	own, err := f.svc.AddTask(ctx, analyst, inc.ID, "Call the bank's CERT")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.AddTask(ctx, analyst, inc.ID, "  ")
	wantInput(t, "an empty task", err)
	f.now = f.now.Add(time.Hour)
	done, err := f.svc.CompleteTask(ctx, incident.Actor{Name: "bob"}, inc.ID, own.ID)
	if err != nil || !done.Done || done.By != "bob" || !done.At.Equal(f.now) {
		t.Errorf("CompleteTask = %+v, %v", done, err)
	}
	_, err = f.svc.CompleteTask(ctx, analyst, inc.ID+1, own.ID)
	wantNotFound(t, "a task of another incident", err)
	tasks, err := f.inc.Tasks(ctx, inc.ID)
	if err != nil || len(tasks) != 7 || !tasks[6].Done || tasks[0].Done || tasks[6].Playbook != "" {
		t.Errorf("Tasks = %+v, %v", tasks, err)
	}
	if _, err := f.svc.AddNote(ctx, analyst, inc.ID, "The host answered."); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.AddNote(ctx, analyst, inc.ID, "")
	wantInput(t, "an empty note", err)
	shot := []byte("\x89PNG screenshot")
	att, err := f.svc.Attach(ctx, analyst, inc.ID, "screenshot.png", "image/png", shot)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Attach(ctx, analyst, inc.ID, "same.png", "image/png", shot); err != nil {
		t.Fatal(err)
	}
	var blobs int
	if err := f.st.DB().QueryRow(ctx, `SELECT count(*) FROM incident_blobs`).Scan(&blobs); err != nil || blobs != 1 {
		t.Errorf("%d blobs for one content twice, %v", blobs, err)
	}
	got := f.incident(t, inc.ID)
	if len(got.Attachments) != 2 || got.Attachments[0].SHA256 != att.SHA256 || got.Attachments[1].Name != "same.png" {
		t.Errorf("attachments %+v", got.Attachments)
	}
	want := "created task_added task_added task_added task_added task_added task_added task_added task_done note note note"
	if got := f.timeline(t, inc.ID); got != want {
		t.Errorf("timeline\n%s\nwant\n%s", got, want)
	}
	wantAudit := []string{"incident.create", "incident.task.add", "incident.task.add", "incident.task.add", "incident.task.done",
		"incident.note", "incident.attach", "incident.attach"}
	if got := f.audit(t); !slices.Equal(got, wantAudit) {
		t.Errorf("audit %q, want %q", got, wantAudit)
	}
}

func testMerge(t *testing.T, f *fixture) {
	ctx := t.Context()
	f.receive(t, phishing("https://one.evil.example/"))
	one := f.receive(t, phishing("https://one.evil.example/"))
	f.receive(t, phishing("https://two.evil.example/"))
	two := f.receive(t, phishing("https://two.evil.example/"))
	if _, err := f.svc.AddPlaybookTasks(ctx, analyst, two.IncidentID, "en", "takedown"); err != nil {
		t.Fatal(err)
	}
	orgs := []int64{5}
	if _, err := f.svc.Update(ctx, analyst, two.IncidentID, incident.Change{OrgIDs: &orgs}); err != nil {
		t.Fatal(err)
	}
	err := f.svc.Merge(ctx, analyst, one.IncidentID, one.IncidentID, "")
	wantInput(t, "merging into itself", err)
	if err := f.svc.Merge(ctx, analyst, one.IncidentID, two.IncidentID, "one campaign"); err != nil {
		t.Fatal(err)
	}
	survivor, merged := f.incident(t, one.IncidentID), f.incident(t, two.IncidentID)
	if survivor.Reports != 4 || len(survivor.Observables) != 3 || !slices.Equal(survivor.OrgIDs, []int64{5}) {
		t.Errorf("survivor %+v", survivor)
	}
	if merged.Status != incident.StatusClosed || merged.MergedInto != survivor.ID || merged.Reports != 0 || len(merged.Observables) != 0 {
		t.Errorf("merged %+v", merged)
	}
	if tasks, _ := f.inc.Tasks(ctx, survivor.ID); len(tasks) != 1 {
		t.Errorf("survivor's tasks %+v", tasks)
	}
	linked, _ := f.inc.ListReports(ctx, incident.ReportQuery{IncidentID: survivor.ID})
	if linked.Total != 4 {
		t.Errorf("%d reports on the survivor", linked.Total)
	}
	tl := f.timeline(t, survivor.ID)
	if strings.Count(tl, "created") != 2 || !strings.HasSuffix(tl, "merged") || strings.Count(tl, "report_linked") != 4 {
		t.Errorf("survivor's timeline %q", tl)
	}
	if got := f.timeline(t, merged.ID); got != "merged" {
		t.Errorf("merged one's timeline %q", got)
	}
	err = f.svc.Merge(ctx, analyst, one.IncidentID, two.IncidentID, "again")
	wantInput(t, "merging a merged incident", err)
	_, err = f.svc.Transition(ctx, analyst, two.IncidentID, incident.StatusInProgress, "reopen it")
	wantInput(t, "reopening a merged incident", err)
	// A report of the merged incident's URL joins the survivor.
	if got := f.receive(t, phishing("https://two.evil.example/")); got.IncidentID != survivor.ID {
		t.Errorf("a report of the merged URL went to %d, want %d", got.IncidentID, survivor.ID)
	}
	closed, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Closed"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Transition(ctx, analyst, closed.ID, incident.StatusClosed, "duplicate"); err != nil {
		t.Fatal(err)
	}
	wantInput(t, "merging into a closed incident", f.svc.Merge(ctx, analyst, closed.ID, one.IncidentID, ""))
	wantNotFound(t, "merging an unknown incident", f.svc.Merge(ctx, analyst, one.IncidentID, 99999, ""))
	_, err = f.svc.LinkReports(ctx, analyst, two.IncidentID, []int64{two.ReportID})
	wantInput(t, "linking to a merged incident", err)
}

// testMergeWhileReceiving merges one incident into another while reports
// of both incidents' URLs arrive: every report ends on the survivor,
// none on the merged one, and no transaction fails (a deadlock between
// the merge's locks and the receivers' would).
func testMergeWhileReceiving(t *testing.T, f *fixture) {
	ctx := t.Context()
	f.receive(t, phishing("https://left.evil.example/"))
	left := f.receive(t, phishing("https://left.evil.example/"))
	f.receive(t, phishing("https://right.evil.example/"))
	right := f.receive(t, phishing("https://right.evil.example/"))
	const each = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*each+1)
	start := make(chan struct{})
	for i := range 2 * each {
		url := "https://left.evil.example/"
		if i%2 == 1 {
			url = "https://right.evil.example/"
		}
		wg.Go(func() {
			<-start
			r := phishing(url)
			if _, err := f.svc.Receive(ctx, &r); err != nil {
				errs <- err
			}
		})
	}
	wg.Go(func() {
		<-start
		if err := f.svc.Merge(ctx, analyst, left.IncidentID, right.IncidentID, "one campaign"); err != nil {
			errs <- err
		}
	})
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("at once: %v", err)
	}
	survivor, merged := f.incident(t, left.IncidentID), f.incident(t, right.IncidentID)
	if survivor.Reports != 4+2*each || merged.Reports != 0 {
		t.Errorf("survivor holds %d reports, the merged one %d; want %d and 0", survivor.Reports, merged.Reports, 4+2*each)
	}
	on, _ := f.inc.ListReports(ctx, incident.ReportQuery{IncidentID: merged.ID})
	queue, _ := f.inc.ListReports(ctx, incident.ReportQuery{States: []incident.ReportState{incident.ReportNew}})
	if on.Total != 0 || queue.Total != 0 {
		t.Errorf("%d reports on the merged incident, %d in the queue; want none", on.Total, queue.Total)
	}
}

func testSplit(t *testing.T, f *fixture) {
	ctx := t.Context()
	r := phishing("https://mixed.evil.example/")
	r.Text = "First, a phishing mail. Second, my laptop is infected."
	got := f.receive(t, r)
	part := " Second, my laptop is infected."
	split, err := f.svc.SplitReport(ctx, analyst, got.ReportID, part, []extract.Observable{{Kind: extract.IP, Value: "198.51.100.9"}})
	if err != nil {
		t.Fatal(err)
	}
	if split.Text != part || split.SplitFrom != got.ReportID || split.State != incident.ReportNew || split.Tracking == got.Tracking {
		t.Errorf("split report %+v", split)
	}
	if orig := f.report(t, got.ReportID); orig.Text != "First, a phishing mail." {
		t.Errorf("the original keeps %q", orig.Text)
	}
	if back := f.report(t, split.ID); len(back.Observables) != 1 || back.Reporter.Email != "jan@example.org" {
		t.Errorf("stored split report %+v", back)
	}
	_, err = f.svc.SplitReport(ctx, analyst, got.ReportID, "not in the text", nil)
	wantInput(t, "splitting off text the report lacks", err)
	_, err = f.svc.SplitReport(ctx, analyst, got.ReportID, "First, a phishing mail.", nil)
	wantInput(t, "splitting off the whole text", err)
	_, err = f.svc.SplitReport(ctx, analyst, 99999, "x", nil)
	wantNotFound(t, "splitting an unknown report", err)
	// A linked report's split is on its incident's timeline.
	f.receive(t, phishing("https://mixed.evil.example/"))
	linked := f.report(t, got.ReportID)
	if linked.IncidentID == 0 {
		t.Fatal("the report was not grouped")
	}
	if _, err := f.svc.SplitReport(ctx, analyst, linked.ID, "phishing", nil); err != nil {
		t.Fatal(err)
	}
	if tl := f.timeline(t, linked.IncidentID); !strings.HasSuffix(tl, "split") {
		t.Errorf("timeline %q", tl)
	}
}

func testCloseReports(t *testing.T, f *fixture) {
	ctx := t.Context()
	spam := f.receive(t, phishing("https://spam-1.example/"))
	spam2 := f.receive(t, phishing("https://spam-2.example/"))
	f.receive(t, phishing("https://kept.example/"))
	linked := f.receive(t, phishing("https://kept.example/"))
	_, err := f.svc.CloseReports(ctx, analyst, []int64{spam.ReportID}, " ")
	wantInput(t, "closing without a reason", err)
	n, err := f.svc.CloseReports(ctx, analyst, []int64{spam.ReportID, spam2.ReportID, linked.ReportID}, "spam")
	if err != nil || n != 2 {
		t.Errorf("CloseReports = %d, %v; want the two unlinked closed", n, err)
	}
	if r := f.report(t, spam.ReportID); r.State != incident.ReportClosed || r.CloseReason != "spam" {
		t.Errorf("closed report %+v", r)
	}
	if r := f.report(t, linked.ReportID); r.State != incident.ReportLinked {
		t.Errorf("a linked report was closed: %+v", r)
	}
	// A closed report's key passes to the next report of its URL.
	if got := f.receive(t, phishing("https://spam-1.example/")); got.IncidentID != 0 {
		t.Errorf("a report grouped with a closed report into %d", got.IncidentID)
	}
	looked := f.receive(t, phishing("https://looked-at.example/"))
	if n, err := f.svc.TriageReports(ctx, analyst, []int64{looked.ReportID, spam.ReportID, linked.ReportID}); err != nil || n != 1 {
		t.Errorf("TriageReports = %d, %v; want the one new report marked", n, err)
	}
	if r := f.report(t, looked.ReportID); r.State != incident.ReportTriaged {
		t.Errorf("triaged report %+v", r)
	}
	if r := f.report(t, spam.ReportID); r.State != incident.ReportClosed {
		t.Errorf("a closed report was triaged: %+v", r)
	}
	if got := f.audit(t); len(got) != 2 || got[0] != "report.close" || got[1] != "report.triage" {
		t.Errorf("audit %q", got)
	}
}
