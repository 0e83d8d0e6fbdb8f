package correspond

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/emersion/go-message/mail"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/incidentdb"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Bounds of a mail.
const (
	// MaxRecipients bounds the addresses of one mail: correspondence is
	// to a few people, not a mailing.
	MaxRecipients = 20
	// MaxSubjectBytes bounds the subject (one header line).
	MaxSubjectBytes = 500
	// MaxTextBytes bounds the text.
	MaxTextBytes = 64 << 10
	// maxAddressBytes is the longest address RFC 5321 lets through.
	maxAddressBytes = 254
	maxNameBytes    = 200
)

// OutboxKind is the outbox kind of a mail from an incident.
const OutboxKind = "incident-mail"

// Who a recipient is.
const (
	ToReporter = "reporter" // the reporter of a report linked to the incident
	ToContact  = "contact"  // a contact of an organisation the incident concerns
	ToOther    = "other"    // an address typed in: another team, a host, a registrar
)

// Catalogue ids of the refusals.
const (
	msgNoTemplate    = "correspond.error.template"
	msgNoRecipient   = "correspond.error.norecipient"
	msgTooMany       = "correspond.error.toomany"
	msgBadAddress    = "correspond.error.address"
	msgBadName       = "correspond.error.name"
	msgNoSubject     = "correspond.error.nosubject"
	msgBadSubject    = "correspond.error.subject"
	msgNoText        = "correspond.error.notext"
	msgTooLong       = "correspond.error.toolong"
	msgUnusableKey   = "correspond.error.key"
	msgRedOutside    = "correspond.error.red"
	msgNoIdentity    = "correspond.error.identity"
	msgNoSender      = "correspond.error.from"
	msgTwice         = "correspond.error.twice"
	msgBadLanguage   = "correspond.error.language"
	msgNoIncidentTag = "correspond.error.tag"
)

// Recipient is one address a mail goes to.
type Recipient struct {
	Name    string
	Address string
	// Key is the recipient's armored OpenPGP public key, "" when none is
	// known: the mail is then signed, not encrypted.
	Key string
	// Kind is ToReporter, ToContact or ToOther.
	Kind string
	// ReportID is the report whose reporter this is (ToReporter), with
	// its tracking number and the reporter's language.
	ReportID int64
	Tracking string
	Language string
	// OrgID and Org name the organisation of a contact (ToContact), and
	// ContactID the contact.
	OrgID     int64
	Org       string
	ContactID int64
}

// Mail is what an analyst sends.
type Mail struct {
	// IncidentID is the incident the mail is written from, 0 for a
	// canned reply on closing a report that belongs to none (no
	// timeline line then; the audit entry names the report).
	IncidentID int64
	// Tag is the incident's tag ("2026-123"), put in the subject.
	Tag string
	// TLP is the incident's: TLP:RED is never mailed to an address
	// typed in (see Check).
	TLP      incident.TLP
	To       []Recipient
	Subject  string
	Text     string
	Language string
	// Template is the template the text was written from, "" for none.
	Template string
	// Via is added to the audit entry's detail: how the mail was asked
	// for ("API token 3"), "" from the console.
	Via string
}

