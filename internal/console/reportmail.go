package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/mail"
	"strings"

	gomail "github.com/emersion/go-message/mail"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// This file is the acknowledgement a reporter who gave an e-mail address
// receives: the tracking number and the status link, in the reporter's
// language, signed with the team's OpenPGP identity and queued in the
// outbox like every other mail Vigil sends.

// MessageQueue queues mails in the outbox (outboxdb's store does).
type MessageQueue interface {
	QueueMessages(ctx context.Context, msgs []outbox.Message) error
}

// ackKind is the outbox kind of an acknowledgement.
const ackKind = "report-ack"

// Message IDs of the acknowledgement.
const (
	msgReportMailSubject = "reportform.mail.subject"
	msgReportMailBody    = "reportform.mail.body"
)

// outboxOf is the outbox of a store that keeps one, nil otherwise.
func outboxOf(st Store) MessageQueue {
	if db, ok := st.(*database.DB); ok {
		if q, ok := db.Messages.(MessageQueue); ok {
			return q
		}
	}
	return nil
}

// acknowledge queues the acknowledgement of a report whose reporter gave
// an address. It needs a sender (notify.from) and the team's identity;
// without them nothing is sent, and the answer page is all the reporter
// gets. A failure is logged: the report is stored already.
func (c *Console) acknowledge(ctx context.Context, rep *incident.Report, receipt incident.Receipt, link string) {
	f := c.reports
	if rep.Reporter.Email == "" || f.cfg.From == "" || f.queue == nil {
		return
	}
	if err := c.queueAcknowledgement(ctx, rep, receipt, link); err != nil {
		c.logger.Error("report form: acknowledgement not queued", "tracking", receipt.Tracking, "err", err)
	}
}

func (c *Console) queueAcknowledgement(ctx context.Context, rep *incident.Report, receipt incident.Receipt, link string) error {
	from, err := mail.ParseAddress(c.reports.cfg.From)
	if err != nil {
		return err
	}
	id, err := notify.LoadIdentity(ctx, c.store)
	if err != nil {
		return err
	}
	if id == nil {
		return errors.New("no team identity: create one under Notifications → Identity")
	}
	now := c.now()
	subject := c.catalog.T(rep.Language, msgReportMailSubject, receipt.Tracking)
	var h gomail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*gomail.Address{{Name: from.Name, Address: from.Address}})
	h.SetAddressList("To", []*gomail.Address{{Name: rep.Reporter.Name, Address: rep.Reporter.Email}})
	h.SetSubject(subject)
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	msgID := hex.EncodeToString(b[:]) + "@" + domain
	h.SetMessageID(msgID)
	// RFC 3834: no vacation replies to an automatic answer.
	h.Set("Auto-Submitted", "auto-replied")
	content, err := pgpmime.BuildContent(c.catalog.T(rep.Language, msgReportMailBody, receipt.Tracking, link))
	if err != nil {
		return err
	}
	body, err := pgpmime.Sign(id, h, content)
	if err != nil {
		return err
	}
	m := outbox.Message{Kind: ackKind, Sender: from.Address, Recipients: []string{rep.Reporter.Email},
		Subject: subject, MessageID: msgID, Body: body, Created: now}
	outbox.PrepareMessage(&m, now)
	return c.reports.queue.QueueMessages(ctx, []outbox.Message{m})
}
