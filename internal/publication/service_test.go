package publication_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// clock is a settable time for the Service.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type fixture struct {
	svc             *publication.Service
	clock           *clock
	ann, bob, carol publication.Actor
}

func newFixture(t *testing.T) fixture {
	st := dbtest.SQLite(t, database.Schemas...)
	accounts := authdb.New(st.DB())
	actor := func(name string) publication.Actor {
		u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RolePublisher,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
		if err := accounts.CreateUser(t.Context(), &u); err != nil {
			t.Fatal(err)
		}
		return publication.Actor{UserID: u.ID, Name: name}
	}
	c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	svc := &publication.Service{Store: pubdb.New(st.DB()), Audit: accounts, Now: c.now,
		Channels: append(slices.Clone(publication.DefaultChannels),
			publication.ChannelSpec{Name: "mastodon", PerLanguage: true, Languages: []string{"en", "nl"}})}
	return fixture{svc: svc, clock: c, ann: actor("ann"), bob: actor("bob"), carol: actor("carol")}
}

func content(tlp publication.TLP) publication.Content {
	return publication.Content{Severity: "High", TLP: tlp, CVEs: []string{" cve-2026-4242 ", "CVE-2026-4242"},
		Texts: []publication.Text{
			{Lang: "en", Title: "Acme router flaw", Summary: "Patch now.", Body: "Details",
				Recommendations: []publication.Recommendation{{Kind: publication.RecommendPatch, Text: "Update to 1.4.2"}}},
			{Lang: "nl", Title: "Lek in Acme-router", Summary: "Patch nu."},
			{Lang: "fr", Title: "Faille du routeur Acme", Summary: "Corrigez."},
		}}
}

