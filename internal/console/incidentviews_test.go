package console

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// viewsEnv is a case console with three incidents: a phishing one of a
// URL (assigned to the analyst), a DoS one (waiting for a reply) and a
// malware one (closed).
type viewsEnv struct {
	*caseEnv
	b                      *browser
	phish, dos, malware    string
	phishReport, dosReport incident.Receipt
	queued                 incident.Receipt
}

func newViewsEnv(t *testing.T) *viewsEnv {
	env := &viewsEnv{caseEnv: newCaseEnv(t)}
	env.b = env.analyst()
	env.phishReport = env.receive(incident.KindPhishing, "A mail sends me to https://views-bank.be/login to type my code")
	env.dosReport = env.receive(incident.KindDoS, "Our uplink is saturated by 198.51.100.23")
	env.queued = env.receive(incident.KindFraud, "A fake shop at https://cheap-shop.be asked for a transfer")
	mal := env.receive(incident.KindMalware, "Ransomware note on the file server")
	env.phish = env.openIncident(env.b, env.phishReport.ReportID)
	env.dos = env.openIncident(env.b, env.dosReport.ReportID)
	env.malware = env.openIncident(env.b, mal.ReportID)
	env.b.get("/incidents/" + env.phish)
	env.mustPost("/incidents/"+env.phish+"/assign", url.Values{"assignee": {"me"}})
	env.mustPost("/incidents/"+env.dos+"/status", url.Values{"status": {"triage"}})
	env.mustPost("/incidents/"+env.dos+"/status", url.Values{"status": {"in_progress"}})
	env.mustPost("/incidents/"+env.dos+"/status", url.Values{"status": {"waiting"}, "reason": {"asked the ISP"}})
	env.mustPost("/incidents/"+env.malware+"/status", url.Values{"status": {"closed"}, "reason": {"cleaned"}})
	return env
}