// Check refuses a mail that must not be sent, with a reason a person can
// act on (*incident.InputError): no recipient or more than
// MaxRecipients, an address that is not one plain address (a line break,
// a list, a display name smuggled in: header injection), the same
// address twice, a subject with a line break or too long, an empty or
// too long text, a recipient key that cannot be used (sending clear text
// instead would defeat the key they gave), and an address typed in for
// an incident marked TLP:RED (its information is for the people named
// in it: its reporters and the contacts of the organisations it
// concerns, never another team).
func Check(m *Mail, now time.Time) error {
	if len(m.To) == 0 {
		return incident.Refuse(msgNoRecipient)
	}
	if len(m.To) > MaxRecipients {
		return incident.Refuse(msgTooMany, MaxRecipients)
	}
	seen := map[string]bool{}
	for i := range m.To {
		r := &m.To[i]
		addr, err := plainAddress(r.Address)
		if err != nil {
			return err
		}
		r.Address = addr
		if strings.ContainsAny(r.Name, "\r\n\x00") || len(r.Name) > maxNameBytes || !utf8.ValidString(r.Name) {
			return incident.Refuse(msgBadName, r.Address)
		}
		if seen[strings.ToLower(addr)] {
			return incident.Refuse(msgTwice, addr)
		}
		seen[strings.ToLower(addr)] = true
		switch r.Kind {
		case ToReporter, ToContact:
		case ToOther, "":
			r.Kind = ToOther
			if m.TLP == incident.TLPRed {
				return incident.Refuse(msgRedOutside, addr)
			}
		default:
			return incident.Refuse(msgBadAddress, addr)
		}
		if strings.TrimSpace(r.Key) != "" {
			if ks := pgpmime.InspectKey(r.Key, now); !ks.Usable {
				return incident.Refuse(msgUnusableKey, addr, ks.Problem)
			}
		}
	}
	m.Subject = strings.TrimSpace(m.Subject)
	switch {
	case m.Subject == "":
		return incident.Refuse(msgNoSubject)
	case strings.ContainsAny(m.Subject, "\r\n\x00") || !utf8.ValidString(m.Subject):
		return incident.Refuse(msgBadSubject)
	case len(m.Subject) > MaxSubjectBytes:
		return incident.Refuse(msgTooLong, MaxSubjectBytes)
	}
	if m.Tag != "" {
		if _, err := incident.ParseTag(m.Tag); err != nil {
			return incident.Refuse(msgNoIncidentTag, m.Tag)
		}
		m.Subject = WithTag(m.Subject, m.Tag)
	}
	if strings.TrimSpace(m.Text) == "" {
		return incident.Refuse(msgNoText)
	}
	if len(m.Text) > MaxTextBytes || !utf8.ValidString(m.Text) {
		return incident.Refuse(msgTooLong, MaxTextBytes)
	}
	if m.Language != "" && Language(m.Language) != m.Language {
		return incident.Refuse(msgBadLanguage, m.Language)
	}
	m.Language = Language(m.Language)
	return nil
}

// plainAddress returns s when it is one plain address
// (local@domain, nothing around it), and refuses anything else.
func plainAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxAddressBytes || strings.ContainsAny(s, "\r\n\x00<>,;\" ()") {
		return "", incident.Refuse(msgBadAddress, strings.ToValidUTF8(strings.NewReplacer("\r", " ", "\n", " ").Replace(clip(s, 80)), ""))
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s, "@") {
		return "", incident.Refuse(msgBadAddress, s)
	}
	return s, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		// Cut at a byte, then drop the half of a character it may have
		// left: PostgreSQL refuses text that is not UTF-8.
		return strings.ToValidUTF8(s[:n], "") + "…"
	}
	return s
}

