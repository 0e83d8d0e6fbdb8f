package notify

// Who of an organisation receives its messages, and how: encrypted,
// signed, or not at all; and the outbox messages made for them.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"

	gomail "github.com/emersion/go-message/mail"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// recipientSet is who of an organisation can be told, and how.
type recipientSet struct {
	encrypt     []*mail.Address
	keys        []string
	plain       []*mail.Address
	skipped     []SkippedContact
	nobodyWhy   []string
	hasContacts bool
}

// reachable reports whether anybody can be sent the messages.
func (r recipientSet) reachable() bool { return len(r.encrypt)+len(r.plain) > 0 }

// recipients sorts the notify-contacts of org: those with a usable key get
// the message encrypted, those without a key get it signed, and those
// whose key is unusable (expired, revoked, broken) get nothing: sending
// them clear text would defeat the key they gave, and they are reported
// as skipped instead.
func (p *pass) recipients(org constituency.Organisation) recipientSet {
	var r recipientSet
	seen := map[string]bool{}
	for _, c := range org.Contacts {
		if !c.Notify {
			continue
		}
		r.hasContacts = true
		skip := func(reason string) {
			r.skipped = append(r.skipped, SkippedContact{Org: org.Handle, Email: c.Email, Reason: reason})
			who := c.Email
			if who == "" {
				who = c.Name
			}
			r.nobodyWhy = append(r.nobodyWhy, who+": "+reason)
		}
		addr, err := mail.ParseAddress(c.Email)
		if c.Email == "" || err != nil {
			skip("no valid e-mail address")
			continue
		}
		if seen[strings.ToLower(addr.Address)] {
			continue
		}
		seen[strings.ToLower(addr.Address)] = true
		addr.Name = c.Name
		if strings.TrimSpace(c.PGPKey) == "" {
			r.plain = append(r.plain, addr)
			continue
		}
		if ks := pgpmime.InspectKey(c.PGPKey, p.now); !ks.Usable {
			skip("OpenPGP key " + ks.Problem)
			continue
		}
		r.encrypt = append(r.encrypt, addr)
		r.keys = append(r.keys, c.PGPKey)
	}
	if !r.hasContacts {
		r.nobodyWhy = append(r.nobodyWhy, "no contact is marked to receive notifications")
	}
	return r
}

// deliver signs (and encrypts) one rendered message for the recipients:
// one message encrypted to every contact with a usable key, one signed for
// the contacts without a key. With nobody to send to it returns one
// failed message that says why, so that the notification log shows it.
func (p *pass) deliver(org constituency.Organisation, m rendered, eventIDs []int64, rcpt recipientSet, held *[]*[]byte) ([]outbox.Message, error) {
	// sign signs m, into an array of the renderer's that held keeps
	// for the caller to give back once the message is packed, when held
	// is not nil.
	sign := func(h gomail.Header) ([]byte, error) {
		if held == nil {
			return pgpmime.Sign(p.id, h, m.Entity)
		}
		buf := p.pc.render.messages.get(pgpmime.SignRoom(len(m.Entity)))
		*held = append(*held, buf)
		body, err := pgpmime.SignInto(*buf, p.id, h, m.Entity)
		return body, err
	}
	from := p.pc.from
	base := outbox.Message{
		OrgID: org.ID, Org: org.Handle, Kind: m.kind, Sender: from.Address,
		Subject: m.Subject, Events: len(m.Events), EventIDs: eventIDs,
		Created: p.now,
	}
	header := func(to []*mail.Address) (gomail.Header, string, error) {
		var h gomail.Header
		h.SetDate(p.now)
		h.SetAddressList("From", []*gomail.Address{{Name: from.Name, Address: from.Address}})
		if len(to) > 0 {
			list := make([]*gomail.Address, len(to))
			for i, a := range to {
				list[i] = &gomail.Address{Name: a.Name, Address: a.Address}
			}
			h.SetAddressList("To", list)
		}
		h.SetSubject(m.Subject)
		id, err := messageID(from.Address)
		if err != nil {
			return h, "", err
		}
		h.SetMessageID(id)
		// RFC 3834: no vacation replies to an automatic notification.
		h.Set("Auto-Submitted", "auto-generated")
		return h, id, nil
	}
	addresses := func(list []*mail.Address) []string {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = a.Address
		}
		return out
	}
	var out []outbox.Message
	if len(rcpt.encrypt) > 0 {
		h, id, err := header(rcpt.encrypt)
		if err != nil {
			return nil, err
		}
		body, err := pgpmime.SignAndEncrypt(p.id, h, m.Entity, rcpt.keys)
		if err != nil {
			return nil, fmt.Errorf("sign and encrypt: %w", err)
		}
		msg := base
		msg.Recipients, msg.MessageID, msg.Body, msg.Encrypted = addresses(rcpt.encrypt), id, body, true
		out = append(out, msg)
	}
	if len(rcpt.plain) > 0 {
		h, id, err := header(rcpt.plain)
		if err != nil {
			return nil, err
		}
		body, err := sign(h)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		msg := base
		msg.Recipients, msg.MessageID, msg.Body = addresses(rcpt.plain), id, body
		out = append(out, msg)
	}
	if len(out) == 0 {
		// Kept, signed and addressed to nobody, so that the log shows what
		// would have gone out and why it did not.
		h, id, err := header(nil)
		if err != nil {
			return nil, err
		}
		body, err := sign(h)
		if err != nil {
			return nil, fmt.Errorf("sign: %w", err)
		}
		msg := base
		msg.MessageID, msg.Body = id, body
		msg.Status = outbox.MessageFailed
		msg.LastError = "no contact can receive notifications: " + strings.Join(rcpt.nobodyWhy, "; ")
		out = append(out, msg)
	}
	return out, nil
}

// messageID makes a unique Message-ID (without angle brackets) in the
// sender's domain.
func messageID(from string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	_, domain, _ := strings.Cut(from, "@")
	if domain == "" {
		domain = "vigil.invalid"
	}
	return hex.EncodeToString(b[:]) + "@" + domain, nil
}
