package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/correspond"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// mailInput is the body of POST /incidents/{tag}/mail: the reporters (by
// their reports' ids) and the contacts of the organisations concerned
// (by address) the incident offers, other addresses, and the text, or a
// template to write it from.
type mailInput struct {
	Reports  []int64  `json:"reports"`
	Contacts []string `json:"contacts"`
	To       []string `json:"to"`
	Template string   `json:"template"`
	Language string   `json:"language"`
	Subject  string   `json:"subject"`
	Text     string   `json:"text"`
}

// mailJSON is what sending queued.
type mailJSON struct {
	Subject    string   `json:"subject"`
	Recipients []string `json:"recipients"`
	MessageIDs []string `json:"message_ids"`
	Encrypted  int      `json:"encrypted"`
}

// sendIncidentMail writes to the incident's reporters, the contacts of
// the organisations it concerns or other addresses, as the console's
// compose page does: signed, encrypted where a key is known, queued in
// the outbox with its timeline line and audit entry.
func (h *handler) sendIncidentMail(r *http.Request, c *caller) (any, error) {
	inc, err := h.incidentAction(r)
	if err != nil {
		return nil, err
	}
	var in mailInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	ctx := r.Context()
	if len(in.Reports)+len(in.Contacts)+len(in.To) > correspond.MaxRecipients {
		return nil, incident.Refuse("correspond.error.toomany", correspond.MaxRecipients)
	}
	offer, err := correspond.Offered(ctx, h.store, inc)
	if err != nil {
		return nil, err
	}
	m := correspond.Mail{IncidentID: inc.ID, Tag: inc.Tag.String(), TLP: inc.TLP, Subject: in.Subject, Text: in.Text,
		Language: in.Language, Template: in.Template, Via: fmt.Sprintf("API token %d", c.token.ID)}
	for _, id := range in.Reports {
		rcpt, ok := offer.Reporter(id)
		if !ok {
			return nil, badParameterText("reports", i18n.M("correspond.error.choice"))
		}
		m.To = append(m.To, rcpt)
	}
	for _, addr := range in.Contacts {
		rcpt, ok := offer.Contact(addr)
		if !ok {
			return nil, badParameterText("contacts", i18n.M("correspond.error.choice"))
		}
		m.To = append(m.To, rcpt)
	}
	for _, addr := range in.To {
		m.To = append(m.To, offer.Other(addr))
	}
	if in.Template != "" && (in.Subject == "" || in.Text == "") {
		if err := h.fillMail(&m, inc); err != nil {
			return nil, err
		}
	}
	s, err := h.mailSender(r)
	if err != nil {
		return nil, err
	}
	sent, err := s.Send(ctx, actorOf(c), m)
	if err != nil {
		return nil, err
	}
	out := mailJSON{Subject: correspond.WithTag(m.Subject, m.Tag), MessageIDs: sent.MessageIDs, Encrypted: sent.Encrypted}
	for _, rcpt := range m.To {
		out.Recipients = append(out.Recipients, rcpt.Address)
	}
	return created{location: "/api/v1/incidents/" + inc.Tag.String(), value: out}, nil
}

// fillMail writes the subject and the text left empty from the template,
// in the language asked for, else the one reporter's, else English, with
// the tracking number of the one reporter.
func (h *handler) fillMail(m *correspond.Mail, inc incident.Incident) error {
	var reporters []correspond.Recipient
	for _, rcpt := range m.To {
		if rcpt.Kind == correspond.ToReporter {
			reporters = append(reporters, rcpt)
		}
	}
	d := correspond.Data{Tag: inc.Tag.String(), Title: inc.Title, Team: teamName(h.mailFrom)}
	if len(reporters) == 1 {
		d.Tracking = reporters[0].Tracking
		if m.Language == "" {
			m.Language = reporters[0].Language
		}
	}
	subject, text, err := correspond.Render(m.Template, m.Language, d)
	if err != nil {
		return err
	}
	if m.Subject == "" {
		m.Subject = subject
	}
	if m.Text == "" {
		m.Text = text
	}
	return nil
}

// mailSender is the correspondence's sender on the API's database.
func (h *handler) mailSender(r *http.Request) (*correspond.Sender, error) {
	db, ok := h.store.(interface{ DB() sqlkit.DB })
	if !ok {
		return nil, errors.New("api: the store keeps no outbox")
	}
	id, err := notify.LoadIdentity(r.Context(), h.store)
	if err != nil {
		return nil, err
	}
	return &correspond.Sender{DB: db.DB(), Identity: id, From: h.mailFrom}, nil
}

// teamName is the display name of a sender address, else the address.
func teamName(from string) string {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return from
	}
	if a.Name != "" {
		return a.Name
	}
	return a.Address
}
