package api

import (
	"context"
	"errors"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// digestItems says, for a reader outside the team, what each item of a
// digest is now, as the public site shows it: still visible to the
// reader, withdrawn since (ident kept, marked withdrawn, without title
// or link), or hidden (raised above the reader's label). Each ident is
// read once per request; a store that fails hides the item.
type digestItems struct {
	h      *handler
	ctx    context.Context
	reader publicationReader
	states map[string]publication.DigestItemState
}

func (h *handler) digestItems(ctx context.Context, reader publicationReader) *digestItems {
	return &digestItems{h: h, ctx: ctx, reader: reader, states: map[string]publication.DigestItemState{}}
}

// redact returns p with its items redacted; p as it is for the team and
// for what is not a digest.
func (d *digestItems) redact(p publication.Publication) publication.Publication {
	if d.reader == readerTeam || p.Kind != publication.KindDigest {
		return p
	}
	return publication.RedactDigest(p, d.state, d.withdrawn)
}

func (d *digestItems) state(ident string) publication.DigestItemState {
	if s, ok := d.states[ident]; ok {
		return s
	}
	s := publication.ItemHidden
	p, err := d.h.publications.Store.GetPublicationByIdent(d.ctx, ident)
	switch {
	case err == nil && d.reader.visible(&p):
		s = publication.ItemPublic
	case err == nil && p.Status == publication.StatusWithdrawn:
		s = publication.ItemWithdrawn
	case err != nil && !errors.Is(err, store.ErrNotFound):
		d.h.log.Error("api: a digest's item", "ident", ident, "err", err)
	}
	d.states[ident] = s
	return s
}

// withdrawn is the word in the text's language.
func (d *digestItems) withdrawn(lang string) string {
	cat, err := catalogue()
	if err != nil {
		return "withdrawn"
	}
	return cat.T(lang, "site.digest.withdrawn")
}
