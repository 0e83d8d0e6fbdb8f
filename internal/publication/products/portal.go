package products

// What a constituent's portal shows of the advisories: the one rule of
// which advisory an organisation may see, and its matches, decided by
// the organisation's id and nothing else.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// PublicationReader is what the portal reads of the publications.
type PublicationReader interface {
	ListPublications(ctx context.Context, q publication.Query) (publication.Page, error)
	GetPublicationByIdent(ctx context.Context, ident string) (publication.Publication, error)
}

// DeclarationReader is what the portal reads of an organisation's
// declarations, and of what it was told.
type DeclarationReader interface {
	ListDeclarations(ctx context.Context, org int64) ([]Declaration, error)
	// WasTold reports whether org was told of the publication's
	// revision or of an earlier one.
	WasTold(ctx context.Context, publicationID int64, revision int, org int64) (bool, error)
}

// wasTold reports whether org was told of any revision of p: what opens
// a TLP:AMBER advisory to it. Declarations alone do not, as an
// organisation declares what it likes: naming many products must not
// open every AMBER advisory.
func wasTold(ctx context.Context, decls DeclarationReader, p publication.Publication, org int64) (bool, error) {
	return decls.WasTold(ctx, p.ID, p.Revision, org)
}

// amber reports whether p is one of the labels only those told see.
func amber(p publication.Publication) bool {
	return p.TLP == publication.TLPAmber || p.TLP == publication.TLPAmberStrict
}

// OrganisationAdvisory is an advisory as one organisation sees it: with
// the matches of its own declarations (none when it concerns none of
// them).
type OrganisationAdvisory struct {
	publication.Publication
	Matches []Match
}

// Concerning reports whether the advisory concerns the organisation.
func (a OrganisationAdvisory) Concerning() bool { return len(a.Matches) > 0 }

// Visible reports whether an organisation may see p in its portal: a
// published advisory of TLP:CLEAR or GREEN; of AMBER or AMBER+STRICT
// only when the organisation was told of it (concerning: the
// constituents channel told it, its products matching); TLP:RED never.
func Visible(p publication.Publication, concerning bool) bool {
	if p.Kind != publication.KindAdvisory || p.Status != publication.StatusPublished {
		return false
	}
	switch p.TLP {
	case publication.TLPClear, publication.TLPGreen:
		return true
	case publication.TLPAmber, publication.TLPAmberStrict:
		return concerning
	}
	return false
}

// PortalLimit bounds the advisories the portal lists.
const PortalLimit = 500

// AdvisoriesFor returns the advisories organisation org may see (Visible),
// newest first, those that concern its declarations before the others.
func AdvisoriesFor(ctx context.Context, pubs PublicationReader, decls DeclarationReader, org int64) ([]OrganisationAdvisory, error) {
	declared, err := decls.ListDeclarations(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("advisories of organisation %d: %w", org, err)
	}
	page, err := pubs.ListPublications(ctx, publication.Query{Kind: publication.KindAdvisory, Status: publication.StatusPublished,
		MaxTLP: publication.TLPAmberStrict, Limit: PortalLimit})
	if err != nil {
		return nil, fmt.Errorf("advisories of organisation %d: %w", org, err)
	}
	var concerning, others []OrganisationAdvisory
	for _, p := range page.Publications {
		m := Concerns(p, declared)
		told := len(m) > 0
		if told && amber(p) {
			if told, err = wasTold(ctx, decls, p, org); err != nil {
				return nil, fmt.Errorf("advisories of organisation %d: %w", org, err)
			}
		}
		if !Visible(p, told) {
			continue
		}
		if len(m) > 0 {
			concerning = append(concerning, OrganisationAdvisory{Publication: p, Matches: m})
		} else {
			others = append(others, OrganisationAdvisory{Publication: p})
		}
	}
	return append(concerning, others...), nil
}

// AdvisoryFor returns the advisory ident as organisation org sees it;
// store.ErrNotFound when there is none or org may not see it, alike, so
// that a guessed ident tells nothing.
func AdvisoryFor(ctx context.Context, pubs PublicationReader, decls DeclarationReader, org int64, ident string) (OrganisationAdvisory, error) {
	p, err := pubs.GetPublicationByIdent(ctx, ident)
	if err != nil {
		return OrganisationAdvisory{}, err
	}
	declared, err := decls.ListDeclarations(ctx, org)
	if err != nil {
		return OrganisationAdvisory{}, err
	}
	m := Concerns(p, declared)
	concerning := len(m) > 0
	if concerning && amber(p) {
		if concerning, err = wasTold(ctx, decls, p, org); err != nil {
			return OrganisationAdvisory{}, err
		}
	}
	if !Visible(p, concerning) {
		return OrganisationAdvisory{}, fmt.Errorf("advisory %s: %w", ident, store.ErrNotFound)
	}
	return OrganisationAdvisory{Publication: p, Matches: m}, nil
}
