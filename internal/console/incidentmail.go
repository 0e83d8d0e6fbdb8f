package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/correspond"
	"github.com/vigil-cert/vigil/internal/notify"
)

// The correspondence of an incident: an analyst writes to the reporters,
// to the contacts of the organisations concerned or to another address
// from a template in the recipients' language, edits the text and sends
// it. internal/incident/correspond signs (and encrypts) the mail and
// queues it in the outbox with its timeline line and audit entry.

// Messages of the correspondence pages.
const (
	msgTitleIncidentMail = "title.cases.mail"
	msgMailNoIdentity    = "correspond.error.identity"
	msgMailNoFrom        = "correspond.error.from"
	msgMailChoice        = "correspond.error.choice"
	msgMailTooMany       = "correspond.error.toomany"
)

// maxOtherBytes bounds the field of addresses typed in.
const maxOtherBytes = 8 << 10

func init() { flashes["incident-mail"] = "done.cases.incident.mail" }

func (c *Console) incidentMailRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /incidents/{tag}/mail", c.member(auth.HandleIncidents, c.mailForm))
	m.HandleFunc("POST /incidents/{tag}/mail", c.member(auth.HandleIncidents, c.sendMail))
}

// mailChoice is a recipient the form offers.
type mailChoice struct {
	Value   string // report:ID or contact:ORG:CONTACT
	Label   string
	Address string
	Lang    string
	// Tracking is the reporter's tracking number.
	Tracking string
	Key      bool
	Checked  bool
	// Recipient is what sending it takes.
	recipient correspond.Recipient
}

// mailPage is the data of the compose page.
type mailPage struct {
	Inc       incident.Incident
	Reporters []mailChoice
	Contacts  []mailChoice
	Other     string
	Templates []string
	Template  string
	Languages []string
	Lang      string
	// LangAsked is the language the analyst chose, "" for the
	// reporter's.
	LangAsked string
	// Chosen are the addresses the mail goes to.
	Chosen     []string
	Subject    string
	Text       string
	MaxTo      int
	CanSend    bool
	NoIdentity bool
	NoFrom     bool
}

// mailSender is the correspondence's sender on the console's database,
// with the team's identity and notify.from; nil when the console's store
// keeps no outbox.
func (c *Console) mailSender(ctx context.Context) (*correspond.Sender, error) {
	db, ok := c.store.(*database.DB)
	if !ok {
		return nil, errors.New("console: the store keeps no outbox")
	}
	id, err := notify.LoadIdentity(ctx, c.store)
	if err != nil {
		return nil, err
	}
	from := ""
	if c.reports != nil {
		from = c.reports.cfg.From
	}
	return &correspond.Sender{DB: db.DB(), Identity: id, From: from, Now: c.now}, nil
}

// mailChoices are the recipients an incident offers (correspond.Offered)
// as the form lists them.
func (c *Console) mailChoices(ctx context.Context, inc incident.Incident) (reporters, contacts []mailChoice, offer correspond.Offer, err error) {
	if offer, err = correspond.Offered(ctx, c.store, inc); err != nil {
		return nil, nil, offer, err
	}
	for _, r := range offer.Reporters {
		label := r.Address + " · " + r.Tracking
		if r.Name != "" {
			label = r.Name + " <" + r.Address + "> · " + r.Tracking
		}
		reporters = append(reporters, mailChoice{Value: "report:" + strconv.FormatInt(r.ReportID, 10), Label: label, Address: r.Address,
			Lang: r.Language, Tracking: r.Tracking, Key: r.Key != "", recipient: r})
	}
	for _, r := range offer.Contacts {
		label := r.Org + ": " + r.Address
		if r.Name != "" {
			label = r.Org + ": " + r.Name + " <" + r.Address + ">"
		}
		contacts = append(contacts, mailChoice{Value: fmt.Sprintf("contact:%d:%d", r.OrgID, r.ContactID), Label: label, Address: r.Address,
			Key: strings.TrimSpace(r.Key) != "", recipient: r})
	}
	return reporters, contacts, offer, nil
}

