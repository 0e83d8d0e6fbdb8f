package notify

// Letters: messages the team writes to an organisation that report no
// events (an advisory that concerns the products it runs), made as a
// notification is: to its notify-contacts, signed with the team key,
// encrypted to those with a key, queued by the caller.

import (
	"errors"
	"fmt"
	"net/mail"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// Letter is one message to an organisation: its outbox kind
// ("advisory", …), subject and plain text (lines ending in \n, reflowed
// to the notifications' width).
type Letter struct {
	Kind    string
	Subject string
	Text    string
}

// ComposeLetter makes the outbox messages of l for org, as a pass makes
// a notification's: one encrypted to every notify-contact with a usable
// OpenPGP key, one signed for those without a key, none for those whose
// key is unusable; with nobody to send to, one failed message that says
// why, so that the log shows it. from is the sender (notify.from); id
// signs. The caller queues the messages (outboxdb.Queue, in the
// transaction that records what they tell).
func ComposeLetter(id *pgpmime.Identity, from string, org constituency.Organisation, l Letter, now time.Time) ([]outbox.Message, error) {
	if id == nil {
		return nil, ErrNoIdentity
	}
	addr, err := mail.ParseAddress(from)
	if err != nil || from == "" {
		return nil, errors.New("notify: no sender address (notify.from)")
	}
	p := &pass{pc: &passConfig{from: addr}, id: id, now: now}
	text := reflow(normalizeNewlines(l.Text), textWidth)
	m := rendered{kind: l.Kind, Subject: l.Subject, Entity: multipartMixed([]mimePart{textPart(text)}), text: text}
	msgs, err := p.deliver(org, m, nil, p.recipients(org), nil)
	if err != nil {
		return nil, fmt.Errorf("notify: letter to %s: %w", org.Handle, err)
	}
	return msgs, nil
}
