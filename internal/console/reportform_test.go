package console

import (
	"bytes"
	"context"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

// testClock is a console clock the test moves, so that the form's age is
// what the test says.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newReportEnv is a console whose clock the test moves.
func newReportEnv(t *testing.T, change func(*ReportForm)) (*testEnv, *testClock) {
	t.Helper()
	e := newEnv(t, func(cfg *Config) {
		if change != nil {
			change(&cfg.ReportForm)
		}
	})
	clock := &testClock{now: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	e.console.now = clock.Now
	return e, clock
}

// reportFile is one file a test attaches to the form.
type reportFile struct {
	name, contentType string
	data              []byte
}

// postReport sends the report form as a browser does (multipart), with
// the form token of the last page unless fields sets csrf.
func (b *browser) postReport(path string, fields map[string]string, files ...reportFile) response {
	b.env.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if _, set := fields["csrf"]; !set {
		_ = mw.WriteField("csrf", b.csrf)
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	for _, f := range files {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="files"; filename="`+f.name+`"`)
		h.Set("Content-Type", f.contentType)
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(f.data)
	}
	_ = mw.Close()
	if lang := fields["lang"]; lang != "" && path == "/report" {
		path += "?lang=" + lang // as the form's action says
	}
	req, err := http.NewRequest(http.MethodPost, b.env.server.URL+path, &body)
	if err != nil {
		b.env.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

var (
	stampField    = regexp.MustCompile(`name="stamp" value="([^"]+)"`)
	trackingField = regexp.MustCompile(`id="tracking" class="mono">(R-\d{4}-\d+)<`)
	statusHref    = regexp.MustCompile(`id="status-link" href="([^"]+)"`)
)

// openForm loads the form in lang and returns its fields' hidden values.
func openForm(t *testing.T, b *browser, lang string) map[string]string {
	t.Helper()
	res := b.get("/report?lang=" + lang)
	if res.status != http.StatusOK {
		t.Fatalf("GET /report: %d", res.status)
	}
	m := stampField.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatal("the form has no stamp")
	}
	return map[string]string{"stamp": html.UnescapeString(m[1]), "lang": lang}
}

// validReport is a report that the form accepts, on top of the form's
// hidden fields.
func validReport(fields map[string]string, url string) map[string]string {
	fields["kind"] = "phishing"
	fields["concerned"] = url
	fields["text"] = "A mail from my bank asked me to log in at " + url + " and came from alerts@bank-secure.be."
	fields["name"] = "Jan Peeters"
	fields["email"] = "jan@example.org"
	return fields
}

// sent reads the tracking number and status link of an answer page.
func sent(t *testing.T, res response) (tracking, link string) {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("report refused: %d\n%s", res.status, res.body)
	}
	m, l := trackingField.FindStringSubmatch(res.body), statusHref.FindStringSubmatch(res.body)
	if m == nil || l == nil {
		t.Fatalf("no tracking number or status link on the answer:\n%s", res.body)
	}
	return m[1], html.UnescapeString(l[1])
}