// mailForm shows the compose page: the recipients ticked in ?to=, the
// template of ?template= in ?lang= (the language of the one reporter
// ticked, else the visitor's), filled with the incident's tag and title
// and the reporter's tracking number.
func (c *Console) mailForm(w http.ResponseWriter, r *http.Request, v *visit) {
	inc, ok := c.pathIncident(w, r, v)
	if !ok {
		return
	}
	q := r.URL.Query()
	p, err := c.mailPage(r.Context(), inc, q["to"])
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Template = q.Get("template")
	if !slices.Contains(correspond.Templates, p.Template) {
		p.Template = correspond.Templates[0]
	}
	tracking := ""
	var ticked []mailChoice
	for _, ch := range p.Reporters {
		if ch.Checked {
			ticked = append(ticked, ch)
		}
	}
	p.Lang = correspond.Language(v.lang)
	if len(ticked) == 1 {
		tracking = ticked[0].Tracking
		p.Lang = ticked[0].Lang
	}
	if l := q.Get("lang"); l != "" {
		p.Lang, p.LangAsked = correspond.Language(l), correspond.Language(l)
	}
	p.Other = q.Get("other")
	p.Chosen = append(p.Chosen, otherAddresses(p.Other)...)
	p.Subject, p.Text, err = correspond.Render(p.Template, p.Lang, correspond.Data{Tag: inc.Tag.String(), Title: inc.Title,
		Tracking: tracking, Team: c.teamName()})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, v, http.StatusOK, "incidentmail", msgTitleIncidentMail, p, "", "")
}

// mailPage gathers what the compose page shows, the choices whose value
// is in ticked marked.
func (c *Console) mailPage(ctx context.Context, inc incident.Incident, ticked []string) (mailPage, error) {
	p := mailPage{Inc: inc, Templates: correspond.Templates, Languages: correspond.Languages, MaxTo: correspond.MaxRecipients}
	var err error
	if p.Reporters, p.Contacts, _, err = c.mailChoices(ctx, inc); err != nil {
		return p, err
	}
	for _, list := range [][]mailChoice{p.Reporters, p.Contacts} {
		for i := range list {
			list[i].Checked = slices.Contains(ticked, list[i].Value)
			if list[i].Checked {
				p.Chosen = append(p.Chosen, list[i].Address)
			}
		}
	}
	s, err := c.mailSender(ctx)
	if err != nil {
		return p, err
	}
	p.NoIdentity, p.NoFrom = s.Identity == nil, s.From == ""
	p.CanSend = !p.NoIdentity && !p.NoFrom
	return p, nil
}

// teamName is the name the team signs its mails with: the name of
// notify.from, else its address.
func (c *Console) teamName() string {
	if c.reports == nil {
		return ""
	}
	from := c.reports.cfg.From
	if i := strings.Index(from, "<"); i > 0 {
		return strings.Trim(strings.TrimSpace(from[:i]), `"`)
	}
	return from
}

