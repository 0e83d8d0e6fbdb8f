package newsletter

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// errNotTaken refuses a publication the newsletter does not send; the
// refusal is a notTaken, which says why in the reader's language.
var errNotTaken = errors.New("newsletter: not sent")

// notTaken is errNotTaken with its reason, a catalogue message that the
// publication outbox keeps as the delivery's LastError.
type notTaken struct{ why i18n.Message }

func (e *notTaken) Error() string         { return errNotTaken.Error() + ": " + e.why.String() }
func (e *notTaken) Is(target error) bool  { return target == errNotTaken }
func (e *notTaken) Explain() i18n.Message { return e.why }

// ChannelName is the newsletter's name among the publication channels.
const ChannelName = "newsletter"

// Channel is the newsletter as a publication channel: Send queues an
// issue of a published digest for every confirmed subscriber, and of a
// published warning for those who want warnings; the Mailer sends the
// mails after. It is an internal/publication/channel Sender: `vigil
// serve` registers it with the publication outbox's worker, which calls
// Send for each "newsletter" delivery and records the outcome.
type Channel struct {
	Store Store
	// Kick tells the Mailer an issue was queued; nil: none.
	Kick func()
}

// Name is the channel's name, for the publication outbox's worker.
func (c *Channel) Name() string { return ChannelName }

// Accepts reports whether the newsletter sends p: public digests and
// warnings. Advisories and news reach subscribers in the digest. The
// outbox's worker asks it (channel.Accepter), so that a delivery of one
// it no longer takes (withdrawn, raised above CLEAR) is skipped, not
// retried.
func (c *Channel) Accepts(p *publication.Publication) bool {
	return p.Public() && (p.Kind == publication.KindDigest || p.Kind == publication.KindWarning)
}

// Send queues p's issue, once per publication and revision whatever the
// delivery's language (each subscriber gets their own), and answers how
// many mails were queued. A publication the newsletter does not take
// (not public, or not a digest or warning) is refused with an error, so
// that nothing that is not public is ever mailed.
func (c *Channel) Send(ctx context.Context, p publication.Publication, d publication.Delivery) (i18n.Message, error) {
	if !p.Public() {
		return i18n.Message{}, &notTaken{i18n.M("newsletter.reply.notpublic", p.Ident)}
	}
	audience := ""
	switch p.Kind {
	case publication.KindDigest:
		audience = AudienceAll
	case publication.KindWarning:
		audience = AudienceWarnings
	default:
		return i18n.Message{}, &notTaken{i18n.M("newsletter.reply.notmailed", p.Ident, i18n.M("publications.kind."+string(p.Kind)))}
	}
	rev := d.Revision
	if rev == 0 {
		rev = p.Revision
	}
	is := Issue{PublicationID: p.ID, Revision: rev, Audience: audience, Publication: p}
	created, err := c.Store.QueueIssue(ctx, &is)
	if err != nil {
		return i18n.Message{}, fmt.Errorf("newsletter: queue %s: %w", p.Ident, err)
	}
	if c.Kick != nil {
		c.Kick()
	}
	if !created {
		return i18n.M("newsletter.reply.queuedbefore", is.ID, is.Queued), nil
	}
	return i18n.M("newsletter.reply.queued", is.ID, is.Queued), nil
}

// Spec is the newsletter's entry among the publication service's
// channels: one delivery for all languages, of what Takes accepts.
func (c *Channel) Spec() publication.ChannelSpec {
	return publication.ChannelSpec{Name: ChannelName, Accepts: c.Accepts}
}

var _ i18n.Explained = (*notTaken)(nil)
