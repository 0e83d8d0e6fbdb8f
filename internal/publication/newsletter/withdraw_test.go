package newsletter_test

import (
	"context"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
)

// TestWithdrawalSkipsQueuedMails: a warning published through the
// workflow is queued for its subscribers by the publication outbox's
// worker; withdrawing it marks its queued mails skipped at once, through
// publication.Service's Withdrawn hook as `vigil serve` wires it, before
// the mailer runs; the mailer then sends nothing.
func TestWithdrawalSkipsQueuedMails(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	relay := newTestRelay(t)
	w.subscribe(t, "en@example.org", "en", true)
	w.subscribe(t, "nl@example.org", "nl", true)
	w.subscribe(t, "digest-only@example.org", "en", false)
	ch := &newsletter.Channel{Store: w.store}
	alice, bob := addAuthors(t, w)
	svc := &publication.Service{Store: pubdb.New(w.st.DB()), Rules: publication.Rules{Languages: []string{"en", "nl"}}}
	svc.Channels = append(append([]publication.ChannelSpec(nil), publication.DefaultChannels...), ch.Spec())
	mailer := &newsletter.Mailer{Store: w.store, Mails: w.service.Mails, Relay: relay.sender(t), Publications: svc.Store}
	svc.Withdrawn = func(ctx context.Context, p publication.Publication) {
		if err := mailer.Withdrawn(ctx, p); err != nil {
			t.Error(err)
		}
	}
	warning := publish(t, svc, alice, bob, publication.KindWarning, publication.TLPClear, "Exploited now")
	if _, err := newWorker(t, svc, ch).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int {
		t.Helper()
		p, err := w.store.ListProgress(ctx, 1)
		if err != nil || len(p) != 1 || p[0].PublicationID != warning.ID {
			t.Fatalf("ListProgress = %+v, %v; want the warning's issue", p, err)
		}
		return p[0].Counts
	}
	if c := counts(); c[newsletter.SendQueued] != 2 {
		t.Fatalf("counts before the withdrawal %v; want 2 queued", c)
	}
	if _, err := svc.Withdraw(ctx, bob, warning.ID, "published by mistake"); err != nil {
		t.Fatal(err)
	}
	if c := counts(); c[newsletter.SendSkipped] != 2 || c[newsletter.SendQueued] != 0 {
		t.Errorf("counts after the withdrawal %v; want both mails skipped before the mailer runs", c)
	}
	if err := mailer.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	if relay.total() != 0 {
		t.Errorf("%d mails of the withdrawn warning sent", relay.total())
	}
}