// sendMail sends the mail of the compose page and goes back to the
// incident, whose timeline shows it; a refusal is shown on the compose
// page with what was written kept.
func (c *Console) sendMail(w http.ResponseWriter, r *http.Request, v *visit) {
	inc, ok := c.pathIncident(w, r, v)
	if !ok {
		return
	}
	ctx := r.Context()
	p, err := c.mailPage(ctx, inc, r.PostForm["to"])
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p.Other, p.Subject, p.Text = r.PostFormValue("other"), r.PostFormValue("subject"), r.PostFormValue("text")
	p.Template, p.Lang = r.PostFormValue("template"), correspond.Language(r.PostFormValue("lang"))
	p.Chosen = append(p.Chosen, otherAddresses(p.Other)...)
	m, err := c.composedMail(ctx, inc, p, r.PostForm["to"])
	if err == nil {
		var s *correspond.Sender
		if s, err = c.mailSender(ctx); err == nil {
			_, err = s.Send(ctx, actorOf(v), m)
		}
	}
	if text := c.inputText(v, err); text != "" {
		c.render(w, r, v, http.StatusBadRequest, "incidentmail", msgTitleIncidentMail, p, "", text)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	redirectDone(w, r, "/incidents/"+inc.Tag.String(), "incident-mail")
}

// composedMail is the mail the form asks for: the ticked recipients
// (each one the incident offers, nothing else) and the addresses typed
// in, with the key of a contact of the constituency who has one.
func (c *Console) composedMail(ctx context.Context, inc incident.Incident, p mailPage, ticked []string) (correspond.Mail, error) {
	m := correspond.Mail{IncidentID: inc.ID, Tag: inc.Tag.String(), TLP: inc.TLP, Subject: p.Subject, Text: p.Text,
		Language: p.Lang, Template: p.Template}
	if !slices.Contains(correspond.Templates, m.Template) {
		m.Template = ""
	}
	if len(ticked) > correspond.MaxRecipients {
		return m, refuse(msgMailTooMany, correspond.MaxRecipients)
	}
	offered := append(slices.Clone(p.Reporters), p.Contacts...)
	for _, value := range ticked {
		i := slices.IndexFunc(offered, func(ch mailChoice) bool { return ch.Value == value })
		if i < 0 {
			return m, refuse(msgMailChoice)
		}
		m.To = append(m.To, offered[i].recipient)
	}
	if len(p.Other) > maxOtherBytes {
		return m, refuse(msgMailTooMany, correspond.MaxRecipients)
	}
	others := otherAddresses(p.Other)
	if len(m.To)+len(others) > correspond.MaxRecipients {
		return m, refuse(msgMailTooMany, correspond.MaxRecipients)
	}
	if len(others) > 0 {
		_, _, offer, err := c.mailChoices(ctx, inc)
		if err != nil {
			return m, err
		}
		for _, addr := range others {
			m.To = append(m.To, offer.Other(addr))
		}
	}
	return m, nil
}

// mailOf returns the report a mail_in line received, nil when the
// incident no longer holds it.
func mailOf(e incident.Entry, reports []incident.Report) *incident.Report {
	for i := range reports {
		if strconv.FormatInt(reports[i].ID, 10) == e.Details["report"] {
			return &reports[i]
		}
	}
	return nil
}

// closeReply is the template the triage queue's close form asks to reply
// with ("" for none) and which of ids are not closed yet (only those
// closed now get the reply); refused before anything is closed when the
// team cannot sign (no identity or no sender).
func (c *Console) closeReply(r *http.Request, ids []int64) (string, []int64, error) {
	name := r.PostFormValue("reply")
	if name == "" {
		return "", nil, nil
	}
	if !slices.Contains(correspond.Templates, name) {
		return "", nil, refuse("correspond.error.template", name)
	}
	s, err := c.mailSender(r.Context())
	if err != nil {
		return "", nil, err
	}
	if s.Identity == nil {
		return "", nil, refuse(msgMailNoIdentity)
	}
	if s.From == "" {
		return "", nil, refuse(msgMailNoFrom)
	}
	var open []int64
	for _, id := range ids {
		rep, err := c.store.GetReport(r.Context(), id)
		if err != nil {
			return "", nil, err
		}
		if rep.State != incident.ReportClosed && rep.State != incident.ReportLinked {
			open = append(open, id)
		}
	}
	return name, open, nil
}

// replyOnClose sends the template reply to the reporter of each report
// closed, in the reporter's language with its tracking number, through
// the correspondence's sending path (signed, queued in the outbox,
// audited as report.mail). The reports are closed already: a reply that
// cannot go (a reporter without an address is skipped) is logged.
func (c *Console) replyOnClose(ctx context.Context, v *visit, reply string, ids []int64) {
	if reply == "" {
		return
	}
	s, err := c.mailSender(ctx)
	if err != nil {
		c.logger.Error("close reports: no reply sent", "err", err)
		return
	}
	team := c.teamName()
	for _, id := range ids {
		rep, err := c.store.GetReport(ctx, id)
		if err != nil || rep.State != incident.ReportClosed || strings.TrimSpace(rep.Reporter.Email) == "" {
			continue
		}
		subject, text, err := correspond.Render(reply, rep.Language, correspond.Data{Tracking: rep.Tracking, Team: team})
		if err == nil {
			_, err = s.Send(ctx, actorOf(v), correspond.Mail{To: []correspond.Recipient{{Name: rep.Reporter.Name,
				Address: strings.TrimSpace(rep.Reporter.Email), Kind: correspond.ToReporter, ReportID: rep.ID}},
				Subject: subject, Text: text, Language: correspond.Language(rep.Language), Template: reply})
		}
		if err != nil {
			c.logger.Error("close reports: reply not sent", "report", rep.Tracking, "err", err)
		}
	}
}

// otherAddresses splits the field of addresses typed in: one a line, or
// separated by commas, semicolons or spaces. Each is checked when sent.
func otherAddresses(s string) []string {
	if len(s) > maxOtherBytes {
		s = s[:maxOtherBytes]
	}
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' || r == ' ' || r == '\t' })
}