func TestReportFormStoresReport(t *testing.T) {
	e, clock := newReportEnv(t, nil)
	b := e.browser()
	fields := openForm(t, b, "en")
	for _, want := range []string{"not a place to lodge a complaint", "go to the police", `name="website"`, `value="vulnerability"`, "Do not click its links"} {
		if !strings.Contains(html.UnescapeString(b.get("/report?lang=en").body), want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	clock.Add(5 * time.Second)
	eml := []byte("From: alerts@bank-secure.be\r\nReply-To: claims@bank-refund.net\r\nSubject: Your account\r\n\r\n" +
		"Log in at http://bank-secure.be/login or https://bank-refund.net/claim\r\n")
	answer := b.postReport("/report", validReport(fields, "hxxp://bank-secure[.]be/login"),
		reportFile{"forward.eml", "message/rfc822", eml})
	tracking, link := sent(t, answer)
	if !strings.Contains(answer.body, `value="`+e.server.URL+html.EscapeString(link)+`"`) {
		t.Errorf("the answer does not give the full link to copy:\n%s", answer.body)
	}

	ctx := context.Background()
	rep, err := e.store.GetReportByTracking(ctx, tracking)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != incident.KindPhishing || rep.Channel != incident.ChannelWeb || rep.Language != "en" ||
		rep.Reporter.Email != "jan@example.org" || rep.Reporter.Name != "Jan Peeters" {
		t.Errorf("stored report %+v", rep)
	}
	for _, want := range []extract.Observable{
		{Kind: extract.URL, Value: "http://bank-secure.be/login"},
		{Kind: extract.Email, Value: "alerts@bank-secure.be"},
		// Only in the forwarded mail: read as the mail intake reads mail.
		{Kind: extract.Email, Value: "claims@bank-refund.net"},
		{Kind: extract.URL, Value: "https://bank-refund.net/claim"},
	} {
		if !slices.Contains(rep.Observables, want) {
			t.Errorf("observables %v lack %v", rep.Observables, want)
		}
	}
	if len(rep.Attachments) != 1 || rep.Attachments[0].ContentType != "message/rfc822" || rep.Attachments[0].Name != "forward.eml" {
		t.Fatalf("attachments %+v", rep.Attachments)
	}
	if data, err := e.store.GetBlob(ctx, rep.Attachments[0].SHA256); err != nil || !bytes.Equal(data, eml) {
		t.Errorf("attachment blob %q, %v", data, err)
	}
	res := b.get(link)
	if res.status != http.StatusOK || !strings.Contains(res.body, tracking) || !strings.Contains(res.body, "waits for an analyst") {
		t.Errorf("status page %d:\n%s", res.status, res.body)
	}

	// A second report of the same URL opens an incident of both, filed
	// under the kind's RSIT type; the first reporter's link says so.
	b2 := e.browser()
	fields2 := openForm(t, b2, "nl")
	clock.Add(5 * time.Second)
	tracking2, link2 := sent(t, b2.postReport("/report", validReport(fields2, "http://bank-secure.be/login")))
	rep2, err := e.store.GetReportByTracking(ctx, tracking2)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := e.store.GetIncident(ctx, rep2.IncidentID)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Taxonomy != "fraud" || inc.Type != "phishing" || inc.Reports != 2 {
		t.Errorf("incident %s/%s with %d reports", inc.Taxonomy, inc.Type, inc.Reports)
	}
	if res := b.get(link); !strings.Contains(res.body, "part of an incident") || !strings.Contains(res.body, "The incident is new.") {
		t.Errorf("status after grouping:\n%s", res.body)
	}
	// The status page is in the reporter's language and shows nothing of
	// the incident beyond its status, nor of the other report.
	res = b.get(link2)
	if !strings.Contains(res.body, "Het incident is nieuw.") || !strings.Contains(res.body, `lang="nl"`) {
		t.Errorf("the second reporter's status is not in Dutch:\n%s", res.body)
	}
	for _, secret := range []string{tracking, "bank-secure", inc.Title, "Jan Peeters", "jan@example.org", inc.Tag.String()} {
		if strings.Contains(res.body, secret) {
			t.Errorf("the status page shows %q", secret)
		}
	}

	// The outcome: the incident resolved, with a reason only the team
	// reads, and merged into another one; the link follows the merge.
	svc := e.console.reports.service
	analyst := incident.Actor{UserID: 1, Name: "alice"}
	if _, err := svc.Transition(ctx, analyst, inc.ID, incident.StatusResolved, "takedown by registrar; analyst note"); err != nil {
		t.Fatal(err)
	}
	res = b.get(link)
	if !strings.Contains(res.body, "The incident is resolved.") || strings.Contains(res.body, "analyst note") {
		t.Errorf("status after resolving:\n%s", res.body)
	}
	other, err := svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Bank phishing wave", Kind: incident.KindPhishing}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, analyst, inc.ID, incident.StatusInProgress, "reopened"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Merge(ctx, analyst, other.ID, inc.ID, "same wave"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Transition(ctx, analyst, other.ID, incident.StatusWaiting, "waiting for the registrar"); err != nil {
		t.Fatal(err)
	}
	res = b.get(link)
	if !strings.Contains(res.body, "waiting for an answer from others") || strings.Contains(res.body, "Bank phishing wave") {
		t.Errorf("status after the merge:\n%s", res.body)
	}
}

func TestReportStatusNotFound(t *testing.T) {
	e, clock := newReportEnv(t, nil)
	b := e.browser()
	fields := openForm(t, b, "en")
	clock.Add(3 * time.Second)
	trackingA, linkA := sent(t, b.postReport("/report", validReport(fields, "http://a.example/")))
	fields = openForm(t, b, "en")
	clock.Add(3 * time.Second)
	trackingB, linkB := sent(t, b.postReport("/report", validReport(fields, "http://b.example/")))
	tokenA, tokenB := linkToken(t, linkA), linkToken(t, linkB)

	wrong := []string{
		"/report/status/" + trackingB + "?t=" + tokenA,  // another report's token
		"/report/status/" + trackingA + "?t=" + tokenB,  // and the other way
		"/report/status/" + trackingA,                   // no token
		"/report/status/" + trackingA + "?t=x" + tokenA, // a token spoilt
		"/report/status/R-2026-999999?t=" + tokenA,      // an unknown number
	}
	var first string
	for _, path := range wrong {
		res := b.get(path)
		if res.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, res.status)
		}
		if first == "" {
			first = res.body
		} else if res.body != first {
			t.Errorf("%s answers differently from a wrong token:\n%s", path, res.body)
		}
		if strings.Contains(res.body, trackingA) || strings.Contains(res.body, trackingB) || !strings.Contains(res.body, "We know of no report with this number and link") {
			t.Errorf("%s:\n%s", path, res.body)
		}
	}
}

