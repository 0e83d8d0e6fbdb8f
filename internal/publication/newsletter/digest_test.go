package newsletter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/channel"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
)

// addAuthors makes the accounts of alice, who writes, and bob, who
// approves.
func addAuthors(t *testing.T, w *world) (alice, bob publication.Actor) {
	t.Helper()
	var actors []publication.Actor
	for _, name := range []string{"alice", "bob"} {
		u, err := auth.NewUser(name, name+"@cert.example", auth.RolePublisher, "a long enough password", "en")
		if err != nil {
			t.Fatal(err)
		}
		if err := authdb.New(w.st.DB()).CreateUser(t.Context(), &u); err != nil {
			t.Fatal(err)
		}
		actors = append(actors, publication.Actor{UserID: u.ID, Name: name})
	}
	return actors[0], actors[1]
}

// publish writes, reviews and publishes a publication of kind at tlp.
func publish(t *testing.T, svc *publication.Service, alice, bob publication.Actor, kind publication.Kind, tlp publication.TLP, title string) publication.Publication {
	t.Helper()
	ctx := t.Context()
	c := publication.Content{Severity: "high", TLP: tlp, Texts: []publication.Text{
		{Lang: "en", Title: title, Summary: "What " + title + " is"},
		{Lang: "nl", Title: title + " (nl)", Summary: "Wat " + title + " is"}}}
	p, err := svc.Create(ctx, alice, kind, c, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() (publication.Publication, error){
		func() (publication.Publication, error) { return svc.Submit(ctx, alice, p.ID) },
		func() (publication.Publication, error) { return svc.Approve(ctx, bob, p.ID) },
		func() (publication.Publication, error) { return svc.Publish(ctx, bob, p.ID) },
	} {
		if p, err = step(); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestWeeklyDigest(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	relay := newTestRelay(t)
	w.subscribe(t, "reader@example.org", "nl", false)
	ch := &newsletter.Channel{Store: w.store}
	alice, bob := addAuthors(t, w)
	svc := &publication.Service{Store: pubdb.New(w.st.DB()), Rules: publication.Rules{Languages: []string{"en", "nl", "fr"}}}
	svc.Channels = append(append([]publication.ChannelSpec(nil), publication.DefaultChannels...), ch.Spec())
	advisory := publish(t, svc, alice, bob, publication.KindAdvisory, publication.TLPClear, "Public advisory")
	amber := publish(t, svc, alice, bob, publication.KindAdvisory, publication.TLPAmber, "Amber advisory")
	news := publish(t, svc, alice, bob, publication.KindNews, publication.TLPClear, "Citizens' news")

	// The publication outbox's worker, as `vigil serve` runs it, with
	// the newsletter registered: the advisory and the news item are not
	// mailed on their own.
	worker := newWorker(t, svc, ch)
	if c, err := worker.RunOnce(ctx); err != nil || c != (channel.Counts{}) {
		t.Fatalf("the worker before the digest = %+v, %v; want nothing for the newsletter", c, err)
	}
	cat, _ := i18n.Load()
	schedule, _ := newsletter.DigestConfig{Weekday: "monday", Time: "09:00"}.Schedule()
	digests := &newsletter.Digests{Service: svc, State: w.st, Catalog: cat, Schedule: schedule, AutoPublish: true,
		PublicationURL: "https://www.cert.example/{lang}/{ident}"}
	now := time.Now().UTC()
	p, err := digests.Make(ctx, now.Add(-7*24*time.Hour), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != publication.KindDigest || !p.Public() || len(p.Texts) != 3 {
		t.Fatalf("digest %s %s TLP:%s with %d texts", p.Kind, p.Status, p.TLP, len(p.Texts))
	}
	en, _ := p.Text("en")
	nl, _ := p.Text("nl")
	for _, want := range []string{advisory.Ident, news.Ident, "[Public advisory](<https://www.cert.example/en/" + advisory.Ident + ">)"} {
		if !strings.Contains(en.Body, want) {
			t.Errorf("the English digest lacks %q:\n%s", want, en.Body)
		}
	}
	if strings.Contains(en.Body, amber.Ident) || strings.Contains(nl.Body, "Amber") {
		t.Errorf("the TLP:AMBER advisory is in the digest:\n%s", en.Body)
	}
	if !strings.Contains(nl.Body, "Public advisory (nl)") || !strings.Contains(nl.Title, "Weekoverzicht") {
		t.Errorf("the Dutch digest is not Dutch: %q\n%s", nl.Title, nl.Body)
	}
	if c, err := worker.RunOnce(ctx); err != nil || c != (channel.Counts{Sent: 1}) {
		t.Fatalf("the worker after the digest = %+v, %v; want the digest's delivery", c, err)
	}
	if issues, err := w.store.ListProgress(ctx, 10); err != nil || len(issues) != 1 || issues[0].PublicationID != p.ID || issues[0].Queued != 1 {
		t.Fatalf("issues after the worker = %+v, %v; want the digest's, one mail", issues, err)
	}
	mailer := &newsletter.Mailer{Store: w.store, Mails: w.service.Mails, Relay: relay.sender(t)}
	if err := mailer.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	got := relay.received("reader@example.org")
	if len(got) != 1 {
		t.Fatalf("the subscriber got %d mails, want the digest", len(got))
	}
	m := parseMail(t, got[0])
	if !strings.Contains(m.text, advisory.Ident) || strings.Contains(m.text, amber.Ident) || !strings.Contains(m.text, "Public advisory (nl)") {
		t.Errorf("the digest mail:\n%s", m.text)
	}

	t.Run("a draft without auto_publish", func(t *testing.T) {
		digests.AutoPublish = false
		p, err := digests.Make(ctx, now.Add(-7*24*time.Hour), now.Add(time.Minute))
		if err != nil || p.Status != publication.StatusDraft {
			t.Errorf("digest %s, %v; want a draft", p.Status, err)
		}
	})
	t.Run("once a week", func(t *testing.T) {
		clock := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		digests.Now = func() time.Time { return clock }
		for i, want := range []bool{false, false, true, false} {
			if i == 2 {
				clock = clock.Add(5 * 24 * time.Hour) // past Monday 09:00
			}
			made, err := digests.MakeDue(ctx)
			if err != nil || made != want {
				t.Errorf("pass %d: made %v, %v; want %v", i, made, err, want)
			}
		}
	})
}

// newWorker is the publication outbox's worker with only the newsletter
// registered, as `vigil serve` drives the channel.
func newWorker(t *testing.T, svc *publication.Service, ch *newsletter.Channel) *channel.Worker {
	t.Helper()
	reg := &channel.Registry{}
	if err := reg.Register(ch); err != nil {
		t.Fatal(err)
	}
	return &channel.Worker{Deliveries: svc.Store, Publications: svc.Store, Registry: reg}
}

// The outbox's worker asks the newsletter what it takes: a delivery of a
// publication withdrawn or raised since is skipped, not retried.
var _ channel.Accepter = (*newsletter.Channel)(nil)
