package newsletter_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
)

// recordingStore records the issues queued; nothing else is called.
type recordingStore struct {
	newsletter.Store
	queued []newsletter.Issue
}

func (s *recordingStore) QueueIssue(_ context.Context, is *newsletter.Issue) (bool, error) {
	s.queued = append(s.queued, *is)
	return true, nil
}

// TestOnlyPublicIsMailed is the property: whatever the publication's
// status, TLP and kind, the newsletter queues it only when
// Publication.Public allows it (and it is a digest or a warning).
func TestOnlyPublicIsMailed(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	st := &recordingStore{}
	ch := &newsletter.Channel{Store: st}
	for i := range 5000 {
		p := publication.Publication{
			ID:     int64(i + 1),
			Ident:  "VIGIL-2026-0001",
			Kind:   publication.Kinds[rng.IntN(len(publication.Kinds))],
			Status: publication.Statuses[rng.IntN(len(publication.Statuses))],
			Content: publication.Content{TLP: publication.TLPs[rng.IntN(len(publication.TLPs))],
				Texts: []publication.Text{{Lang: "en", Title: "t"}}},
		}
		if rng.IntN(4) == 0 {
			p.Withdrawn = time.Now()
		}
		before := len(st.queued)
		_, err := ch.Send(t.Context(), p, publication.Delivery{Channel: newsletter.ChannelName, Revision: 1})
		sent := len(st.queued) > before
		if sent && !p.Public() {
			t.Fatalf("%s %s TLP:%s was queued though not public", p.Kind, p.Status, p.TLP)
		}
		if sent != (err == nil) {
			t.Fatalf("%s %s TLP:%s: queued %v but error %v", p.Kind, p.Status, p.TLP, sent, err)
		}
		if ch.Accepts(&p) != sent {
			t.Fatalf("Accepts says %v for %s %s TLP:%s, Send queued %v", ch.Accepts(&p), p.Kind, p.Status, p.TLP, sent)
		}
		if sent && p.Kind != publication.KindDigest && p.Kind != publication.KindWarning {
			t.Fatalf("a %s was mailed", p.Kind)
		}
	}
	if len(st.queued) == 0 {
		t.Fatal("nothing was ever queued: the property was not exercised")
	}
}