// linkToken is the private token of a status link.
func linkToken(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("t") == "" {
		t.Fatalf("status link %q has no token (%v)", link, err)
	}
	return u.Query().Get("t")
}

func TestReportFormRefusesBadInput(t *testing.T) {
	e, clock := newReportEnv(t, nil)
	cat := e.console.catalog
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		b := e.browser()
		fields := openForm(t, b, lang)
		clock.Add(3 * time.Second)
		fields["email"] = "not-an-address"
		fields["concerned"] = "http://kept.example/"
		res := b.postReport("/report", fields)
		if res.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", lang, res.status)
		}
		for _, want := range []string{
			cat.T(lang, msgReportErrKind), cat.T(lang, msgReportErrText), cat.T(lang, msgReportErrEmail, "not-an-address"),
		} {
			if !strings.Contains(res.body, html.EscapeString(want)) {
				t.Errorf("%s: the refusal lacks %q", lang, want)
			}
		}
		if strings.Contains(res.body, "%!") {
			t.Errorf("%s: a message has the wrong arguments:\n%s", lang, res.body)
		}
		if !strings.Contains(res.body, `value="http://kept.example/"`) || !strings.Contains(res.body, `lang="`+lang+`"`) {
			t.Errorf("%s: the form did not keep what was written, in its language", lang)
		}
	}
	if page, err := e.store.ListReports(context.Background(), incident.ReportQuery{}); err != nil || page.Total != 0 {
		t.Errorf("refused forms stored %d reports (%v)", page.Total, err)
	}

	// Without the form token, nothing is read.
	b := e.browser()
	fields := openForm(t, b, "en")
	clock.Add(3 * time.Second)
	fields["csrf"] = ""
	if res := b.postReport("/report", validReport(fields, "http://x.example/")); res.status != http.StatusForbidden {
		t.Errorf("no form token: %d, want 403", res.status)
	}
}