// Sender sends mails: it signs each with the team's identity (and
// encrypts it to the recipient's key when there is one) and queues it in
// the outbox, with the timeline line and the audit entry, in one
// transaction on DB.
type Sender struct {
	// DB is the database the outbox, the incidents and the audit log are
	// kept in.
	DB sqlkit.DB
	// Identity is the team's OpenPGP identity (notify.LoadIdentity); nil
	// refuses to send: a mail from the team is always signed.
	Identity *pgpmime.Identity
	// From is the sender, notify.from ("CERT <cert@example.org>"); empty
	// refuses to send.
	From string
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

// Sent is what sending queued: the Message-ID of each message and how
// many of them were encrypted.
type Sent struct {
	MessageIDs []string
	Encrypted  int
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// Send checks m (Check), makes one message per recipient, so that no
// reporter learns another's address, and queues them in the outbox with
// the incident's mail_out line (recipients, subject, text, language) and
// an audit entry, in one transaction: the outbox delivers them with its
// retries.
func (s *Sender) Send(ctx context.Context, a incident.Actor, m Mail) (Sent, error) {
	now := s.now()
	if err := Check(&m, now); err != nil {
		return Sent{}, err
	}
	if s.Identity == nil {
		return Sent{}, incident.Refuse(msgNoIdentity)
	}
	from, err := mail.ParseAddress(s.From)
	if s.From == "" || err != nil {
		return Sent{}, incident.Refuse(msgNoSender)
	}
	content, err := pgpmime.BuildContent(m.Text)
	if err != nil {
		return Sent{}, fmt.Errorf("correspond: %w", err)
	}
	var sent Sent
	msgs := make([]outbox.Message, 0, len(m.To))
	var to, encrypted []string
	for _, r := range m.To {
		msg, err := s.message(from, r, m, content, now)
		if err != nil {
			return Sent{}, err
		}
		msgs = append(msgs, msg)
		sent.MessageIDs = append(sent.MessageIDs, msg.MessageID)
		to = append(to, r.Address)
		if msg.Encrypted {
			sent.Encrypted++
			encrypted = append(encrypted, r.Address)
		}
	}
	entry := incident.Entry{IncidentID: m.IncidentID, At: now, Actor: a.Name, Kind: incident.EntryMailOut, Text: m.Text,
		Details: map[string]string{"to": strings.Join(to, ", "), "subject": m.Subject, "lang": m.Language,
			"template": m.Template, "encrypted": strings.Join(encrypted, ", "), "messages": strings.Join(sent.MessageIDs, " ")}}
	audit := auth.AuditEntry{Time: now, UserID: a.UserID, Actor: a.Name, Action: "incident.mail",
		Target: "incident " + strconv.FormatInt(m.IncidentID, 10), Detail: clip("to "+strings.Join(to, ", ")+": "+m.Subject, incident.MaxFieldBytes-4)}
	if m.Via != "" {
		audit.Detail = clip(audit.Detail, incident.MaxFieldBytes-len(m.Via)-8) + " (" + m.Via + ")"
	}
	if m.IncidentID == 0 {
		audit.Action, audit.Target = "report.mail", "report "+strconv.FormatInt(m.To[0].ReportID, 10)
	}
	err = s.DB.Tx(ctx, func(tx sqlkit.DB) error {
		if err := outboxdb.Queue(ctx, tx, msgs, now); err != nil {
			return err
		}
		if m.IncidentID != 0 {
			if err := incidentdb.AddEntryIn(ctx, tx, &entry); err != nil {
				return err
			}
		}
		return authdb.New(tx).AddAudit(ctx, audit)
	})
	if err != nil {
		return Sent{}, fmt.Errorf("correspond: send: %w", err)
	}
	return sent, nil
}

// message makes the signed (and, with a key, encrypted) message to r.
func (s *Sender) message(from *mail.Address, r Recipient, m Mail, content []byte, now time.Time) (outbox.Message, error) {
	var h gomail.Header
	h.SetDate(now)
	h.SetAddressList("From", []*gomail.Address{{Name: from.Name, Address: from.Address}})
	h.SetAddressList("To", []*gomail.Address{{Name: r.Name, Address: r.Address}})
	h.SetSubject(m.Subject)
	id, err := messageID(from.Address)
	if err != nil {
		return outbox.Message{}, err
	}
	h.SetMessageID(id)
	msg := outbox.Message{Kind: OutboxKind, Sender: from.Address, Recipients: []string{r.Address},
		Subject: m.Subject, MessageID: id, Created: now}
	if strings.TrimSpace(r.Key) == "" {
		msg.Body, err = pgpmime.Sign(s.Identity, h, content)
		if err != nil {
			return outbox.Message{}, fmt.Errorf("correspond: sign: %w", err)
		}
		return msg, nil
	}
	body, err := pgpmime.SignAndEncrypt(s.Identity, h, content, []string{r.Key})
	if err != nil {
		return outbox.Message{}, fmt.Errorf("correspond: encrypt to %s: %w", r.Address, err)
	}
	msg.Body, msg.Encrypted = tagOuterSubject(body, m.Tag), true
	return msg, nil
}

// tagOuterSubject puts the incident's tag in the subject outside an
// encrypted message, which pgpmime replaces by ObscuredSubject: a reply
// from a client that does not show the protected subject must still
// thread onto the incident. The tag says nothing the path may not see;
// the real subject stays inside.
func tagOuterSubject(body []byte, tag string) []byte {
	t, err := incident.ParseTag(tag)
	if err != nil {
		return body
	}
	head, _, ok := bytes.Cut(body, []byte("\r\n\r\n"))
	if !ok {
		return body
	}
	old := []byte("Subject: " + pgpmime.ObscuredSubject + "\r\n")
	i := bytes.Index(head, old)
	if i < 0 {
		return body
	}
	out := make([]byte, 0, len(body)+32)
	out = append(out, body[:i]...)
	out = append(out, "Subject: "+t.Subject()+" "+pgpmime.ObscuredSubject+"\r\n"...)
	return append(out, body[i+len(old):]...)
}

// messageID makes a unique Message-ID (without angle brackets) in the
// sender's domain.
func messageID(from string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("correspond: message id: %w", err)
	}
	_, domain, _ := strings.Cut(from, "@")
	if domain == "" {
		return "", errors.New("correspond: sender without a domain")
	}
	return hex.EncodeToString(b[:]) + "@" + domain, nil
}
