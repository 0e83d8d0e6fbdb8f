package correspond_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/correspond"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

var now = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// identity makes an OpenPGP identity (a private key) for a test.
func identity(t *testing.T, name, email string) *pgpmime.Identity {
	t.Helper()
	armored, err := pgpmime.GenerateIdentity(name, email, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type env struct {
	db     *database.DB
	sender *correspond.Sender
	team   *pgpmime.Identity
	inc    incident.Incident
}

func newEnv(t *testing.T, st store.Store) env {
	t.Helper()
	db := database.On(st)
	team := identity(t, "Example CERT", "cert@example.org")
	svc := &incident.Service{Store: db, Audit: db, Now: func() time.Time { return now }}
	inc, err := svc.CreateIncident(context.Background(), incident.Actor{Name: "ana"}, incident.Incident{Title: "Phishing: http://bank.example/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env{db: db, team: team, inc: inc,
		sender: &correspond.Sender{DB: st.DB(), Identity: team, From: "Example CERT <cert@example.org>", Now: func() time.Time { return now }}}
}

func (e env) mail(to ...correspond.Recipient) correspond.Mail {
	return correspond.Mail{IncidentID: e.inc.ID, Tag: e.inc.Tag.String(), TLP: e.inc.TLP, To: to,
		Subject: "About your report", Text: "Hello,\n\nThe site is down.\n", Language: "nl", Template: "resolved"}
}

func (e env) messages(t *testing.T) []outbox.Message {
	t.Helper()
	list, err := e.db.ListMessages(context.Background(), outbox.MessageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list {
		if list[i], err = e.db.GetMessage(context.Background(), list[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	return list
}

// TestSendSignedAndEncrypted: one message per recipient, signed with the
// team's key (verified with its public key), encrypted to the recipient
// whose key is known (decrypted with that recipient's private key), the
// subject tagged, queued with a mail_out line and an audit entry.
func TestSendSignedAndEncrypted(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		e := newEnv(t, st)
		soc := identity(t, "Org SOC", "soc@org.example")
		sent, err := e.sender.Send(ctx, incident.Actor{UserID: 7, Name: "ana"}, e.mail(
			correspond.Recipient{Name: "Jan", Address: "jan@example.net", Kind: correspond.ToReporter, ReportID: 1},
			correspond.Recipient{Name: "SOC", Address: "soc@org.example", Key: soc.PublicKey(), Kind: correspond.ToContact}))
		if err != nil {
			t.Fatal(err)
		}
		if len(sent.MessageIDs) != 2 || sent.Encrypted != 1 {
			t.Fatalf("sent %+v", sent)
		}
		teamRing := openpgp.EntityList{e.team.Entity()}
		subject := e.inc.Tag.Subject() + " About your report"
		byTo := map[string]outbox.Message{}
		for _, m := range e.messages(t) {
			if len(m.Recipients) != 1 || m.Kind != correspond.OutboxKind || m.Sender != "cert@example.org" || m.Subject != subject || m.Status != outbox.MessageQueued {
				t.Errorf("message %+v", m)
			}
			byTo[m.Recipients[0]] = m
		}
		plain := byTo["jan@example.net"]
		opened, err := pgpmime.Open(plain.Body, teamRing)
		if err != nil || !opened.Signed || opened.Encrypted || opened.SignerFingerprint != e.team.Fingerprint() {
			t.Fatalf("the reporter's message: %+v, %v", opened, err)
		}
		if !strings.Contains(string(plain.Body), "Subject: "+subject) || !strings.Contains(string(opened.Content), "The site is down.") {
			t.Errorf("the reporter's message:\n%s", plain.Body)
		}
		if strings.Contains(string(plain.Body), "soc@org.example") {
			t.Error("the reporter's message names the other recipient")
		}
		enc := byTo["soc@org.example"]
		if !enc.Encrypted || strings.Contains(string(enc.Body), "The site is down") {
			t.Fatalf("the contact's message is not encrypted:\n%s", enc.Body)
		}
		// The subject outside keeps the tag (replies thread back), not the
		// rest of the subject.
		if !strings.Contains(string(enc.Body), "Subject: "+e.inc.Tag.Subject()+" "+pgpmime.ObscuredSubject) || strings.Contains(string(enc.Body), "About your report") {
			t.Errorf("the encrypted message's outer subject:\n%.600s", enc.Body)
		}
		opened, err = pgpmime.Open(enc.Body, openpgp.EntityList{soc.Entity(), e.team.Entity()})
		if err != nil || !opened.Encrypted || !opened.Signed || opened.SignerFingerprint != e.team.Fingerprint() ||
			!strings.Contains(string(opened.Content), "The site is down.") {
			t.Fatalf("the contact's message opened: %+v, %v", opened, err)
		}
		// Someone else's key cannot read it.
		if o, err := pgpmime.Open(enc.Body, openpgp.EntityList{identity(t, "Other", "x@y.example").Entity()}); err == nil && strings.Contains(string(o.Content), "The site is down") {
			t.Error("a stranger's key decrypted the message")
		}

		tl, err := e.db.Timeline(ctx, e.inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := tl[len(tl)-1]
		if last.Kind != incident.EntryMailOut || last.Actor != "ana" || last.Text != "Hello,\n\nThe site is down.\n" ||
			last.Details["to"] != "jan@example.net, soc@org.example" || last.Details["subject"] != subject ||
			last.Details["lang"] != "nl" || last.Details["encrypted"] != "soc@org.example" || last.Details["template"] != "resolved" {
			t.Errorf("timeline line %+v", last)
		}
		audit, err := e.db.ListAudit(ctx, auth.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) == 0 || audit[0].Action != "incident.mail" || audit[0].UserID != 7 || !strings.Contains(audit[0].Detail, "soc@org.example") ||
			audit[0].Target != "incident "+strconv.FormatInt(e.inc.ID, 10) {
			t.Errorf("audit %+v", audit)
		}
	})
}

// TestSendRefusals: what must not be sent is refused with a reason a
// person can act on, and nothing is queued, written on the timeline or
// audited: header injection in the subject or an address, a list or a
// display name in an address field, too many recipients, the same
// address twice, a key that cannot be used, a TLP:RED incident to an
// address typed in, no team identity, no sender.
func TestSendRefusals(t *testing.T) {
	st := dbtest.SQLite(t, database.Schemas...)
	e := newEnv(t, st)
	ctx := context.Background()
	jan := correspond.Recipient{Address: "jan@example.net", Kind: correspond.ToReporter, ReportID: 1}
	many := make([]correspond.Recipient, correspond.MaxRecipients+1)
	for i := range many {
		many[i] = correspond.Recipient{Address: "r" + strconv.Itoa(i) + "@example.net", Kind: correspond.ToOther}
	}
	for name, tc := range map[string]struct {
		change func(*correspond.Mail, *correspond.Sender)
		want   string
	}{
		"subject injection": {func(m *correspond.Mail, _ *correspond.Sender) { m.Subject = "Hi\r\nBcc: all@example.net" }, "correspond.error.subject"},
		"subject newline":   {func(m *correspond.Mail, _ *correspond.Sender) { m.Subject = "Hi\nthere" }, "correspond.error.subject"},
		"address injection": {func(m *correspond.Mail, _ *correspond.Sender) {
			m.To[0].Address = "jan@example.net\r\nBcc: all@example.net"
		}, "correspond.error.address"},
		"address list":   {func(m *correspond.Mail, _ *correspond.Sender) { m.To[0].Address = "a@example.net, b@example.net" }, "correspond.error.address"},
		"display name":   {func(m *correspond.Mail, _ *correspond.Sender) { m.To[0].Address = "Eve <eve@example.net>" }, "correspond.error.address"},
		"not an address": {func(m *correspond.Mail, _ *correspond.Sender) { m.To[0].Address = "nobody" }, "correspond.error.address"},
		"name injection": {func(m *correspond.Mail, _ *correspond.Sender) { m.To[0].Name = "Jan\r\nBcc: x@example.net" }, "correspond.error.name"},
		"too many":       {func(m *correspond.Mail, _ *correspond.Sender) { m.To = many }, "correspond.error.toomany"},
		"none":           {func(m *correspond.Mail, _ *correspond.Sender) { m.To = nil }, "correspond.error.norecipient"},
		"twice": {func(m *correspond.Mail, _ *correspond.Sender) {
			m.To = append(m.To, correspond.Recipient{Address: "JAN@example.net", Kind: correspond.ToOther})
		}, "correspond.error.twice"},
		"broken key": {func(m *correspond.Mail, _ *correspond.Sender) { m.To[0].Key = "not a key" }, "correspond.error.key"},
		"empty text": {func(m *correspond.Mail, _ *correspond.Sender) { m.Text = " \n" }, "correspond.error.notext"},
		"long text": {func(m *correspond.Mail, _ *correspond.Sender) {
			m.Text = strings.Repeat("x", correspond.MaxTextBytes+1)
		}, "correspond.error.toolong"},
		"no subject":   {func(m *correspond.Mail, _ *correspond.Sender) { m.Subject = "" }, "correspond.error.nosubject"},
		"bad language": {func(m *correspond.Mail, _ *correspond.Sender) { m.Language = "xx" }, "correspond.error.language"},
		"red outside": {func(m *correspond.Mail, _ *correspond.Sender) {
			m.TLP = incident.TLPRed
			m.To = append(m.To, correspond.Recipient{Address: "team@other.example", Kind: correspond.ToOther})
		}, "correspond.error.red"},
		"no identity": {func(_ *correspond.Mail, s *correspond.Sender) { s.Identity = nil }, "correspond.error.identity"},
		"no sender":   {func(_ *correspond.Mail, s *correspond.Sender) { s.From = "" }, "correspond.error.from"},
	} {
		t.Run(name, func(t *testing.T) {
			m := e.mail(jan)
			s := *e.sender
			tc.change(&m, &s)
			_, err := s.Send(ctx, incident.Actor{Name: "ana"}, m)
			var in *incident.InputError
			if !errors.As(err, &in) || in.Message.ID != tc.want {
				t.Fatalf("Send: %v, want the refusal %s", err, tc.want)
			}
		})
	}
	if msgs := e.messages(t); len(msgs) != 0 {
		t.Errorf("refused mails were queued: %+v", msgs)
	}
	tl, _ := e.db.Timeline(ctx, e.inc.ID)
	for _, en := range tl {
		if en.Kind == incident.EntryMailOut {
			t.Errorf("a refused mail is on the timeline: %+v", en)
		}
	}
	// TLP:RED still goes to the incident's own reporters and contacts.
	m := e.mail(jan)
	m.TLP = incident.TLPRed
	if _, err := e.sender.Send(ctx, incident.Actor{Name: "ana"}, m); err != nil {
		t.Errorf("TLP:RED to a reporter: %v", err)
	}
}

// TestRender: every template is written in every language, fills in the
// tag, title and tracking number, and its subject carries the tag.
func TestRender(t *testing.T) {
	for _, lang := range correspond.Languages {
		for _, name := range correspond.Templates {
			subject, text, err := correspond.Render(name, lang, correspond.Data{Tag: "2026-42", Title: "Phishing: http://bank.example/",
				Tracking: "R-2026-000007", Team: "Example CERT"})
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, name, err)
			}
			if !strings.HasPrefix(subject, "[VIGIL#2026-42] ") || strings.Contains(subject, "\n") || !strings.Contains(text, "Example CERT") {
				t.Errorf("%s/%s: %q\n%s", lang, name, subject, text)
			}
			if (name == "ack" || name == "info" || name == "resolved") && !strings.Contains(subject+text, "R-2026-000007") {
				t.Errorf("%s/%s lacks the tracking number: %q\n%s", lang, name, subject, text)
			}
			if (name == "takedown" || name == "forward") && !strings.Contains(subject+text, "http://bank.example/") {
				t.Errorf("%s/%s lacks the title: %q\n%s", lang, name, subject, text)
			}
		}
	}
	// Without a tag (a canned reply on closing a report), no tag.
	if subject, _, err := correspond.Render("resolved", "fr", correspond.Data{Tracking: "R-2026-000007"}); err != nil || strings.Contains(subject, "VIGIL#") || !strings.Contains(subject, "R-2026-000007") {
		t.Errorf("untagged: %q, %v", subject, err)
	}
	var in *incident.InputError
	if _, _, err := correspond.Render("../../etc/passwd", "en", correspond.Data{}); !errors.As(err, &in) {
		t.Errorf("an unknown template: %v", err)
	}
	// A title with a line break stays on the subject's line.
	if subject, _, _ := correspond.Render("takedown", "en", correspond.Data{Title: "a\r\nBcc: x@example.net"}); strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject %q", subject)
	}
}