func TestReportFormAttachmentLimits(t *testing.T) {
	e, clock := newReportEnv(t, func(f *ReportForm) { f.MaxFiles, f.MaxFileBytes = 2, 1<<20 })
	cat := e.console.catalog
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...)
	big := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 1<<20)...)
	exe := append([]byte("MZ\x90\x00"), make([]byte, 100)...)
	cases := []struct {
		name   string
		files  []reportFile
		status int
		want   string
	}{
		{"oversize", []reportFile{{"shot.png", "image/png", big}}, http.StatusBadRequest, cat.T("de", msgReportErrFileSize, "shot.png", 1)},
		{"type", []reportFile{{"invoice.pdf.exe", "application/pdf", exe}}, http.StatusBadRequest, cat.T("de", msgReportErrFileType, "invoice.pdf.exe")},
		{"image named mail", []reportFile{{"forward.eml", "message/rfc822", exe}}, http.StatusBadRequest, cat.T("de", msgReportErrFileType, "forward.eml")},
		{"count", []reportFile{{"a.png", "image/png", png}, {"b.png", "image/png", png}, {"c.png", "image/png", png}}, http.StatusBadRequest, cat.T("de", msgReportErrFiles, 2)},
		{"body", []reportFile{{"a.png", "image/png", big}, {"b.png", "image/png", big}, {"c.png", "image/png", big}}, http.StatusRequestEntityTooLarge, cat.T("de", msgReportErrTooLarge, 2)},
	}
	for _, tc := range cases {
		b := e.browser()
		fields := openForm(t, b, "de")
		clock.Add(3 * time.Second)
		res := b.postReport("/report", validReport(fields, "http://files.example/"), tc.files...)
		if res.status != tc.status || !strings.Contains(res.body, html.EscapeString(tc.want)) || strings.Contains(res.body, "%!") {
			t.Errorf("%s: %d, want %d with %q:\n%s", tc.name, res.status, tc.status, tc.want, res.body)
		}
	}
	if page, err := e.store.ListReports(context.Background(), incident.ReportQuery{}); err != nil || page.Total != 0 {
		t.Errorf("refused files stored %d reports (%v)", page.Total, err)
	}
	// Two screenshots within the limits are kept, typed by their content.
	b := e.browser()
	fields := openForm(t, b, "de")
	clock.Add(3 * time.Second)
	tracking, _ := sent(t, b.postReport("/report", validReport(fields, "http://files.example/"),
		reportFile{"a.png", "application/octet-stream", png}, reportFile{"notes.txt", "text/plain", []byte("seen at 10:02")}))
	rep, err := e.store.GetReportByTracking(context.Background(), tracking)
	if err != nil || len(rep.Attachments) != 2 || rep.Attachments[0].ContentType != "image/png" || rep.Attachments[1].ContentType != "text/plain" {
		t.Errorf("attachments %+v (%v)", rep.Attachments, err)
	}
}

func TestReportFormSpam(t *testing.T) {
	e, clock := newReportEnv(t, func(f *ReportForm) { f.PerClient = 4 })
	ctx := context.Background()
	count := func() int {
		page, err := e.store.ListReports(ctx, incident.ReportQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return page.Total
	}

	// The honeypot: thanked, not kept, counted.
	b := e.browser()
	fields := validReport(openForm(t, b, "en"), "http://robot.example/")
	clock.Add(3 * time.Second)
	fields["website"] = "http://spam.example/"
	res := b.postReport("/report", fields)
	if res.status != http.StatusOK || !strings.Contains(res.body, "Your report was received") || trackingField.MatchString(res.body) {
		t.Errorf("honeypot: %d\n%s", res.status, res.body)
	}
	if n := count(); n != 0 || e.console.reports.discarded.Load() != 1 {
		t.Errorf("honeypot: %d reports kept, %d discarded", n, e.console.reports.discarded.Load())
	}

	// The form's age: too quick, too old, forged.
	fields = validReport(openForm(t, b, "en"), "http://quick.example/")
	res = b.postReport("/report", fields)
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "sent very quickly") {
		t.Errorf("a form sent at once: %d\n%s", res.status, res.body)
	}
	clock.Add(25 * time.Hour)
	if res = b.postReport("/report", fields); res.status != http.StatusBadRequest || !strings.Contains(res.body, "opened too long ago") {
		t.Errorf("a stale form: %d", res.status)
	}
	fields["stamp"] = strings.Split(fields["stamp"], ".")[0] + ".forged"
	if res = b.postReport("/report", fields); res.status != http.StatusBadRequest || !strings.Contains(res.body, "opened too long ago") {
		t.Errorf("a forged stamp: %d", res.status)
	}
	if n := count(); n != 0 {
		t.Errorf("%d reports kept from refused forms", n)
	}

	// The rate limit: the honeypot and the three forms refused for their
	// age counted already (4 of 4);
	// a fresh client's address is the same (127.0.0.1), so the next post
	// waits, whatever it holds.
	b = e.browser()
	fields = validReport(openForm(t, b, "fr"), "http://limit.example/")
	clock.Add(3 * time.Second)
	res = b.postReport("/report", fields)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") == "" ||
		!strings.Contains(res.body, html.EscapeString("Beaucoup de signalements ont été envoyés")) {
		t.Errorf("rate limit: %d\n%s", res.status, res.body)
	}
	if n := count(); n != 0 {
		t.Errorf("%d reports kept past the limit", n)
	}
}