func TestWorkflowFourEyesAndDeliveries(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p, err := f.svc.Create(ctx, f.ann, publication.KindAdvisory, content(publication.TLPClear), "CVE-2026-4242")
	if err != nil {
		t.Fatal(err)
	}
	if p.Ident != "VIGIL-2026-0001" || p.Severity != "high" || !slices.Equal(p.CVEs, []string{"CVE-2026-4242"}) || p.Status != publication.StatusDraft {
		t.Fatalf("created %s %s %v %s", p.Ident, p.Severity, p.CVEs, p.Status)
	}
	if _, err := f.svc.Approve(ctx, f.bob, p.ID); !errors.Is(err, publication.ErrInput) {
		t.Fatalf("approving a draft: %v, want a refusal", err)
	}
	if _, err := f.svc.Submit(ctx, f.ann, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Approve(ctx, f.ann, p.ID); !errors.Is(err, publication.ErrInput) {
		t.Fatalf("the author approving: %v, want the four-eyes refusal", err)
	}
	// Bob edits in review: now neither Ann (author) nor Bob (last
	// editor) may approve; Carol may.
	c := content(publication.TLPClear)
	c.Texts[0].Summary = "Patch today."
	if _, err := f.svc.Edit(ctx, f.bob, p.ID, c, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Approve(ctx, f.bob, p.ID); !errors.Is(err, publication.ErrInput) {
		t.Fatalf("the last editor approving: %v, want the four-eyes refusal", err)
	}
	if p, err = f.svc.Approve(ctx, f.carol, p.ID); err != nil || p.Status != publication.StatusApproved || p.Approver != "carol" {
		t.Fatalf("Carol approving: %s %s %v", p.Status, p.Approver, err)
	}
	f.clock.t = f.clock.t.Add(time.Hour)
	if p, err = f.svc.Publish(ctx, f.carol, p.ID); err != nil {
		t.Fatal(err)
	}
	if p.Status != publication.StatusPublished || p.Revision != 1 || !p.Published.Equal(f.clock.t) || !p.Public() {
		t.Fatalf("published: %s rev %d at %s", p.Status, p.Revision, p.Published)
	}
	ds, err := f.svc.Store.ListDeliveries(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range ds {
		got[d.Channel+"/"+d.Lang] = d.Status
	}
	want := map[string]string{"website/": "sent", "feeds/": "sent", "csaf/": "sent", "mastodon/en": "queued", "mastodon/nl": "queued"}
	if !mapsEqual(got, want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	if _, err := f.svc.Publish(ctx, f.carol, p.ID); !errors.Is(err, publication.ErrInput) {
		t.Fatalf("publishing twice: %v, want a refusal", err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAmberGoesToNoPublicChannel(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p, err := f.svc.Create(ctx, f.ann, publication.KindWarning, content(publication.TLPAmber), "")
	if err != nil {
		t.Fatal(err)
	}
	mustPublish(t, f, p.ID)
	ds, _ := f.svc.Store.ListDeliveries(ctx, p.ID)
	if len(ds) != 5 {
		t.Fatalf("%d deliveries, want 5", len(ds))
	}
	cat := i18n.Embedded()
	for _, d := range ds {
		if d.Status != publication.DeliverySkipped {
			t.Errorf("TLP:AMBER went to %s/%s (%s)", d.Channel, d.Lang, d.Status)
		}
		// Why, kept as a message and said in the reader's language.
		want := "Niet verstuurd: dit kanaal neemt geen publicaties met TLP:AMBER."
		if m, ok := i18n.Decode(d.LastError); !ok || cat.Stored("nl", d.LastError) != want {
			t.Errorf("%s/%s skipped: %q (%v), want %q", d.Channel, d.Lang, cat.Stored("nl", d.LastError), m, want)
		}
	}
	// The CSAF provider takes no news, whatever its TLP: the kind is
	// the reason.
	news, err := f.svc.Create(ctx, f.ann, publication.KindNews, content(publication.TLPClear), "")
	if err != nil {
		t.Fatal(err)
	}
	mustPublish(t, f, news.ID)
	ds, _ = f.svc.Store.ListDeliveries(ctx, news.ID)
	for _, d := range ds {
		got := cat.Stored("de", d.LastError)
		switch {
		case d.Channel == "csaf" && (d.Status != publication.DeliverySkipped || got != "Nicht gesendet: dieser Kanal nimmt keine Veröffentlichungen der Art „Meldung“."):
			t.Errorf("news to csaf: %s %q", d.Status, got)
		case d.Channel != "csaf" && (d.Status == publication.DeliverySkipped || d.LastError != ""):
			t.Errorf("TLP:CLEAR news to %s/%s: %s %q", d.Channel, d.Lang, d.Status, got)
		}
	}
}

func mustPublish(t *testing.T, f fixture, id int64) publication.Publication {
	t.Helper()
	ctx := t.Context()
	if _, err := f.svc.Submit(ctx, f.ann, id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Approve(ctx, f.bob, id); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Publish(ctx, f.bob, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUpdateIsANewRevisionWhileTheCurrentStaysOnline(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p, _ := f.svc.Create(ctx, f.ann, publication.KindAdvisory, content(publication.TLPClear), "")
	p = mustPublish(t, f, p.ID)
	firstUpdated := p.Texts[1].Updated
	f.clock.t = f.clock.t.Add(24 * time.Hour)
	c := p.Content
	c.Texts = slices.Clone(c.Texts)
	c.Texts[0].Summary = "A fix is out: 1.4.3."
	p, err := f.svc.Edit(ctx, f.ann, p.ID, c, "Version 1.4.2 did not fix it.")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != publication.StatusPublished || p.Texts[0].Summary != "Patch now." || p.Next == nil || p.Next.Texts[0].Summary != "A fix is out: 1.4.3." {
		t.Fatalf("after editing a published one: status %s, current %q, next %+v", p.Status, p.Texts[0].Summary, p.Next)
	}
	// The Dutch text did not change: it keeps its time, and is now
	// outdated beside the English.
	if !p.Next.Texts[1].Updated.Equal(firstUpdated) || !slices.Equal(p.Next.Outdated([]string{"en", "nl", "fr", "de"}), []string{"nl", "fr", "de"}) {
		t.Fatalf("outdated %v (nl updated %s, was %s)", p.Next.Outdated([]string{"en", "nl", "fr", "de"}), p.Next.Texts[1].Updated, firstUpdated)
	}
	if _, err := f.svc.Publish(ctx, f.bob, p.ID); !errors.Is(err, publication.ErrInput) {
		t.Fatalf("publishing an unapproved revision: %v", err)
	}
	if _, err := f.svc.Submit(ctx, f.ann, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Approve(ctx, f.ann, p.ID); !errors.Is(err, publication.ErrInput) {
		t.Fatalf("the editor approving her update: %v", err)
	}
	if _, err := f.svc.Approve(ctx, f.bob, p.ID); err != nil {
		t.Fatal(err)
	}
	if p, err = f.svc.Publish(ctx, f.bob, p.ID); err != nil {
		t.Fatal(err)
	}
	if p.Revision != 2 || p.Next != nil || p.Texts[0].Summary != "A fix is out: 1.4.3." {
		t.Fatalf("after the update: rev %d, next %v, %q", p.Revision, p.Next, p.Texts[0].Summary)
	}
	revs, _ := f.svc.Store.Revisions(ctx, p.ID)
	if len(revs) != 2 || revs[1].Note != "Version 1.4.2 did not fix it." || revs[0].Content.Texts[0].Summary != "Patch now." {
		t.Fatalf("revisions %+v", revs)
	}
	ds, _ := f.svc.Store.ListDeliveries(ctx, p.ID)
	if len(ds) != 10 {
		t.Fatalf("%d deliveries after two revisions, want 10", len(ds))
	}
	if _, err := f.svc.Withdraw(ctx, f.bob, p.ID, " "); !errors.Is(err, publication.ErrInput) {
		t.Fatalf("withdrawing without a reason: %v", err)
	}
	if p, err = f.svc.Withdraw(ctx, f.bob, p.ID, "The vendor retracted it."); err != nil || p.Public() || p.Status != publication.StatusWithdrawn {
		t.Fatalf("withdrawn: %s %v", p.Status, err)
	}
	if _, err := f.svc.Edit(ctx, f.ann, p.ID, c, ""); !errors.Is(err, publication.ErrInput) {
		t.Fatalf("editing a withdrawn one: %v", err)
	}
}

func TestScheduledPublishing(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	p, _ := f.svc.Create(ctx, f.ann, publication.KindNews, content(publication.TLPClear), "")
	f.svc.Submit(ctx, f.ann, p.ID)
	f.svc.Approve(ctx, f.bob, p.ID)
	if _, err := f.svc.Schedule(ctx, f.bob, p.ID, f.clock.t.Add(-time.Minute)); !errors.Is(err, publication.ErrInput) {
		t.Fatalf("scheduling in the past: %v", err)
	}
	at := f.clock.t.Add(2 * time.Hour)
	if p, err := f.svc.Schedule(ctx, f.bob, p.ID, at); err != nil || p.Status != publication.StatusScheduled || !p.Scheduled.Equal(at) {
		t.Fatalf("scheduled: %+v %v", p, err)
	}
	if n, err := f.svc.PublishDue(ctx); n != 0 || err != nil {
		t.Fatalf("PublishDue before its time = %d, %v", n, err)
	}
	// An edit of a scheduled one sends it back to review.
	other, _ := f.svc.Create(ctx, f.ann, publication.KindNews, content(publication.TLPClear), "")
	f.svc.Submit(ctx, f.ann, other.ID)
	f.svc.Approve(ctx, f.bob, other.ID)
	f.svc.Schedule(ctx, f.bob, other.ID, at)
	if other, err := f.svc.Edit(ctx, f.ann, other.ID, content(publication.TLPClear), ""); err != nil ||
		other.Status != publication.StatusReview || !other.Scheduled.IsZero() || other.ApproverID != 0 {
		t.Fatalf("an edited scheduled one: %s %s %d %v", other.Status, other.Scheduled, other.ApproverID, err)
	}
	f.clock.t = at
	if n, err := f.svc.PublishDue(ctx); n != 1 || err != nil {
		t.Fatalf("PublishDue at its time = %d, %v", n, err)
	}
	got, _ := f.svc.Store.GetPublication(ctx, p.ID)
	h, _ := f.svc.Store.History(ctx, p.ID)
	if got.Status != publication.StatusPublished || !got.Published.Equal(at) || h[len(h)-1].User != "vigil" {
		t.Fatalf("after PublishDue: %s %s, last change by %q", got.Status, got.Published, h[len(h)-1].User)
	}
}

func TestRefusedContentNamesTheField(t *testing.T) {
	f := newFixture(t)
	for _, c := range []struct {
		change func(*publication.Content)
		field  string
	}{
		{func(c *publication.Content) { c.Severity = "apocalyptic" }, "severity"},
		{func(c *publication.Content) { c.TLP = "WHITE" }, "tlp"},
		{func(c *publication.Content) { c.Texts[0].Title = " " }, "texts[0].title"},
		{func(c *publication.Content) { c.Texts[0].Lang = "nl" }, "texts[0].lang"},
		{func(c *publication.Content) { c.Texts[2].Lang = "nl" }, "texts[2].lang"},
		{func(c *publication.Content) { c.Texts[1].Lang = "xx" }, "texts[1].lang"},
		{func(c *publication.Content) { c.CVEs = []string{"CVE-2026-1", "CVE-2026-0001"} }, "cves[0]"},
		{func(c *publication.Content) { c.CWEs = []string{"CWE-79", "79"} }, "cwes[1]"},
		{func(c *publication.Content) { c.References = []publication.Reference{{URL: "javascript:alert(1)"}} }, "references[0].url"},
		{func(c *publication.Content) { c.Texts[0].Recommendations[0].Kind = "pray" }, "texts[0].recommendations[0].kind"},
		{func(c *publication.Content) { c.Products = []publication.Product{{Vendor: "Acme"}} }, "products[0].product"},
	} {
		ct := content(publication.TLPClear)
		c.change(&ct)
		_, err := f.svc.Create(t.Context(), f.ann, publication.KindAdvisory, ct, "")
		var ie *publication.InputError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("want a refusal of %s, got %v", c.field, err)
		}
	}
	if _, err := f.svc.Create(t.Context(), f.ann, "rumour", content(publication.TLPClear), ""); !errors.Is(err, publication.ErrInput) {
		t.Errorf("an unknown kind: %v", err)
	}
}

func TestFormatIdent(t *testing.T) {
	for _, c := range []struct {
		pattern string
		want    string
	}{
		{"", "VIGIL-2026-0042"},
		{"CERT-{year}-{n}", "CERT-2026-42"},
		{"NCSC-{year}-{n:6}", "NCSC-2026-000042"},
	} {
		if got := publication.FormatIdent(c.pattern, 2026, 42); got != c.want {
			t.Errorf("FormatIdent(%q) = %q, want %q", c.pattern, got, c.want)
		}
	}
}

// A revision's change note reaches public channels only when the
// revision was public: an AMBER revision's note may say what it held.
func TestPublicNote(t *testing.T) {
	for _, c := range []struct {
		tlp  publication.TLP
		want string
	}{{publication.TLPClear, "Fixed in 4.2.1"}, {publication.TLPGreen, ""}, {publication.TLPAmber, ""}, {"", ""}} {
		r := publication.Revision{Note: "Fixed in 4.2.1", Content: publication.Content{TLP: c.tlp}}
		if got := r.PublicNote(); got != c.want {
			t.Errorf("PublicNote of a %q revision = %q, want %q", c.tlp, got, c.want)
		}
	}
}
