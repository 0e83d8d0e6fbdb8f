package site

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigil-cert/vigil/internal/publication"
)

// redactDigests changes, in place, the digests among pubs (the public
// publications of a load) whose items are no longer public: an item
// withdrawn since keeps its ident, marked withdrawn, without its title,
// summary or link (its page is gone); one raised above TLP:CLEAR, or
// otherwise not public, is left out. The withdrawn publications are read
// only when a digest lists one that is not public.
func (s *Site) redactDigests(ctx context.Context, pubs []publication.Publication) error {
	public := make(map[string]bool, len(pubs))
	for i := range pubs {
		public[pubs[i].Ident] = true
	}
	missing := false
	for i := range pubs {
		if pubs[i].Kind != publication.KindDigest {
			continue
		}
		for _, t := range pubs[i].Texts {
			for _, ident := range digestIdents(t.Body) {
				missing = missing || !public[ident]
			}
		}
	}
	if !missing {
		return nil
	}
	withdrawn, err := s.withdrawnIdents(ctx)
	if err != nil {
		return err
	}
	state := func(ident string) publication.DigestItemState {
		switch {
		case public[ident]:
			return publication.ItemPublic
		case withdrawn[ident]:
			return publication.ItemWithdrawn
		}
		return publication.ItemHidden
	}
	label := func(lang string) string { return s.cat.T(lang, "site.digest.withdrawn") }
	for i := range pubs {
		pubs[i] = publication.RedactDigest(pubs[i], state, label)
	}
	return nil
}

// withdrawnIdents reads the idents of the withdrawn publications.
func (s *Site) withdrawnIdents(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	for offset := 0; ; {
		page, err := s.deps.Source.ListPublications(ctx, publication.Query{Status: publication.StatusWithdrawn, Limit: loadPage, Offset: offset})
		if err != nil {
			return nil, fmt.Errorf("list withdrawn publications: %w", err)
		}
		for _, p := range page.Publications {
			// Asked here whatever the source did with Query.Status.
			if p.Status == publication.StatusWithdrawn {
				out[p.Ident] = true
			}
		}
		offset += len(page.Publications)
		if len(page.Publications) == 0 || offset >= page.Total {
			return out, nil
		}
	}
}

// digestIdents returns the idents of a digest body's items.
func digestIdents(body string) []string {
	var out []string
	for line := range strings.SplitSeq(body, "\n") {
		if ident, ok := publication.DigestItemIdent(line); ok {
			out = append(out, ident)
		}
	}
	return out
}
