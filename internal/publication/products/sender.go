package products

// The "constituents" channel: when an advisory is published, each
// organisation that runs an affected product is told, once per
// revision.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// ChannelName is the channel's name in the publication outbox.
const ChannelName = "constituents"

// Eligible reports whether p may be sent to the organisations it
// concerns: a published advisory of TLP:CLEAR, GREEN or AMBER (AMBER
// and AMBER+STRICT go to the matched organisations' own contacts only,
// which is all this channel does); never TLP:RED.
func Eligible(p *publication.Publication) bool {
	return p.Kind == publication.KindAdvisory && p.Status == publication.StatusPublished &&
		p.TLP.Valid() && p.TLP != publication.TLPRed
}

// Channel is the channel's place among the publication service's
// channels (publication.Service.Channels): one delivery per revision,
// for the advisories Eligible takes.
var Channel = publication.ChannelSpec{Name: ChannelName, Accepts: Eligible}

// Organisations reads the organisations to tell.
type Organisations interface {
	GetOrganisation(ctx context.Context, id int64) (constituency.Organisation, error)
}

// Sender tells the organisations an advisory concerns. It is the
// "constituents" channel's sender (Send has the shape of
// internal/publication/channel's Sender). Zero fields take their
// defaults where they have one.
type Sender struct {
	Store         Declarations
	Organisations Organisations
	// Policies, when set, give each organisation's notification
	// language (notify.PolicyOf); otherwise its own Language.
	Policies notify.PolicyReader
	// State holds the team's OpenPGP identity (notify.LoadIdentity),
	// read at each send so that a key set in the console is used at
	// once.
	State     notify.StateReader
	Catalog   *i18n.Catalog
	From      string // notify.from
	PortalURL string // notify.portal_url: the link to the advisory
	// Kick wakes the outbox sender after messages were queued.
	Kick   func()
	Logger *slog.Logger
	Now    func() time.Time
}

// Name is the channel's name, for the publication outbox's worker.
func (s *Sender) Name() string { return ChannelName }

// Accepts is Eligible: the publication outbox's worker hands the sender
// TLP:GREEN and AMBER advisories too, which no public channel takes.
func (s *Sender) Accepts(p *publication.Publication) bool { return Eligible(p) }

// ErrNoIdentity is a send while the team has no OpenPGP key: the
// delivery is retried, as messages are never sent unsigned.
var ErrNoIdentity = notify.ErrNoIdentity

// Send tells every organisation that p's current revision concerns and
// that was not told of it yet: one message each (signed, encrypted to
// those of its contacts with a key, in its language), queued in the
// outbox in the transaction that records it was told. The reply says
// how many were told, and how many had been told before. A disabled organisation is not told.
func (s *Sender) Send(ctx context.Context, p publication.Publication, d publication.Delivery) (i18n.Message, error) {
	if !Eligible(&p) {
		return i18n.M("products.reply.notadvisory"), nil
	}
	if d.Revision != 0 && d.Revision != p.Revision {
		// A newer revision has its own delivery.
		return i18n.M("products.reply.superseded", d.Revision, p.Revision), nil
	}
	concerned, err := Concerned(ctx, s.Store, p)
	if err != nil {
		return i18n.Message{}, err
	}
	var id *pgpmime.Identity
	if s.State != nil {
		if id, err = notify.LoadIdentity(ctx, s.State); err != nil {
			return i18n.Message{}, err
		}
	}
	told, before := 0, 0
	for _, c := range concerned {
		if c.Told {
			before++
			continue
		}
		ok, err := s.tell(ctx, id, p, c)
		if err != nil {
			return i18n.Message{}, err
		}
		if ok {
			told++
		}
	}
	if told > 0 && s.Kick != nil {
		s.Kick()
	}
	return i18n.M("products.reply.told", told, before), nil
}

// tell composes and queues one organisation's message.
func (s *Sender) tell(ctx context.Context, id *pgpmime.Identity, p publication.Publication, c ConcernedOrganisation) (bool, error) {
	org, err := s.Organisations.GetOrganisation(ctx, c.OrgID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil // deleted since: its declarations went with it
	case err != nil:
		return false, err
	case org.Disabled:
		return false, nil
	}
	if id == nil {
		return false, ErrNoIdentity
	}
	lang := org.Language
	if s.Policies != nil {
		if pol, _, err := notify.PolicyOf(ctx, s.Policies, org); err == nil {
			lang = pol.Language
		}
	}
	if !notify.ValidLanguage(lang) {
		lang = notify.Languages[0]
	}
	name := org.Name
	if name == "" {
		name = org.Handle
	}
	letter := Letter(s.Catalog, lang, name, p, c.Matches, AdvisoryLink(s.PortalURL, p.Ident))
	msgs, err := notify.ComposeLetter(id, s.From, org, letter, s.now())
	if err != nil {
		return false, err
	}
	ok, err := s.Store.Tell(ctx, p.ID, p.Revision, org.ID, msgs)
	if err != nil {
		return false, err
	}
	if ok && s.Logger != nil {
		s.Logger.Info("products: organisation told of an advisory", "publication", p.Ident, "revision", p.Revision,
			"org", org.Handle, "matches", len(c.Matches), "messages", len(msgs))
	}
	return ok, nil
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now().UTC()
}

// ConcernedOrganisation is an organisation p concerns: its declarations
// that match, and whether it was told of p's current revision.
type ConcernedOrganisation struct {
	OrgID   int64
	Matches []Match
	Told    bool
}

// ConcernedStore is what Concerned reads.
type ConcernedStore interface {
	ConcernedDeclarations(ctx context.Context, products []publication.Product) (map[int64][]Declaration, error)
	Told(ctx context.Context, publicationID int64, revision int) ([]int64, error)
}

// Concerned returns the organisations whose declarations match p's
// products, by organisation id, whatever p's status (the console shows
// who a draft will concern): the console's "concerned organisations"
// and what Send tells.
func Concerned(ctx context.Context, st ConcernedStore, p publication.Publication) ([]ConcernedOrganisation, error) {
	byOrg, err := st.ConcernedDeclarations(ctx, p.Products)
	if err != nil {
		return nil, fmt.Errorf("concerned organisations: %w", err)
	}
	told := map[int64]bool{}
	if p.ID != 0 && p.Revision > 0 {
		ids, err := st.Told(ctx, p.ID, p.Revision)
		if err != nil {
			return nil, fmt.Errorf("concerned organisations: %w", err)
		}
		for _, id := range ids {
			told[id] = true
		}
	}
	var out []ConcernedOrganisation
	for _, org := range slices.Sorted(maps.Keys(byOrg)) {
		if m := matchProducts(p.Products, byOrg[org]); len(m) > 0 {
			out = append(out, ConcernedOrganisation{OrgID: org, Matches: m, Told: told[org]})
		}
	}
	return out, nil
}
