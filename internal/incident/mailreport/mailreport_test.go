package mailreport_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/incident/mailreport"
	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// phishingForward is a citizen forwarding a phishing mail as an
// attachment, the way most mail programs forward.
func phishingForward(from, url string) string {
	return "From: Citizen <" + from + ">\r\n" +
		"To: suspicious@cert.example\r\n" +
		"Subject: Fwd: Your account is blocked\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"I got this today, is it real?\r\n" +
		"--b1\r\nContent-Type: message/rfc822\r\n\r\n" +
		"From: \"Your Bank\" <security@bank-secure-login.com>\r\n" +
		"Reply-To: claims@bank-refund.net\r\n" +
		"Subject: Your account is blocked\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n" +
		"--b2\r\nContent-Type: text/plain\r\n\r\n" +
		"Unblock it at " + url + " within 24 hours.\r\n" +
		"--b2\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"form.pdf\"\r\n\r\n" +
		"%PDF-1.4 not really\r\n" +
		"--b2--\r\n" +
		"--b1--\r\n"
}

type rig struct {
	db     *database.DB
	worker *mailreport.Worker
	now    time.Time
}

func newRig(t *testing.T, st store.Store) *rig {
	db := database.On(st)
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	svc := &incident.Service{Store: db, Audit: db, Now: func() time.Time { return now }}
	w := &mailreport.Worker{DB: st.DB(), Service: svc, Mails: db, Organisations: db,
		Now: func() time.Time { return now }}
	return &rig{db: db, worker: w, now: now}
}

func (r *rig) spool(t *testing.T, to string, raw string) int64 {
	t.Helper()
	m := mailin.NewMail(mailin.Envelope{From: "citizen@mail.example.net", To: []string{to}, Client: "127.0.0.1:4000"},
		[]byte(raw), r.now)
	put := func(tx sqlkit.DB) error { return mailindb.Put(context.Background(), tx, []*mailin.Mail{m}) }
	if err := r.db.DB().Tx(context.Background(), put); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func (r *rig) run(t *testing.T) int {
	t.Helper()
	n, err := r.worker.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (r *rig) reports(t *testing.T) []incident.Report {
	t.Helper()
	page, err := r.db.ListReports(context.Background(), incident.ReportQuery{Oldest: true})
	if err != nil {
		t.Fatal(err)
	}
	return page.Reports
}

func TestMailBecomesReport(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		id := r.spool(t, "suspicious@cert.example", phishingForward("citizen@mail.example.net", "hxxps://bank-secure-login[.]com/unblock"))
		if n := r.run(t); n != 1 {
			t.Fatalf("took %d mails, want 1", n)
		}
		reports := r.reports(t)
		if len(reports) != 1 {
			t.Fatalf("%d reports, want 1", len(reports))
		}
		rep, err := r.db.GetReport(ctx, reports[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Channel != incident.ChannelEmail || rep.Kind != incident.KindPhishing {
			t.Errorf("channel %q kind %q, want email and phishing", rep.Channel, rep.Kind)
		}
		if rep.Reporter.Email != "citizen@mail.example.net" || rep.Reporter.Name != "Citizen" {
			t.Errorf("reporter %+v", rep.Reporter)
		}
		if rep.Concerned != "security@bank-secure-login.com" {
			t.Errorf("concerned %q, want the forwarded message's sender", rep.Concerned)
		}
		for _, want := range []string{"I got this today", "Unblock it at", "Subject: Your account is blocked"} {
			if !strings.Contains(rep.Text, want) {
				t.Errorf("text lacks %q:\n%s", want, rep.Text)
			}
		}
		has := func(k extract.Kind, v string) bool {
			return slices.Contains(rep.Observables, extract.Observable{Kind: k, Value: v})
		}
		for _, o := range []extract.Observable{{Kind: extract.URL, Value: "https://bank-secure-login.com/unblock"},
			{Kind: extract.Email, Value: "security@bank-secure-login.com"}, {Kind: extract.Email, Value: "claims@bank-refund.net"},
			{Kind: extract.Domain, Value: "bank-secure-login.com"}} {
			if !has(o.Kind, o.Value) {
				t.Errorf("observables lack %v: %v", o, rep.Observables)
			}
		}
		for _, v := range []string{"citizen@mail.example.net", "mail.example.net", "suspicious@cert.example", "cert.example"} {
			for _, o := range rep.Observables {
				if o.Value == v {
					t.Errorf("observable %v is the reporter's or the team's own", o)
				}
			}
		}
		names := []string{}
		for _, a := range rep.Attachments {
			names = append(names, a.Name)
			if _, err := r.db.GetBlob(ctx, a.SHA256); err != nil {
				t.Errorf("attachment %s: blob %s: %v", a.Name, a.SHA256, err)
			}
		}
		if !slices.Equal(names, []string{"message.eml", "forwarded.eml", "form.pdf"}) {
			t.Errorf("attachments %v, want the mail, the message it forwards and that message's form.pdf", names)
		}
		m, err := r.db.GetMail(ctx, id)
		if err != nil || m.State != mailin.Done {
			t.Fatalf("mail state %q (%v), want done", m.State, err)
		}
		if n := r.run(t); n != 0 {
			t.Errorf("a second pass took %d mails, want none", n)
		}
		if got := len(r.reports(t)); got != 1 {
			t.Errorf("%d reports after a second pass, want 1", got)
		}
	})
}

// Two citizens forwarding the same phishing mail make one incident; a
// reply carrying its tag threads onto it.
func TestMailsGroupAndThread(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		r.spool(t, "suspicious@cert.example", phishingForward("one@mail.example.net", "https://bank-secure-login.com/unblock"))
		r.spool(t, "suspicious@cert.example", phishingForward("two@other.example.org", "https://bank-secure-login.com/unblock"))
		if n := r.run(t); n != 2 {
			t.Fatalf("took %d mails, want 2", n)
		}
		reports := r.reports(t)
		if len(reports) != 2 || reports[0].IncidentID == 0 || reports[0].IncidentID != reports[1].IncidentID {
			t.Fatalf("reports not grouped into one incident: %+v", reports)
		}
		inc, err := r.db.GetIncident(ctx, reports[0].IncidentID)
		if err != nil {
			t.Fatal(err)
		}
		reply := "From: one@mail.example.net\r\nTo: incident@cert.example\r\nSubject: Re: " + inc.Tag.Subject() +
			" more details\r\n\r\nI clicked the link yesterday.\r\n"
		r.spool(t, "incident@cert.example", reply)
		r.run(t)
		reports = r.reports(t)
		if len(reports) != 3 || reports[2].IncidentID != inc.ID {
			t.Fatalf("the reply did not thread onto %s: %+v", inc.Tag, reports[len(reports)-1])
		}
		if reports[2].Kind != incident.KindOther {
			t.Errorf("mail to incident@ is %q, want other", reports[2].Kind)
		}
	})
}

