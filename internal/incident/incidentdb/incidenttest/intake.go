package incidenttest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
)

func testReceive(t *testing.T, f *fixture) {
	ctx := t.Context()
	r := phishing("https://bank.evil.example/login")
	data := []byte("Received: from mx.evil.example\r\nSubject: Your account\r\n\r\nclick")
	sum, err := f.inc.PutBlob(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	r.Attachments = []incident.Attachment{{SHA256: sum, Name: "mail.eml", ContentType: "message/rfc822", Size: int64(len(data))}}
	got := f.receive(t, r)
	if !regexp.MustCompile(`^R-2026-[0-9]{6}$`).MatchString(got.Tracking) || got.Token == "" || got.IncidentID != 0 {
		t.Errorf("receipt %+v: want a tracking number, a token and no incident", got)
	}
	stored := f.report(t, got.ReportID)
	sumToken := sha256.Sum256([]byte(got.Token))
	if !bytes.Equal(stored.TokenHash, sumToken[:]) {
		t.Error("the report does not keep the SHA-256 of its token")
	}
	if stored.State != incident.ReportNew || stored.Kind != incident.KindPhishing || stored.Reporter.Email != "jan@example.org" ||
		!stored.Received.Equal(f.now) || len(stored.Observables) != 2 || len(stored.Attachments) != 1 || stored.Attachments[0].Name != "mail.eml" {
		t.Errorf("stored report %+v", stored)
	}
	if back, err := f.inc.GetBlob(ctx, sum); err != nil || !bytes.Equal(back, data) {
		t.Errorf("GetBlob = %q, %v", back, err)
	}
	status, err := f.svc.ReportStatus(ctx, strings.ToLower(got.Tracking), got.Token)
	if err != nil || status.ID != got.ReportID {
		t.Errorf("ReportStatus = %d, %v; want report %d", status.ID, err, got.ReportID)
	}
	other := f.receive(t, phishing("https://other.example/"))
	for name, link := range map[string][2]string{
		"unknown token":             {got.Tracking, strings.Repeat("A", 43)},
		"another report's token":    {got.Tracking, other.Token},
		"token of another tracking": {other.Tracking, got.Token},
		"empty token":               {got.Tracking, ""},
		"unknown tracking number":   {"R-2026-999999", got.Token},
		"the token's hash":          {got.Tracking, fmt.Sprintf("%x", sumToken)},
		"SQL in the tracking":       {"' OR 1=1 --", got.Token},
	} {
		_, err := f.svc.ReportStatus(ctx, link[0], link[1])
		wantNotFound(t, name, err)
	}
}

func testBrokenInput(t *testing.T, f *fixture) {
	ctx := t.Context()
	r := phishing("https://evil.example/")
	r.Text = strings.Repeat("x", incident.MaxTextBytes+1)
	_, err := f.svc.Receive(ctx, &r)
	wantInput(t, "oversize text", err)
	if err == nil || !strings.Contains(err.Error(), "the field text is too long (at most 262144 bytes)") {
		t.Errorf("oversize text: %v, want it to say which field and the bound", err)
	}
	r = phishing("https://evil.example/")
	r.Kind = "ransom"
	_, err = f.svc.Receive(ctx, &r)
	wantInput(t, "unknown kind", err)
	r = phishing("https://evil.example/")
	r.Attachments = []incident.Attachment{{SHA256: incident.HashBlob([]byte("never stored")), Name: "x.png", Size: 12}}
	_, err = f.svc.Receive(ctx, &r)
	wantNotFound(t, "an attachment of no stored blob", err)
	if page, err := f.inc.ListReports(ctx, incident.ReportQuery{}); err != nil || page.Total != 0 {
		t.Errorf("after refusals %d reports, %v; want none stored", page.Total, err)
	}
	_, err = f.inc.GetBlob(ctx, strings.Repeat("0", 64))
	wantNotFound(t, "unknown blob", err)
	_, err = f.inc.GetIncident(ctx, 12345)
	wantNotFound(t, "unknown incident", err)
	_, err = f.svc.Transition(ctx, analyst, 12345, incident.StatusTriage, "")
	wantNotFound(t, "transition of an unknown incident", err)
	_, err = f.svc.AddNote(ctx, analyst, 12345, "hello")
	wantNotFound(t, "note on an unknown incident", err)
	_, err = f.svc.AddNote(ctx, analyst, 12345, strings.Repeat("x", incident.MaxTextBytes+1))
	wantInput(t, "oversize note", err)
	// A text search with LIKE's wildcards finds them as they are written.
	r = phishing("https://evil.example/")
	r.Text = "100% sure_thing"
	f.receive(t, r)
	f.receive(t, phishing("https://plain.example/"))
	for text, want := range map[string]int{"100%": 1, "%": 1, "_": 1, `\`: 0, "": 2} {
		page, err := f.inc.ListReports(ctx, incident.ReportQuery{Text: text})
		if err != nil || page.Total != want {
			t.Errorf("text %q finds %d, %v; want %d", text, page.Total, err, want)
		}
	}
}

func testGrouping(t *testing.T, f *fixture) {
	const url = "https://bank.evil.example/login"
	first := f.receive(t, phishing(url))
	if first.IncidentID != 0 {
		t.Fatalf("the first report of a URL opened incident %d", first.IncidentID)
	}
	lone := f.receive(t, phishing("https://elsewhere.example/"))
	second := f.receive(t, phishing(url))
	if second.IncidentID == 0 || !second.Opened || second.Tag.Year != 2026 || second.Tag.Seq != 1 {
		t.Fatalf("the second report of a URL: %+v, want incident 2026-1 opened", second)
	}
	third := f.receive(t, phishing(url))
	if third.IncidentID != second.IncidentID || third.Opened {
		t.Errorf("the third report: %+v, want it linked to %d", third, second.IncidentID)
	}
	// Another key of the same report (the sender) groups too.
	bySender := phishing("https://new-path.evil.example/")
	bySender.Observables = append(bySender.Observables, extract.Observable{Kind: extract.Email, Value: "boss@evil.example"})
	third2 := phishing(url)
	third2.Observables = append(third2.Observables, extract.Observable{Kind: extract.Email, Value: "boss@evil.example"})
	f.receive(t, third2)
	fourth := f.receive(t, bySender)
	if fourth.IncidentID != second.IncidentID {
		t.Errorf("a report of the same sender: %+v, want it linked to %d", fourth, second.IncidentID)
	}
	inc := f.incident(t, second.IncidentID)
	if inc.Reports != 5 || inc.Status != incident.StatusNew || inc.Kind != incident.KindPhishing ||
		inc.Type != "phishing" || inc.Taxonomy != "fraud" || inc.TLP != incident.TLPAmber || inc.Severity != incident.SeverityMedium ||
		!inc.Due.Equal(f.now.Add(72*time.Hour)) || inc.Title != "Phishing mail or SMS: "+url {
		t.Errorf("grouped incident %+v", inc)
	}
	var values []string
	for _, o := range inc.Observables {
		values = append(values, string(o.Kind)+":"+o.Value)
	}
	want := "email:boss@evil.example ip:192.0.2.7 url:https://bank.evil.example/login url:https://new-path.evil.example/"
	if got := strings.Join(values, " "); got != want {
		t.Errorf("observables %q, want %q", got, want)
	}
	for _, id := range []int64{first.ReportID, second.ReportID, third.ReportID, fourth.ReportID} {
		if r := f.report(t, id); r.State != incident.ReportLinked || r.IncidentID != inc.ID {
			t.Errorf("report %d: %s, incident %d", id, r.State, r.IncidentID)
		}
	}
	if r := f.report(t, lone.ReportID); r.State != incident.ReportNew || r.IncidentID != 0 {
		t.Errorf("a report of another URL: %s, incident %d", r.State, r.IncidentID)
	}
	if got := f.timeline(t, inc.ID); got != "created report_linked report_linked report_linked report_linked report_linked" {
		t.Errorf("timeline %q", got)
	}
}

func testThreading(t *testing.T, f *fixture) {
	ctx := t.Context()
	const url = "https://shop.evil.example/"
	f.receive(t, phishing(url))
	opened := f.receive(t, phishing(url))
	reply := incident.Report{Channel: incident.ChannelEmail, Kind: incident.KindOther, Language: "en",
		Subject: "Re: " + opened.Tag.Subject() + " Your report", Text: "Thanks, here is the original mail."}
	got := f.receive(t, reply)
	if got.IncidentID != opened.IncidentID {
		t.Fatalf("a reply with the tag: %+v, want incident %d", got, opened.IncidentID)
	}
	if tl := f.timeline(t, opened.IncidentID); !strings.HasSuffix(tl, "mail_in") {
		t.Errorf("timeline %q, want the mail in last", tl)
	}
	reply.Subject = "Re: [VIGIL#2026-999] unknown"
	if got := f.receive(t, reply); got.IncidentID != 0 {
		t.Errorf("a tag of no incident threads onto %d", got.IncidentID)
	}
	// The tag of a merged incident threads onto the one that survived.
	other, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Another"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Merge(ctx, analyst, opened.IncidentID, other.ID, "the same campaign"); err != nil {
		t.Fatal(err)
	}
	reply.Subject = "Re: " + other.Tag.Subject()
	if got := f.receive(t, reply); got.IncidentID != opened.IncidentID {
		t.Errorf("a reply to a merged incident went to %d, want %d", got.IncidentID, opened.IncidentID)
	}
	// A contact of an organisation the incident concerns threads as its
	// organisation's; one of another organisation (which would then see
	// the incident as one it reported) as anyone's.
	concerns, err := f.svc.CreateIncident(ctx, analyst, incident.Incident{Title: "Of organisation 7", OrgIDs: []int64{7}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reply.Subject = "Re: " + concerns.Tag.Subject()
	for _, c := range []struct{ from, want int64 }{{7, 7}, {8, 0}} {
		reply.Reporter = incident.Reporter{Email: "soc@org.example", OrgID: c.from}
		got := f.receive(t, reply)
		r := f.report(t, got.ReportID)
		if r.IncidentID != concerns.ID || r.Reporter.OrgID != c.want {
			t.Errorf("a reply from a contact of organisation %d: incident %d, organisation %d; want %d and %d",
				c.from, r.IncidentID, r.Reporter.OrgID, concerns.ID, c.want)
		}
	}
}

func testClosedDoesNotGroup(t *testing.T, f *fixture) {
	ctx := t.Context()
	const url = "https://again.evil.example/"
	f.receive(t, phishing(url))
	first := f.receive(t, phishing(url))
	if _, err := f.svc.Transition(ctx, analyst, first.IncidentID, incident.StatusClosed, "taken down"); err != nil {
		t.Fatal(err)
	}
	after := f.receive(t, phishing(url))
	if after.IncidentID != 0 {
		t.Errorf("a report after the close linked to %d", after.IncidentID)
	}
	next := f.receive(t, phishing(url))
	if next.IncidentID == 0 || next.IncidentID == first.IncidentID || !next.Opened {
		t.Errorf("the next report: %+v, want a new incident", next)
	}
	if inc := f.incident(t, next.IncidentID); inc.Reports != 2 || inc.Tag.Seq != 2 {
		t.Errorf("new incident %+v", inc)
	}
}

// testConcurrentPairs receives two reports of one URL at once, for many
// URLs: each URL must end in one incident holding both reports.
func testConcurrentPairs(t *testing.T, f *fixture) {
	const urls = 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*urls)
	for i := range urls {
		url := fmt.Sprintf("https://pair-%d.evil.example/", i)
		start := make(chan struct{})
		for range 2 {
			wg.Go(func() {
				<-start
				r := phishing(url)
				if _, err := f.svc.Receive(t.Context(), &r); err != nil {
					errs <- err
				}
			})
		}
		close(start)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Receive: %v", err)
	}
	page, err := f.inc.ListIncidents(t.Context(), incident.IncidentQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != urls {
		t.Fatalf("%d incidents for %d URLs reported twice at once", page.Total, urls)
	}
	for _, inc := range page.Incidents {
		if inc.Reports != 2 {
			t.Errorf("incident %s holds %d reports, want 2", inc.Tag, inc.Reports)
		}
	}
}

// testFiveHundred receives 500 reports of one phishing URL from 16
// receivers at once: one incident, 500 linked reports, its counter 500.
func testFiveHundred(t *testing.T, f *fixture) {
	const reports, receivers = 500, 16
	const url = "https://campaign.evil.example/verify"
	var wg sync.WaitGroup
	errs := make(chan error, reports)
	next := make(chan int, reports)
	for i := range reports {
		next <- i
	}
	close(next)
	for range receivers {
		wg.Go(func() {
			for range next {
				r := phishing(url)
				if _, err := f.svc.Receive(t.Context(), &r); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Receive: %v", err)
	}
	page, err := f.inc.ListIncidents(t.Context(), incident.IncidentQuery{})
	if err != nil || page.Total != 1 {
		t.Fatalf("%d incidents, %v; want one", page.Total, err)
	}
	inc := page.Incidents[0]
	linked, err := f.inc.ListReports(t.Context(), incident.ReportQuery{IncidentID: inc.ID, Limit: 1})
	if err != nil || inc.Reports != reports || linked.Total != reports {
		t.Errorf("counter %d, linked reports %d (%v); want %d", inc.Reports, linked.Total, err, reports)
	}
	queue, err := f.inc.ListReports(t.Context(), incident.ReportQuery{States: []incident.ReportState{incident.ReportNew}})
	if err != nil || queue.Total != 0 {
		t.Errorf("%d reports left in the queue, %v", queue.Total, err)
	}
}

// testCrossingKeys receives, at once, reports whose keys lead to two
// open incidents in opposite orders: each goes to the incident of the
// lower id, and no receiver fails (taking the incidents' locks in the
// keys' order would deadlock two of them).
func testCrossingKeys(t *testing.T, f *fixture) {
	both := func(first, second string) incident.Report {
		r := phishing("https://" + first + ".evil.example/")
		r.Observables = append(r.Observables, extract.Observable{Kind: extract.URL, Value: "https://" + second + ".evil.example/"})
		return r
	}
	f.receive(t, both("z-1", "a-2"))
	low := f.receive(t, both("z-1", "a-2"))
	f.receive(t, both("a-1", "z-2"))
	high := f.receive(t, both("a-1", "z-2"))
	if low.IncidentID == 0 || high.IncidentID <= low.IncidentID {
		t.Fatalf("incidents %d and %d", low.IncidentID, high.IncidentID)
	}
	const each = 30
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	start := make(chan struct{})
	for i := range 2 * each {
		r := both("a-1", "z-1") // a-1: the higher incident, z-1: the lower
		if i%2 == 1 {
			r = both("a-2", "z-2") // a-2: the lower, z-2: the higher
		}
		wg.Go(func() {
			<-start
			got, err := f.svc.Receive(t.Context(), &r)
			if err == nil && got.IncidentID != low.IncidentID {
				err = fmt.Errorf("report %d went to %d, want %d", got.ReportID, got.IncidentID, low.IncidentID)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.incident(t, low.IncidentID).Reports; got != 2+2*each {
		t.Errorf("the lower incident holds %d reports, want %d", got, 2+2*each)
	}
}
