package console

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// mailEnv is a case console with a sender, the team's identity, an
// incident of one report (a Dutch reporter) concerning an organisation
// whose contact has a key.
type mailEnv struct {
	*caseEnv
	tag    string
	report incident.Receipt
}

func newMailEnv(t *testing.T) *mailEnv {
	t.Helper()
	env := &caseEnv{testEnv: newEnv(t, func(cfg *Config) { cfg.ReportForm.From = "Example CERT <cert@example.org>" })}
	ctx := context.Background()
	team, err := pgpmime.GenerateIdentity("Example CERT", "cert@example.org", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notify.StoreIdentity(ctx, env.store, team); err != nil {
		t.Fatal(err)
	}
	socKey, err := pgpmime.GenerateIdentity("Bank SOC", "soc@bank.example", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	soc, err := pgpmime.ParseIdentity(socKey, "")
	if err != nil {
		t.Fatal(err)
	}
	env.org = constituency.Organisation{Handle: "bank-x", Name: "Bank X", Language: "en",
		Contacts: []constituency.Contact{{Name: "SOC", Email: "soc@bank.example", Role: constituency.ContactAbuse, PGPKey: soc.PublicKey()}}}
	if err := env.store.CreateOrganisation(ctx, &env.org); err != nil {
		t.Fatal(err)
	}
	env.addUser("analyst", "analyst", casePassword)
	env.addUser("publisher", "publisher", casePassword)
	r := incident.Report{Channel: incident.ChannelWeb, Kind: incident.KindPhishing, Received: time.Now(), Language: "nl",
		Text: "Nep-bank op https://bank-x.example.net/", Reporter: incident.Reporter{Name: "Jan", Email: "jan@mail.example"}}
	rec, err := env.console.cases().Receive(ctx, &r)
	if err != nil {
		t.Fatal(err)
	}
	b := env.analyst()
	tag := env.openIncident(b, rec.ReportID)
	inc := env.incident(tag)
	if _, err := env.console.cases().Update(ctx, incident.Actor{Name: "analyst"}, inc.ID, incident.Change{OrgIDs: &[]int64{env.org.ID}}); err != nil {
		t.Fatal(err)
	}
	return &mailEnv{caseEnv: env, tag: tag, report: rec}
}

func (e *mailEnv) queued() []outbox.Message {
	e.t.Helper()
	list, err := e.store.ListMessages(context.Background(), outbox.MessageQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// TestIncidentMail walks the correspondence: the incident page offers
// it, the compose page fills the template in the reporter's language
// with the tag and tracking number, and sending queues one signed (or
// encrypted) message per recipient with the timeline line, shown on the
// incident's page.
func TestIncidentMail(t *testing.T) {
	e := newMailEnv(t)
	b := e.analyst()
	page := b.get("/incidents/" + e.tag)
	if !strings.Contains(page.body, `id="mail-start"`) {
		t.Fatalf("the incident page offers no correspondence:\n%s", page.body)
	}
	reporter := "report:" + strconv.FormatInt(e.report.ReportID, 10)
	res := b.get("/incidents/" + e.tag + "/mail?template=ack&to=" + url.QueryEscape(reporter))
	subject := "[VIGIL#" + e.tag + "] We hebben uw melding ontvangen " + e.report.Tracking
	if res.status != http.StatusOK || !strings.Contains(res.body, `value="`+subject+`"`) || !strings.Contains(res.body, "Met vriendelijke groet") ||
		!strings.Contains(res.body, "soc@bank.example") || !strings.Contains(res.body, `value="`+reporter+`" checked`) {
		t.Fatalf("compose page %d:\n%s", res.status, res.body)
	}
	contact := "contact:" + strconv.FormatInt(e.org.ID, 10) + ":"
	i := strings.Index(res.body, `value="`+contact)
	contact = res.body[i+len(`value="`) : i+strings.Index(res.body[i+len(`value="`):], `"`)+len(`value="`)]
	res = b.post("/incidents/"+e.tag+"/mail", url.Values{"to": {reporter, contact}, "other": {"team@other.example"},
		"subject": {subject}, "text": {"Beste Jan,\n\nDank u.\n"}, "lang": {"nl"}, "template": {"ack"}})
	if res.status != http.StatusSeeOther || res.location != "/incidents/"+e.tag+"?done=incident-mail" {
		t.Fatalf("send: %d %q\n%.2000s", res.status, res.location, res.body)
	}
	msgs := e.queued()
	if len(msgs) != 3 {
		t.Fatalf("%d messages queued, want 3", len(msgs))
	}
	for _, m := range msgs {
		if m.Subject != subject || len(m.Recipients) != 1 || m.Encrypted != (m.Recipients[0] == "soc@bank.example") {
			t.Errorf("message %+v", m)
		}
	}
	if !hasEntry(e.timeline(e.tag), incident.EntryMailOut, "Dank u.") {
		t.Error("no mail_out line on the timeline")
	}
	page = b.get("/incidents/" + e.tag + "?done=incident-mail")
	for _, want := range []string{"jan@mail.example, soc@bank.example, team@other.example", subject, "Dank u.", "encrypted to soc@bank.example"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the incident page lacks %q", want)
		}
	}
}

// TestIncidentMailRefusals: a recipient the incident does not offer, an
// injected header, too many addresses and a TLP:RED incident to another
// team are refused on the page, with the text kept; a publisher and a
// constituent (who may not handle incidents) can neither see the form nor
// send; nothing is queued.
func TestIncidentMailRefusals(t *testing.T) {
	e := newMailEnv(t)
	b := e.analyst()
	b.get("/incidents/" + e.tag + "/mail")
	reporter := "report:" + strconv.FormatInt(e.report.ReportID, 10)
	many := strings.Repeat("x@example.net\n", 21)
	for name, form := range map[string]url.Values{
		"foreign report":    {"to": {"report:999999"}},
		"foreign contact":   {"to": {"contact:1:999999"}},
		"subject injection": {"to": {reporter}, "subject": {"Hi\r\nBcc: all@example.net"}},
		"address injection": {"other": {"a@example.net>\r\nBcc: all@example.net"}},
		"too many":          {"other": {many}},
	} {
		if form.Get("subject") == "" {
			form.Set("subject", "Hello")
		}
		form.Set("text", "kept text 123")
		res := b.post("/incidents/"+e.tag+"/mail", form)
		if res.status != http.StatusBadRequest || !strings.Contains(res.body, "kept text 123") || !strings.Contains(res.body, `class="error"`) && !strings.Contains(res.body, "role=\"alert\"") {
			t.Errorf("%s: status %d\n%.1500s", name, res.status, res.body)
		}
	}
	inc := e.incident(e.tag)
	red := incident.TLPRed
	if _, err := e.console.cases().Update(context.Background(), incident.Actor{Name: "analyst"}, inc.ID, incident.Change{TLP: &red}); err != nil {
		t.Fatal(err)
	}
	res := b.post("/incidents/"+e.tag+"/mail", url.Values{"other": {"team@other.example"}, "subject": {"Hi"}, "text": {"x"}})
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "TLP:RED") {
		t.Errorf("TLP:RED to another team: %d\n%.1500s", res.status, res.body)
	}
	for _, who := range []string{"publisher"} {
		ob := e.browser()
		ob.login(who, casePassword)
		if res := ob.get("/incidents/" + e.tag + "/mail"); res.status != http.StatusForbidden {
			t.Errorf("%s got the compose page: %d", who, res.status)
		}
		if res := ob.post("/incidents/"+e.tag+"/mail", url.Values{"to": {reporter}, "subject": {"Hi"}, "text": {"x"}}); res.status != http.StatusForbidden {
			t.Errorf("%s sent: %d", who, res.status)
		}
	}
	if msgs := e.queued(); len(msgs) != 0 {
		t.Errorf("refused mails were queued: %+v", msgs)
	}
}

// TestMailInShownInert: a mail threaded onto the incident by its tag is
// on the timeline with its sender, subject and text, its HTML shown as
// escaped text.
func TestMailInShownInert(t *testing.T) {
	e := newMailEnv(t)
	r := incident.Report{Channel: incident.ChannelEmail, Kind: incident.KindOther, Received: time.Now(),
		Subject: "Re: [VIGIL#" + e.tag + "] We hebben uw melding ontvangen",
		Text:    `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">Thanks`, Reporter: incident.Reporter{Email: "jan@mail.example"}}
	if _, err := e.console.cases().Receive(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	page := e.analyst().get("/incidents/" + e.tag).body
	if strings.Contains(page, "<script>window") || strings.Contains(page, "<img src=x") {
		t.Errorf("the mail's HTML is in the page as HTML")
	}
	for _, want := range []string{"&lt;script&gt;window.pwned=1&lt;/script&gt;", "&lt;jan@mail.example&gt;", "Re: [VIGIL#" + e.tag + "]"} {
		if !strings.Contains(page, want) {
			t.Errorf("the timeline lacks %q", want)
		}
	}
}

// TestCloseWithReply: closing reports from the queue with a canned reply
// sends the template to each reporter in the reporter's language with
// the report's tracking number, once, and audits it; a reporter without
// an address gets none.
func TestCloseWithReply(t *testing.T) {
	e := newMailEnv(t)
	ctx := context.Background()
	var ids []string
	var tracking []string
	for _, r := range []incident.Report{
		{Language: "fr", Text: "spam one", Reporter: incident.Reporter{Email: "marie@mail.example"}},
		{Language: "de", Text: "spam two", Reporter: incident.Reporter{Email: "jonas@mail.example"}},
		{Language: "en", Text: "spam three"},
	} {
		r.Channel, r.Kind, r.Received = incident.ChannelWeb, incident.KindOther, time.Now()
		rec, err := e.console.cases().Receive(ctx, &r)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strconv.FormatInt(rec.ReportID, 10))
		tracking = append(tracking, rec.Tracking)
	}
	b := e.analyst()
	b.get("/reports")
	// The reporter of the incident's report (linked) is not closed, and gets nothing.
	ids = append(ids, strconv.FormatInt(e.report.ReportID, 10))
	res := b.post("/reports/close", url.Values{"report": ids, "reason": {"not for us"}, "reply": {"resolved"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("close: %d\n%.1500s", res.status, res.body)
	}
	msgs := e.queued()
	got := map[string]string{}
	for _, m := range msgs {
		got[m.Recipients[0]] = m.Subject
	}
	if len(msgs) != 2 || got["marie@mail.example"] != "Votre signalement "+tracking[0]+" a été traité" ||
		got["jonas@mail.example"] != "Ihre Meldung "+tracking[1]+" wurde bearbeitet" {
		t.Errorf("replies %v", got)
	}
	if !strings.Contains(strings.Join(e.auditActions(), " "), "report.mail") {
		t.Errorf("audit %v", e.auditActions())
	}
	// Closing them again sends nothing more.
	b.get("/reports")
	b.post("/reports/close", url.Values{"report": ids[:2], "reason": {"again"}, "reply": {"resolved"}})
	if n := len(e.queued()); n != 2 {
		t.Errorf("%d messages after closing again, want 2", n)
	}
}