// Mail from a contact of the constituency names its organisation; mail
// that is no message is marked failed with the reason and makes no report.
func TestKnownContactAndFailedMail(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		org := &constituency.Organisation{Handle: "acme", Name: "ACME",
			Contacts: []constituency.Contact{{Email: "Soc@Acme.example", Role: constituency.ContactAbuse}}}
		if err := r.db.CreateOrganisation(ctx, org); err != nil {
			t.Fatal(err)
		}
		r.spool(t, "report@cert.example", "From: SOC <soc@acme.example>\r\nTo: report@cert.example\r\nSubject: scan\r\n\r\nWe see scans from 203.0.113.9.\r\n")
		bad := r.spool(t, "report@cert.example", "")
		if n := r.run(t); n != 2 {
			t.Fatalf("took %d mails, want 2", n)
		}
		reports := r.reports(t)
		if len(reports) != 1 {
			t.Fatalf("%d reports, want 1 (the empty mail makes none)", len(reports))
		}
		if reports[0].Reporter.OrgID != org.ID {
			t.Errorf("reporter's organisation %d, want %d", reports[0].Reporter.OrgID, org.ID)
		}
		m, err := r.db.GetMail(ctx, bad)
		if err != nil {
			t.Fatal(err)
		}
		if m.State != mailin.Failed || m.Reason == "" {
			t.Errorf("empty mail: state %q reason %q, want failed with a reason", m.State, m.Reason)
		}
	})
}

// The report and the mail's "done" are one commit: a mail another
// process finished first makes no second report.
func TestReportAndDoneAreOneCommit(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st)
		ctx := context.Background()
		id := r.spool(t, "report@cert.example", "From: a@b.example.org\r\nSubject: x\r\n\r\nhttps://evil.example.com/\r\n")
		pending, err := r.db.PendingMail(ctx, 10)
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending %d (%v)", len(pending), err)
		}
		done := func(tx sqlkit.DB) error { return mailindb.MarkDone(ctx, tx, r.now, id) }
		if err := r.db.DB().Tx(ctx, done); err != nil {
			t.Fatal(err)
		}
		if err := r.worker.Handle(ctx, pending[0]); err != nil {
			t.Fatalf("handling a mail finished elsewhere: %v", err)
		}
		if got := len(r.reports(t)); got != 0 {
			t.Errorf("%d reports of a mail finished elsewhere, want 0 (rolled back)", got)
		}
	})
}

// A pass writes its mails in one commit; when one of them was finished by
// another process meanwhile, the pass writes the others one at a time:
// they become reports, and the one finished elsewhere makes none.
func TestChunkFallsBackOneAtATime(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st)
		var ids []int64
		for i := range 3 {
			ids = append(ids, r.spool(t, "report@cert.example",
				"From: a@b.example.org\r\nSubject: mail "+string(rune('a'+i))+"\r\n\r\nhttps://evil.example.com/\r\n"))
		}
		r.worker.Mails = finishedElsewhere{Mails: r.db, db: r.db, id: ids[1], now: r.now}
		if n := r.run(t); n != 3 {
			t.Fatalf("took %d mails, want 3", n)
		}
		var subjects []string
		for _, rep := range r.reports(t) {
			subjects = append(subjects, rep.Subject)
		}
		slices.Sort(subjects)
		if !slices.Equal(subjects, []string{"mail a", "mail c"}) {
			t.Errorf("reports %q, want mail a and mail c (mail b was finished elsewhere)", subjects)
		}
	})
}

// finishedElsewhere marks one mail done, as another process would, once
// the worker has read the pending mails.
type finishedElsewhere struct {
	mailin.Mails
	db  *database.DB
	id  int64
	now time.Time
}

func (f finishedElsewhere) PendingMail(ctx context.Context, limit int) ([]mailin.Mail, error) {
	mails, err := f.Mails.PendingMail(ctx, limit)
	if err != nil {
		return nil, err
	}
	done := func(tx sqlkit.DB) error { return mailindb.MarkDone(ctx, tx, f.now, f.id) }
	return mails, f.db.DB().Tx(ctx, done)
}
