package newsletter_test

import (
	"context"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/store"
)

// itemsReader answers for a digest and the publications it lists, by
// id and by ident, as they are now.
type itemsReader map[string]publication.Publication

func (r itemsReader) GetPublication(_ context.Context, id int64) (publication.Publication, error) {
	for _, p := range r {
		if p.ID == id {
			return p, nil
		}
	}
	return publication.Publication{}, store.ErrNotFound
}

func (r itemsReader) GetPublicationByIdent(_ context.Context, ident string) (publication.Publication, error) {
	if p, ok := r[ident]; ok {
		return p, nil
	}
	return publication.Publication{}, store.ErrNotFound
}

// TestDigestMailsFollowItsItems: a digest being mailed when one of its
// items is withdrawn and another raised to TLP:AMBER mails the rest
// without them: the withdrawn one marked, the other left out, as the
// site shows it.
func TestDigestMailsFollowItsItems(t *testing.T) {
	w := newWorld(t)
	relay := newTestRelay(t)
	w.subscribe(t, "en@example.org", "en", false)
	kept := published(2, publication.KindAdvisory, publication.Text{Lang: "en", Title: "Kept advisory"})
	gone := published(3, publication.KindAdvisory, publication.Text{Lang: "en", Title: "Gone advisory"})
	raised := published(4, publication.KindAdvisory, publication.Text{Lang: "en", Title: "Raised advisory"})
	var body strings.Builder
	for _, p := range []publication.Publication{kept, gone, raised} {
		body.WriteString(publication.DigestItem(p.Ident, "high", "["+p.Texts[0].Title+"](https://cert.example/en/p/"+p.Ident+")", "Summary of "+p.Texts[0].Title) + "\n")
	}
	digest := published(1, publication.KindDigest, publication.Text{Lang: "en", Title: "This week", Body: body.String()})
	if _, err := (&newsletter.Channel{Store: w.store}).Send(t.Context(), digest, publication.Delivery{Revision: 1}); err != nil {
		t.Fatal(err)
	}
	gone.Status = publication.StatusWithdrawn
	raised.TLP = publication.TLPAmber
	reader := itemsReader{digest.Ident: digest, kept.Ident: kept, gone.Ident: gone, raised.Ident: raised}
	mailer := &newsletter.Mailer{Store: w.store, Mails: w.service.Mails, Relay: relay.sender(t), Publications: reader}
	if err := mailer.SendDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := relay.received("en@example.org")
	if len(got) != 1 {
		t.Fatalf("%d mails", len(got))
	}
	m := parseMail(t, got[0])
	mail := m.text + "\n" + m.html
	for _, want := range []string{"Kept advisory", gone.Ident, "withdrawn"} {
		if !strings.Contains(mail, want) {
			t.Errorf("the digest's mail lacks %q", want)
		}
	}
	for _, leak := range []string{"Gone advisory", "Raised advisory", raised.Ident} {
		if strings.Contains(mail, leak) {
			t.Errorf("the digest's mail shows %q", leak)
		}
	}
}
