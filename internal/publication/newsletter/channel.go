package newsletter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
)

// errNotTaken refuses a publication the newsletter does not send.
var errNotTaken = errors.New("newsletter: not sent")

// ChannelName is the newsletter's name among the publication channels.
const ChannelName = "newsletter"

// Channel is the newsletter as a publication channel: Send queues an
// issue of a published digest for every confirmed subscriber, and of a
// published warning for those who want warnings; the Mailer sends the
// mails after. It has the shape of internal/publication/channel's
// Sender.
type Channel struct {
	Store Store
	// Kick tells the Mailer an issue was queued; nil: none.
	Kick func()
}

// Name is the channel's name, for the publication outbox's worker.
func (c *Channel) Name() string { return ChannelName }

// Takes reports whether the newsletter sends p: public digests and
// warnings. Advisories and news reach subscribers in the digest.
func (c *Channel) Takes(p publication.Publication) bool {
	return p.Public() && (p.Kind == publication.KindDigest || p.Kind == publication.KindWarning)
}

// Send queues p's issue, once per publication and revision whatever the
// delivery's language (each subscriber gets their own), and answers how
// many mails were queued. A publication the newsletter does not take
// (not public, or not a digest or warning) is refused with an error, so
// that nothing that is not public is ever mailed.
func (c *Channel) Send(ctx context.Context, p publication.Publication, d publication.Delivery) (string, error) {
	if !p.Public() {
		return "", fmt.Errorf("%w: %s is not public", errNotTaken, p.Ident)
	}
	audience := ""
	switch p.Kind {
	case publication.KindDigest:
		audience = AudienceAll
	case publication.KindWarning:
		audience = AudienceWarnings
	default:
		return "", fmt.Errorf("%w: %s is a %s, and only digests and warnings are mailed", errNotTaken, p.Ident, p.Kind)
	}
	rev := d.Revision
	if rev == 0 {
		rev = p.Revision
	}
	is := Issue{PublicationID: p.ID, Revision: rev, Audience: audience, Publication: p}
	created, err := c.Store.QueueIssue(ctx, &is)
	if err != nil {
		return "", fmt.Errorf("newsletter: queue %s: %w", p.Ident, err)
	}
	if c.Kick != nil {
		c.Kick()
	}
	if !created {
		return fmt.Sprintf("issue %d queued before: %d mails", is.ID, is.Queued), nil
	}
	return fmt.Sprintf("issue %d: %d mails queued", is.ID, is.Queued), nil
}

// Spec is the newsletter's entry among the publication service's
// channels: one delivery for all languages, of what Takes accepts.
func (c *Channel) Spec() publication.ChannelSpec {
	return publication.ChannelSpec{Name: ChannelName, Accepts: func(p *publication.Publication) bool { return c.Takes(*p) }}
}

// deliveryAttempts is how often a delivery that could not be queued is
// tried (the store failing, not the relay: the mails have retries of
// their own).
const deliveryAttempts = 10

// DeliverDue takes the newsletter's queued deliveries from the
// publication outbox and queues their issues, recording each outcome:
// what `vigil serve`'s publication outbox worker does with Send, for the
// tests of this package, which have no worker; queueing an issue twice
// is harmless (QueueIssue keeps the first).
func (c *Channel) DeliverDue(ctx context.Context, pubs publication.Publications, now time.Time) (int, error) {
	due, err := pubs.DueDeliveries(ctx, ChannelName, now, 100)
	if err != nil {
		return 0, fmt.Errorf("newsletter: due deliveries: %w", err)
	}
	n := 0
	for _, d := range due {
		d.Attempts++
		p, err := pubs.GetPublication(ctx, d.PublicationID)
		reply := ""
		if err == nil {
			reply, err = c.Send(ctx, p, d)
		}
		switch {
		case err == nil:
			d.Status, d.Reply, d.Done, d.LastError = publication.DeliverySent, reply, now, ""
			n++
		case err != nil && (errors.Is(err, errNotTaken) || d.Attempts >= deliveryAttempts):
			d.Status, d.Done, d.LastError = publication.DeliveryFailed, now, err.Error()
		default:
			d.NextAttempt, d.LastError = now.Add(time.Duration(d.Attempts)*time.Minute), err.Error()
		}
		if err := pubs.FinishDelivery(ctx, d); err != nil {
			return n, fmt.Errorf("newsletter: record delivery %d: %w", d.ID, err)
		}
	}
	return n, nil
}
