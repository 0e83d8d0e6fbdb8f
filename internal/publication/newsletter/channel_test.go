package newsletter

import (
	"errors"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// TestChannelRefusalsAreMessages: a publication the newsletter does not
// mail is refused with errNotTaken, whose reason the publication outbox
// keeps as a catalogue message, said in the reader's language.
func TestChannelRefusalsAreMessages(t *testing.T) {
	ch := &Channel{}
	cat := i18n.Embedded()
	for _, c := range []struct {
		p        publication.Publication
		id, want string
	}{
		{publication.Publication{Ident: "VIGIL-2026-0001", Kind: publication.KindDigest, Status: publication.StatusDraft, Content: publication.Content{TLP: publication.TLPClear}},
			"newsletter.reply.notpublic", "Nicht gemailt: VIGIL-2026-0001 ist nicht öffentlich."},
		{publication.Publication{Ident: "VIGIL-2026-0002", Kind: publication.KindNews, Status: publication.StatusPublished, Revision: 1,
			Content: publication.Content{TLP: publication.TLPClear, Texts: []publication.Text{{Lang: "en", Title: "News"}}}},
			"newsletter.reply.notmailed", "Nicht gemailt: VIGIL-2026-0002 (Meldung) ist weder eine Wochenübersicht noch eine Warnung, und nur diese werden gemailt."},
	} {
		reply, err := ch.Send(t.Context(), c.p, publication.Delivery{Revision: 1})
		m, ok := i18n.Explain(err)
		if !errors.Is(err, errNotTaken) || !reply.IsZero() || !ok || m.ID != c.id {
			t.Errorf("%s: Send = %q, %v (%s); want errNotTaken explained by %s", c.p.Ident, reply, err, m.ID, c.id)
			continue
		}
		if got := cat.Stored("de", m.Encode()); got != c.want {
			t.Errorf("%s: in German %q, want %q", c.p.Ident, got, c.want)
		}
	}
}