func (e *viewsEnv) userID(name string) int64 {
	e.t.Helper()
	u, err := e.store.GetUserByName(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

func (e *viewsEnv) mustPost(path string, form url.Values) response {
	e.t.Helper()
	res := e.b.post(path, form)
	if res.status != http.StatusSeeOther {
		e.t.Fatalf("POST %s: %d %.400s", path, res.status, res.body)
	}
	return res
}

// listed returns the tags of the incident list's rows in a page.
func listed(body string) []string {
	var out []string
	for _, part := range strings.Split(body, `<tr id="incident-`)[1:] {
		out = append(out, part[:strings.IndexByte(part, '"')])
	}
	return out
}

// TestIncidentSearch searches the list by text, observable, kind,
// severity, organisation, status and dates, and finds the reports of the
// same text or observable.
func TestIncidentSearch(t *testing.T) {
	env := newViewsEnv(t)
	today := time.Now().UTC().Format(searchDate)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(searchDate)
	for query, want := range map[string][]string{
		"":                                    {env.dos, env.phish},
		"status=all&observable=views-bank.be": {env.phish},
		"status=all&observable=198.51.100.23": {env.dos},
		"status=all&kind=malware":             {env.malware},
		"status=all&kind=malware&severity=critical": nil,
		"status=closed":                            {env.malware},
		"status=all&from=" + today:                 {env.malware, env.dos, env.phish},
		"status=all&from=" + tomorrow:              nil,
		"status=all&to=" + today:                   {env.malware, env.dos, env.phish},
		"status=all&from=not-a-date&kind=dos":      {env.dos},
		"org=" + strconv.FormatInt(env.org.ID, 10): nil,
	} {
		res := env.b.get("/incidents?" + query)
		got := listed(res.body)
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		if res.status != http.StatusOK || !slices.Equal(got, w) {
			t.Errorf("%q: %d, %v, want %v", query, res.status, got, w)
		}
	}
	// The text is the incident's title, which names the report's kind.
	res := env.b.get("/incidents?status=all&text=" + url.QueryEscape(env.incident(env.dos).Title))
	if got := listed(res.body); !slices.Equal(got, []string{env.dos}) {
		t.Errorf("by title: %v", got)
	}
	// A search by observable links to the reports that name it.
	res = env.b.get("/incidents?observable=views-bank.be")
	mustContain(t, res.body, `id="matching-reports"`, "1 report matches", `/reports?observable=views-bank.be&amp;state=all`)
	// By text alone the reports are not counted (a text search reads
	// every report), only linked.
	res = env.b.get("/incidents?text=uplink")
	mustContain(t, res.body, `id="matching-reports"`, "Search the reports for this text", `/reports?state=all&amp;text=uplink`)
	res = env.b.get("/reports?observable=views-bank.be&state=all")
	mustContain(t, res.body, env.phishReport.Tracking, "1 report")
	if strings.Contains(res.body, env.queued.Tracking) {
		t.Error("the report search by observable shows another report")
	}
}

// TestReportSearch searches the triage queue by text, observable,
// state and dates.
func TestReportSearch(t *testing.T) {
	env := newViewsEnv(t)
	today := time.Now().UTC().Format(searchDate)
	all := []string{env.phishReport.Tracking, env.dosReport.Tracking, env.queued.Tracking}
	for query, want := range map[string][]string{
		"":                                   {env.queued.Tracking},
		"state=all":                          all,
		"state=all&text=UPLINK+IS+SATURATED": {env.dosReport.Tracking},
		"state=all&observable=https://cheap-shop.be":         {env.queued.Tracking},
		"state=all&kind=phishing&from=" + today:              {env.phishReport.Tracking},
		"state=all&to=2000-01-01":                            nil,
		"state=all&org=" + strconv.FormatInt(env.org.ID, 10): nil,
	} {
		res := env.b.get("/reports?" + query)
		for _, tr := range all {
			if strings.Contains(res.body, tr) != slices.Contains(want, tr) {
				t.Errorf("%q: %s shown %v", query, tr, !slices.Contains(want, tr))
			}
		}
	}
}

// TestIncidentViews counts the built-in views and marks the current one.
func TestIncidentViews(t *testing.T) {
	env := newViewsEnv(t)
	res := env.b.get("/incidents")
	for view, n := range map[string]int{"open": 2, "mine": 1, "unassigned": 1, "overdue": 0, "waiting": 1, "closed": 1} {
		re := `id="view-` + view + `"`
		i := strings.Index(res.body, re)
		if i < 0 {
			t.Fatalf("no view %s", view)
		}
		link := res.body[i : i+strings.Index(res.body[i:], "</a>")]
		if !strings.Contains(link, `<span class="badge">`+strconv.Itoa(n)+`</span>`) {
			t.Errorf("view %s: %s, want %d", view, link, n)
		}
	}
	mustContain(t, res.body, `id="view-open" class="current" aria-current="page"`)
	res = env.b.get("/incidents?assignee=mine")
	mustContain(t, res.body, `id="view-mine" class="current"`)
	if got := listed(res.body); !slices.Equal(got, []string{env.phish}) {
		t.Errorf("mine: %v", got)
	}
	res = env.b.get("/incidents?status=waiting")
	if got := listed(res.body); !slices.Equal(got, []string{env.dos}) {
		t.Errorf("waiting for reply: %v", got)
	}
	// The other analyst's "mine" is empty.
	b := env.browser()
	b.login("other", casePassword)
	res = b.get("/incidents?assignee=mine")
	if got := listed(res.body); len(got) != 0 {
		t.Errorf("another's mine: %v", got)
	}
}

func readCSV(t *testing.T, res response) [][]string {
	t.Helper()
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(res.header.Get("Content-Disposition"), `attachment; filename="vigil-`) {
		t.Fatalf("export: %d %v %.300s", res.status, res.header, res.body)
	}
	r := csv.NewReader(strings.NewReader(res.body))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestListExports exports the incident list's and the queue's search as
// CSV: only what the search selects, formulas defused, at most
// exportRows rows, audited.
func TestListExports(t *testing.T) {
	env := newViewsEnv(t)
	env.mustPost("/incidents/"+env.phish+"/fields", url.Values{"title": {`=HYPERLINK("http://evil.example","click")`}})
	hostile := env.receive(incident.KindOther, "@SUM(1+1) and -2+3 and +cmd|' /C calc'!A0")
	rows := readCSV(t, env.b.get("/incidents.csv?status=all&sort=created"))
	if len(rows) != 4 || rows[0][0] != "tag" || rows[0][1] != "title" {
		t.Fatalf("incidents: %q", rows)
	}
	if rows[3][0] != env.phish || rows[3][1] != `'=HYPERLINK("http://evil.example","click")` || rows[3][9] != "analyst" {
		t.Errorf("the phishing incident's row: %q", rows[3])
	}
	rows = readCSV(t, env.b.get("/incidents.csv?kind=dos"))
	if len(rows) != 2 || rows[1][0] != env.dos || rows[1][2] != "waiting" {
		t.Errorf("the DoS search: %q", rows)
	}
	rows = readCSV(t, env.b.get("/reports.csv"))
	if len(rows) != 3 || rows[0][0] != "tracking" {
		t.Fatalf("the queue: %q", rows)
	}
	for _, row := range rows[1:] {
		if row[0] == hostile.Tracking && row[11] != "'@SUM(1+1) and -2+3 and +cmd|' /C calc'!A0" {
			t.Errorf("the hostile text: %q", row[11])
		}
	}
	// The export stops at exportRows, and says so; the reports are read
	// a page at a time.
	defer func(n, p int) { exportRows, exportReportsPage = n, p }(exportRows, exportReportsPage)
	exportRows, exportReportsPage = 3, 2
	rows = readCSV(t, env.b.get("/reports.csv?state=all"))
	if len(rows) != 5 || len(rows[4]) != 1 || !strings.Contains(rows[4][0], "stops after 3 rows") || rows[1][0] == rows[3][0] {
		t.Errorf("a cut export: %q", rows)
	}
	if n := strings.Count(strings.Join(env.auditActions(), " "), "export"); n != 4 {
		t.Errorf("%d exports audited, want 4: %v", n, env.auditActions())
	}
	// Who may not read incidents gets no export.
	for _, who := range []string{"publisher", "constituent"} {
		b := env.browser()
		b.login(who, casePassword)
		for _, path := range []string{"/incidents.csv?status=all", "/reports.csv?state=all"} {
			if res := b.get(path); res.status != http.StatusForbidden || strings.Contains(res.body, "views-bank") {
				t.Errorf("%s GET %s: %d", who, path, res.status)
			}
		}
	}
}

// TestBulkAssign assigns ticked incidents on the list and the incidents
// of ticked reports in the queue, each through the service; who may not
// handle incidents, no tick or an unknown account changes nothing.
func TestBulkAssign(t *testing.T) {
	env := newViewsEnv(t)
	otherID := env.userID("other")
	env.b.get("/incidents")
	res := env.mustPost("/incidents/assign", url.Values{"incident": {env.phish, env.dos}, "assignee": {strconv.FormatInt(otherID, 10)},
		"back": {"status=all"}})
	if res.location != "/incidents?status=all&done=incidents-assigned" {
		t.Errorf("back to %q", res.location)
	}
	for _, tag := range []string{env.phish, env.dos} {
		if inc := env.incident(tag); inc.AssigneeID != otherID || !hasEntry(env.timeline(tag), incident.EntryAssigned, "other") {
			t.Errorf("%s: assignee %d", tag, inc.AssigneeID)
		}
	}
	if n := strings.Count(strings.Join(env.auditActions(), " "), "incident.assign"); n != 3 {
		t.Errorf("%d assignments audited, want 3 (one before, two now)", n)
	}
	for name, form := range map[string]url.Values{
		"no tick":             {"assignee": {"me"}},
		"unknown tag":         {"incident": {"2000-999999"}, "assignee": {"me"}},
		"unknown account":     {"incident": {env.phish}, "assignee": {"999999"}},
		"publisher's account": {"incident": {env.phish}, "assignee": {strconv.FormatInt(env.userID("publisher"), 10)}},
	} {
		if res := env.b.post("/incidents/assign", form); res.status != http.StatusBadRequest || !strings.Contains(res.body, `class="problem"`) {
			t.Errorf("%s: %d", name, res.status)
		}
	}
	// The queue: the ticked reports' incidents, each once.
	env.b.get("/reports?state=all")
	res = env.mustPost("/reports/assign", url.Values{"report": {strconv.FormatInt(env.phishReport.ReportID, 10),
		strconv.FormatInt(env.dosReport.ReportID, 10), strconv.FormatInt(env.queued.ReportID, 10)}, "assignee": {"me"}, "back": {"state=all"}})
	if res.location != "/reports?state=all&done=incidents-assigned" {
		t.Errorf("back to %q", res.location)
	}
	for _, tag := range []string{env.phish, env.dos} {
		if inc := env.incident(tag); inc.Assignee != "analyst" {
			t.Errorf("%s: assignee %q", tag, inc.Assignee)
		}
	}
	if res := env.b.post("/reports/assign", url.Values{"report": {strconv.FormatInt(env.queued.ReportID, 10)}, "assignee": {"me"}}); res.status != http.StatusBadRequest ||
		!strings.Contains(res.body, "None of the ticked reports belongs to an incident") {
		t.Errorf("reports without incident: %d", res.status)
	}
	// Who may only read, or not even that, cannot assign.
	for _, who := range []string{"publisher", "constituent"} {
		b := env.browser()
		b.login(who, casePassword)
		for _, path := range []string{"/incidents/assign", "/reports/assign"} {
			res := b.post(path, url.Values{"incident": {env.phish}, "report": {strconv.FormatInt(env.phishReport.ReportID, 10)}, "assignee": {"me"}})
			if res.status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d", who, path, res.status)
			}
		}
	}
	if inc := env.incident(env.phish); inc.Assignee != "analyst" {
		t.Errorf("after the refusals the assignee is %q", inc.Assignee)
	}
}

// TestSplitReportForm splits the part of a report that is about another
// matter into a new report in the queue, with that part's observables.
func TestSplitReportForm(t *testing.T) {
	env := newCaseEnv(t)
	b := env.analyst()
	part := "Also: my neighbour got an SMS linking to https://parcel-fee.be/pay"
	rec := env.receive(incident.KindPhishing, "A mail sends me to https://split-bank.be/login\r\n"+part)
	res := b.get("/reports/" + strconv.FormatInt(rec.ReportID, 10) + "/split")
	mustContain(t, res.body, `id="split-form"`, "parcel-fee.be/pay")
	// A textarea sends CR LF line ends; the part is found all the same.
	res = b.post("/reports/"+strconv.FormatInt(rec.ReportID, 10)+"/split", url.Values{"part": {"  " + part + "\r\n"}})
	if res.status != http.StatusSeeOther || res.location != "/reports?done=report-split" {
		t.Fatalf("split: %d %q %.300s", res.status, res.location, res.body)
	}
	orig, err := env.store.GetReport(context.Background(), rec.ReportID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(orig.Text, "parcel-fee") {
		t.Errorf("the report kept the part: %q", orig.Text)
	}
	page, err := env.store.ListReports(context.Background(), incident.ReportQuery{Text: "parcel-fee.be"})
	if err != nil || len(page.Reports) != 1 || page.Reports[0].Text != part {
		t.Fatalf("the new report: %+v, %v", page.Reports, err)
	}
	split, _ := env.store.GetReport(context.Background(), page.Reports[0].ID)
	if split.SplitFrom != rec.ReportID || !slices.Contains(split.Observables, extract.Observable{Kind: extract.URL, Value: "https://parcel-fee.be/pay"}) {
		t.Errorf("the new report: %+v", split)
	}
	if !slices.Contains(env.auditActions(), "report.split") {
		t.Error("the split is not audited")
	}
	for name, p := range map[string]string{"empty": " ", "not in the text": "something else", "the whole text": orig.Text} {
		res := b.post("/reports/"+strconv.FormatInt(rec.ReportID, 10)+"/split", url.Values{"part": {p}})
		if res.status != http.StatusBadRequest || !strings.Contains(res.body, `class="problem"`) {
			t.Errorf("%s: %d", name, res.status)
		}
	}
	if res := b.get("/reports/999999/split"); res.status != http.StatusNotFound {
		t.Errorf("no such report: %d", res.status)
	}
	pub := env.browser()
	pub.login("publisher", casePassword)
	if res := pub.post("/reports/"+strconv.FormatInt(rec.ReportID, 10)+"/split", url.Values{"part": {"A mail"}}); res.status != http.StatusForbidden {
		t.Errorf("a publisher split: %d", res.status)
	}
}

// TestAttachmentDownloads downloads the attachments of an incident and
// of its reports: a download of bytes in a sandbox, never shown; a hash
// of another incident is not found through this one.
func TestAttachmentDownloads(t *testing.T) {
	env := newCaseEnv(t)
	b := env.analyst()
	ctx := context.Background()
	page := []byte(`<html><script>document.title="ran"</script>hello</html>`)
	sum, err := env.store.PutBlob(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	r := incident.Report{Channel: incident.ChannelWeb, Kind: incident.KindPhishing, Received: time.Now(), Text: "see the file",
		Attachments: []incident.Attachment{{SHA256: sum, Name: "invoice \"2026\".html", ContentType: "text/html", Size: int64(len(page))}}}
	rec, err := env.console.cases().Receive(ctx, &r)
	if err != nil {
		t.Fatal(err)
	}
	tag := env.openIncident(b, rec.ReportID)
	other := env.openIncident(b, env.receive(incident.KindMalware, "another matter").ReportID)
	secret, err := env.console.cases().Attach(ctx, incident.Actor{Name: "analyst"}, env.incident(other).ID, "secret.txt", "text/plain", []byte("the other incident's secret"))
	if err != nil {
		t.Fatal(err)
	}
	res := b.get("/incidents/" + tag)
	mustContain(t, res.body, `id="incident-attachments"`, "invoice &#34;2026&#34;.html", sum, "/incidents/"+tag+"/attachments/"+sum, rec.Tracking)
	for _, path := range []string{"/incidents/" + tag + "/attachments/" + sum, "/reports/" + strconv.FormatInt(rec.ReportID, 10) + "/attachments/" + sum} {
		res = b.get(path)
		h := res.header
		if res.status != http.StatusOK || res.body != string(page) || h.Get("Content-Type") != "application/octet-stream" ||
			h.Get("Content-Disposition") != `attachment; filename="invoice__2026_.html"; filename*=UTF-8''invoice%20%222026%22.html` ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Security-Policy") != incident.DownloadPolicy {
			t.Errorf("GET %s: %d %v", path, res.status, h)
		}
	}
	for _, path := range []string{
		"/incidents/" + tag + "/attachments/" + secret.SHA256,
		"/reports/" + strconv.FormatInt(rec.ReportID, 10) + "/attachments/" + secret.SHA256,
		"/incidents/" + tag + "/attachments/" + strings.Repeat("0", 64),
		"/incidents/" + tag + "/attachments/..%2f..%2fetc",
	} {
		if res := b.get(path); res.status != http.StatusNotFound || strings.Contains(res.body, "secret") {
			t.Errorf("GET %s: %d", path, res.status)
		}
	}
	if res := b.get("/incidents/" + other + "/attachments/" + secret.SHA256); res.status != http.StatusOK || res.body != "the other incident's secret" {
		t.Errorf("the other incident's own: %d", res.status)
	}
	pub := env.browser()
	pub.login("publisher", casePassword)
	if res := pub.get("/incidents/" + tag + "/attachments/" + sum); res.status != http.StatusForbidden || strings.Contains(res.body, "script") {
		t.Errorf("a publisher's download: %d", res.status)
	}
}
