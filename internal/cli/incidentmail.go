package cli

import (
	"cmp"
	"context"
	"fmt"
	"net/mail"
	"strings"

	"github.com/vigil-cert/vigil/internal/incident/correspond"
	"github.com/vigil-cert/vigil/internal/notify"
)

// mailIncident writes a mail from an incident, as the console's compose
// page does: `vigil incident mail TAG --to ADDR[,ADDR…] --template NAME`
// (or --subject and text words). An address of a reporter of the
// incident or of a contact of an organisation it concerns is that
// recipient (in the reporter's language, with the contact's key); any
// other is another team's. The mail is signed with the team's identity,
// encrypted where a key is known, and queued in the outbox with its
// timeline line and audit entry, by "cli".
func mailIncident(ctx context.Context, c *cmdEnv, args []string) error {
	to := c.flags.String("to", "", "addresses, separated by commas")
	template := c.flags.String("template", "", "template to write from: "+strings.Join(correspond.Templates, ", "))
	lang := c.flags.String("lang", "", "language of the template: en, nl, fr or de (default: the one reporter's, else en)")
	subject := c.flags.String("subject", "", "subject (default: the template's)")
	tag, words, err := c.incidentWords(args, 1, -1, "cli.incident.mail.args")
	if err != nil {
		return err
	}
	text := strings.Join(words[1:], " ")
	if *to == "" || *template == "" && (text == "" || *subject == "") {
		return c.usageError("cli.incident.mail.args")
	}
	a, inc, err := c.openIncident(ctx, tag)
	if err != nil {
		return err
	}
	defer a.Close()
	offer, err := correspond.Offered(ctx, a.store, inc)
	if err != nil {
		return failedTo(err, "cli.incident.read", inc.Tag.String())
	}
	m := correspond.Mail{IncidentID: inc.ID, Tag: inc.Tag.String(), TLP: inc.TLP, Subject: *subject, Text: text,
		Language: *lang, Template: *template}
	var reporters []correspond.Recipient
	for _, addr := range strings.Split(*to, ",") {
		addr = strings.TrimSpace(addr)
		if addr == "" {
			continue
		}
		rcpt, ok := offer.Contact(addr)
		if i := indexAddress(offer.Reporters, addr); i >= 0 {
			rcpt, ok = offer.Reporters[i], true
			reporters = append(reporters, rcpt)
		}
		if !ok {
			rcpt = offer.Other(addr)
		}
		m.To = append(m.To, rcpt)
	}
	if *template != "" {
		d := correspond.Data{Tag: inc.Tag.String(), Title: inc.Title, Team: teamName(a.cfg.Notify.From)}
		if len(reporters) == 1 {
			d.Tracking = reporters[0].Tracking
			m.Language = cmp.Or(m.Language, reporters[0].Language)
		}
		s, body, err := correspond.Render(*template, m.Language, d)
		if err != nil {
			return c.incRefusal(err)
		}
		m.Subject, m.Text = cmp.Or(m.Subject, s), cmp.Or(m.Text, body)
	}
	id, err := notify.LoadIdentity(ctx, a.store)
	if err != nil {
		return a.identityError(err)
	}
	s := &correspond.Sender{DB: a.store.DB(), Identity: id, From: a.cfg.Notify.From}
	sent, err := s.Send(ctx, incidentActor, m)
	if err != nil {
		return c.incRefusal(err)
	}
	fmt.Fprintln(c.stdout, c.t("cli.incident.mail.sent", inc.Tag.String(), len(sent.MessageIDs), sent.Encrypted))
	return nil
}

func indexAddress(list []correspond.Recipient, addr string) int {
	for i, r := range list {
		if strings.EqualFold(r.Address, addr) {
			return i
		}
	}
	return -1
}

// teamName is the display name of notify.from, else its address.
func teamName(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		return cmp.Or(a.Name, a.Address)
	}
	return from
}