func TestReportFormRateLimitSparesMistakes(t *testing.T) {
	e, clock := newReportEnv(t, func(f *ReportForm) { f.PerClient = 2 })
	b := e.browser()
	// Refused for a person's mistake: not counted.
	for range 3 {
		fields := openForm(t, b, "en")
		clock.Add(3 * time.Second)
		if res := b.postReport("/report", fields); res.status != http.StatusBadRequest {
			t.Fatalf("an empty form: %d", res.status)
		}
	}
	for i := range 2 {
		fields := openForm(t, b, "en")
		clock.Add(3 * time.Second)
		sent(t, b.postReport("/report", validReport(fields, "http://ok"+string(rune('a'+i))+".example/")))
	}
	fields := openForm(t, b, "en")
	clock.Add(3 * time.Second)
	if res := b.postReport("/report", validReport(fields, "http://third.example/")); res.status != http.StatusTooManyRequests {
		t.Errorf("the third report: %d, want 429", res.status)
	}
}

// TestReportFormSignedIn: a member of the team may use the form too
// (its page carries the session's token then).
func TestReportFormSignedIn(t *testing.T) {
	e, clock := newReportEnv(t, nil)
	e.addUser("alice", auth.RoleAnalyst, "alice's long passphrase")
	b := e.browser()
	b.login("alice", "alice's long passphrase")
	fields := openForm(t, b, "en")
	clock.Add(3 * time.Second)
	sent(t, b.postReport("/report", validReport(fields, "http://signed-in.example/")))
	fields = openForm(t, b, "en")
	clock.Add(3 * time.Second)
	fields["csrf"] = "not-the-token"
	if res := b.postReport("/report", validReport(fields, "http://signed-in.example/")); res.status != http.StatusForbidden {
		t.Errorf("a wrong token when signed in: %d", res.status)
	}
}

func TestLoginLinksToReportForm(t *testing.T) {
	e := newEnv(t, nil)
	if res := e.browser().get("/login"); !strings.Contains(res.body, `href="/report"`) {
		t.Error("the login page does not link to the report form")
	}
}

// TestReportClient: the form's limit counts an IPv6 /64 as one client,
// and IPv4 addresses one by one.
func TestReportClient(t *testing.T) {
	client := func(remote string) string {
		r := httptest.NewRequest(http.MethodPost, "/report", nil)
		r.RemoteAddr = remote
		return reportClient(r)
	}
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"[2001:db8:1:2::1]:1000", "[2001:db8:1:2:ffff::9]:2000", true},
		{"[2001:db8:1:2::1]:1000", "[2001:db8:1:3::1]:1000", false},
		{"192.0.2.1:1000", "192.0.2.2:1000", false},
		{"192.0.2.1:1000", "192.0.2.1:2000", true},
	} {
		if got := client(tc.a) == client(tc.b); got != tc.same {
			t.Errorf("%s (%s) and %s (%s): same %v, want %v", tc.a, client(tc.a), tc.b, client(tc.b), got, tc.same)
		}
	}
}
