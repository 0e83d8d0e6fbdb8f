// Package pubtest is the publications' store contract, answered alike by
// pubdb on SQLite and on PostgreSQL.
package pubtest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// Run runs the contract. open returns a fresh database of its own for
// every call, migrated with every capability's schema, and the
// publications on it.
func Run(t *testing.T, open func(t *testing.T) (store.Store, publication.Publications)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store, s publication.Publications)
	}{
		{"create, read, idents by year", testCreate},
		{"a change with its history, revision and deliveries", testChange},
		{"a refused change writes nothing", testRefusedChange},
		{"lists filter and count", testList},
		{"the outbox of deliveries", testDeliveries},
		{"deliveries of channels no longer configured are skipped", testSkipUnknownChannels},
		{"scheduled ones come due", testDue},
		{"idents stay unique when created at once", testConcurrentCreate},
		{"a deleted account leaves its name", testDeletedAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, s := open(t)
			tt.fn(t, st, s)
		})
	}
}

var base = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func ident(year, n int) string { return publication.FormatIdent("", year, n) }

func createUser(t *testing.T, st store.Store, name string) auth.User {
	t.Helper()
	u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RolePublisher,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
	if err := authdb.New(st.DB()).CreateUser(t.Context(), &u); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// draft returns a publication as the Service would create it.
func draft(kind publication.Kind, tlp publication.TLP, title string, at time.Time, author auth.User) publication.Publication {
	c := publication.Content{Severity: "high", TLP: tlp, CVEs: []string{"CVE-2026-1234"},
		Texts: []publication.Text{
			{Lang: "en", Title: title, Summary: "summary of " + title, Body: "Body *" + title + "*", Updated: at},
			{Lang: "nl", Title: "NL " + title, Summary: "samenvatting", Body: "Tekst", Updated: at},
		},
		Products: []publication.Product{{Vendor: "Acme", Product: "Router", Versions: []publication.VersionRange{{Introduced: "1.0", Fixed: "1.4.2"}}}}}
	return publication.Publication{Kind: kind, Status: publication.StatusDraft, Content: c,
		AuthorID: author.ID, Author: author.Name, EditorID: author.ID, Editor: author.Name, Created: at, Updated: at}
}

func create(t *testing.T, s publication.Publications, p publication.Publication) publication.Publication {
	t.Helper()
	err := s.CreatePublication(t.Context(), &p, ident, publication.Change{At: p.Created, UserID: p.AuthorID, User: p.Author, Action: publication.ActionCreate})
	if err != nil {
		t.Fatalf("CreatePublication(%s): %v", p.Texts[0].Title, err)
	}
	return p
}

// publish moves p to published as its revision 1, with deliveries.
func publish(t *testing.T, s publication.Publications, id int64, at time.Time, ds ...publication.Delivery) publication.Publication {
	t.Helper()
	p, err := s.ChangePublication(t.Context(), id, func(p *publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error) {
		p.Status, p.Published, p.Revision, p.Updated = publication.StatusPublished, at, p.Revision+1, at
		for i := range ds {
			ds[i].PublicationID, ds[i].Revision = p.ID, p.Revision
		}
		return publication.Change{At: at, Action: publication.ActionPublish, User: "vigil"},
			&publication.Revision{Number: p.Revision, Published: at, Note: fmt.Sprintf("rev %d", p.Revision), By: "approver", Content: p.Content}, ds, nil
	})
	if err != nil {
		t.Fatalf("publish %d: %v", id, err)
	}
	return p
}

func testCreate(t *testing.T, st store.Store, s publication.Publications) {
	ctx := t.Context()
	ann := createUser(t, st, "ann")
	a := create(t, s, draft(publication.KindAdvisory, publication.TLPClear, "First", base, ann))
	b := create(t, s, draft(publication.KindWarning, publication.TLPClear, "Second", base.Add(time.Hour), ann))
	c := create(t, s, draft(publication.KindNews, publication.TLPClear, "Next year", base.AddDate(1, 1, 0), ann))
	if a.Ident != "VIGIL-2026-0001" || b.Ident != "VIGIL-2026-0002" || c.Ident != "VIGIL-2027-0001" {
		t.Fatalf("idents %s %s %s, want VIGIL-2026-0001 VIGIL-2026-0002 VIGIL-2027-0001", a.Ident, b.Ident, c.Ident)
	}
	got, err := s.GetPublication(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Ident != a.Ident || got.Kind != publication.KindAdvisory || got.Author != "ann" || got.AuthorID != ann.ID ||
		len(got.Texts) != 2 || got.Texts[1].Title != "NL First" || !got.Texts[0].Updated.Equal(base) ||
		got.Products[0].Versions[0].Fixed != "1.4.2" || got.CVEs[0] != "CVE-2026-1234" || !got.Created.Equal(base) ||
		got.Severity != "high" || got.TLP != publication.TLPClear || got.Next != nil || !got.Published.IsZero() {
		t.Fatalf("read back %+v", got)
	}
	byIdent, err := s.GetPublicationByIdent(ctx, "VIGIL-2026-0002")
	if err != nil || byIdent.ID != b.ID {
		t.Fatalf("GetPublicationByIdent = %d, %v; want %d", byIdent.ID, err, b.ID)
	}
	if _, err := s.GetPublication(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing id: %v, want ErrNotFound", err)
	}
	if _, err := s.GetPublicationByIdent(ctx, "VIGIL-2026-9999"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing ident: %v, want ErrNotFound", err)
	}
	h, err := s.History(ctx, a.ID)
	if err != nil || len(h) != 1 || h[0].Action != publication.ActionCreate || h[0].User != "ann" || h[0].UserID != ann.ID {
		t.Fatalf("history %+v, %v", h, err)
	}
}

func testChange(t *testing.T, st store.Store, s publication.Publications) {
	ctx := t.Context()
	ann := createUser(t, st, "ann")
	p := create(t, s, draft(publication.KindAdvisory, publication.TLPClear, "Router flaw", base, ann))
	gen0, err := s.Generation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A draft's change is not public: the generation stays.
	_, err = s.ChangePublication(ctx, p.ID, func(p *publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error) {
		p.Texts[0].Title = "Router flaw, edited"
		p.Next = &publication.Next{Status: publication.StatusDraft, Note: "kept", Content: p.Content}
		return publication.Change{At: base, Action: publication.ActionEdit, User: "ann", UserID: ann.ID, Note: "typo"}, nil, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Generation(ctx); g != gen0 {
		t.Fatalf("generation moved on a draft's change: %d → %d", gen0, g)
	}
	got := publish(t, s, p.ID, base.Add(time.Hour),
		publication.Delivery{Channel: "website", Status: publication.DeliverySent, Created: base, Done: base},
		publication.Delivery{Channel: "mastodon", Lang: "en", Status: publication.DeliveryQueued, NextAttempt: base, Created: base},
		publication.Delivery{Channel: "mastodon", Lang: "nl", Status: publication.DeliveryQueued, NextAttempt: base, Created: base})
	if got.Texts[0].Title != "Router flaw, edited" || got.Next == nil || got.Next.Note != "kept" || got.Revision != 1 {
		t.Fatalf("after publishing: %+v", got)
	}
	if g, _ := s.Generation(ctx); g != gen0+1 {
		t.Fatalf("generation after publishing = %d, want %d", g, gen0+1)
	}
	revs, err := s.Revisions(ctx, p.ID)
	if err != nil || len(revs) != 1 || revs[0].Number != 1 || revs[0].Note != "rev 1" || revs[0].Content.Texts[0].Title != "Router flaw, edited" ||
		!revs[0].Published.Equal(base.Add(time.Hour)) {
		t.Fatalf("revisions %+v, %v", revs, err)
	}
	ds, err := s.ListDeliveries(ctx, p.ID)
	if err != nil || len(ds) != 3 {
		t.Fatalf("deliveries %+v, %v", ds, err)
	}
	// The same revision's deliveries again change nothing; a second
	// revision of the same number is refused.
	_, err = s.ChangePublication(ctx, p.ID, func(p *publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error) {
		return publication.Change{At: base, Action: publication.ActionPublish}, &publication.Revision{Number: 1, Published: base},
			[]publication.Delivery{{PublicationID: p.ID, Revision: 1, Channel: "website", Status: publication.DeliveryQueued}}, nil
	})
	if !errors.Is(err, publication.ErrInput) {
		t.Fatalf("revision 1 twice: %v, want a refusal", err)
	}
	h, _ := s.History(ctx, p.ID)
	if len(h) != 3 || h[1].Note != "typo" || h[2].Action != publication.ActionPublish {
		t.Fatalf("history %+v", h)
	}
	publish(t, s, p.ID, base.Add(2*time.Hour))
	if revs, _ := s.Revisions(ctx, p.ID); len(revs) != 2 || revs[1].Number != 2 {
		t.Fatalf("revisions after the update %+v", revs)
	}
	// Withdrawing a public one moves the generation.
	g1, _ := s.Generation(ctx)
	_, err = s.ChangePublication(ctx, p.ID, func(p *publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error) {
		p.Status, p.Withdrawn = publication.StatusWithdrawn, base.Add(3*time.Hour)
		return publication.Change{At: base, Action: publication.ActionWithdraw, Note: "wrong vendor"}, nil, nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := s.Generation(ctx); g != g1+1 {
		t.Fatalf("generation after withdrawing = %d, want %d", g, g1+1)
	}
	if got, _ := s.GetPublication(ctx, p.ID); got.Status != publication.StatusWithdrawn || !got.Withdrawn.Equal(base.Add(3*time.Hour)) {
		t.Fatalf("withdrawn: %+v", got)
	}
}

func testRefusedChange(t *testing.T, st store.Store, s publication.Publications) {
	ctx := t.Context()
	ann := createUser(t, st, "ann")
	p := create(t, s, draft(publication.KindAdvisory, publication.TLPClear, "Kept", base, ann))
	refused := errors.New("refused")
	_, err := s.ChangePublication(ctx, p.ID, func(p *publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error) {
		p.Texts[0].Title = "Lost"
		return publication.Change{}, nil, nil, refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("err %v, want the change's", err)
	}
	if got, _ := s.GetPublication(ctx, p.ID); got.Texts[0].Title != "Kept" {
		t.Fatalf("a refused change wrote %q", got.Texts[0].Title)
	}
	if h, _ := s.History(ctx, p.ID); len(h) != 1 {
		t.Fatalf("a refused change logged %+v", h)
	}
	_, err = s.ChangePublication(ctx, 999999, func(*publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error) {
		t.Fatal("change called for a missing publication")
		return publication.Change{}, nil, nil, nil
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func testList(t *testing.T, st store.Store, s publication.Publications) {
	ctx := t.Context()
	ann := createUser(t, st, "ann")
	for i, tlp := range []publication.TLP{publication.TLPClear, publication.TLPGreen, publication.TLPAmber, publication.TLPRed} {
		for j, kind := range []publication.Kind{publication.KindAdvisory, publication.KindWarning} {
			at := base.Add(time.Duration(i*2+j) * time.Hour)
			p := create(t, s, draft(kind, tlp, fmt.Sprintf("%s %s", kind, tlp), at, ann))
			if j == 0 {
				publish(t, s, p.ID, at)
			}
		}
	}
	odd := draft(publication.KindNews, publication.TLPClear, "100% sure_thing", base.Add(-time.Hour), ann)
	odd.Texts[1].Body = "Een Ünïcode woord: xay"
	create(t, s, odd)
	titles := func(q publication.Query) string {
		t.Helper()
		page, err := s.ListPublications(ctx, q)
		if err != nil {
			t.Fatalf("ListPublications(%+v): %v", q, err)
		}
		var out []string
		for _, p := range page.Publications {
			out = append(out, p.Texts[0].Title)
		}
		return fmt.Sprintf("%d: %s", page.Total, strings.Join(out, ", "))
	}
	for _, c := range []struct {
		q    publication.Query
		want string
	}{
		{publication.Query{Public: true}, "1: advisory CLEAR"},
		{publication.Query{MaxTLP: publication.TLPGreen, Kind: publication.KindAdvisory}, "2: advisory GREEN, advisory CLEAR"},
		{publication.Query{Status: publication.StatusDraft, Kind: publication.KindWarning, Limit: 2}, "4: warning RED, warning AMBER"},
		{publication.Query{Status: publication.StatusDraft, Kind: publication.KindWarning, Limit: 2, Offset: 3}, "4: warning CLEAR"},
		{publication.Query{Text: "100%"}, "1: 100% sure_thing"},
		{publication.Query{Text: "0%"}, "1: 100% sure_thing"},
		{publication.Query{Text: "x_y"}, "0: "},
		{publication.Query{Text: "e_t"}, "1: 100% sure_thing"},
		{publication.Query{Text: "ÜNÏCODE"}, "1: 100% sure_thing"},
		{publication.Query{Text: "ünïcode"}, "1: 100% sure_thing"},
		{publication.Query{Text: "vigil-2026-0001"}, "1: advisory CLEAR"},
		{publication.Query{Text: "cve-2026-1234", Public: true}, "1: advisory CLEAR"},
		{publication.Query{Kind: publication.KindAdvisory, Since: base.Add(2 * time.Hour), Until: base.Add(5 * time.Hour)}, "2: advisory AMBER, advisory GREEN"},
		{publication.Query{Severity: "low"}, "0: "},
	} {
		if got := titles(c.q); got != c.want {
			t.Errorf("ListPublications(%+v) = %q, want %q", c.q, got, c.want)
		}
	}
}

func testDeliveries(t *testing.T, st store.Store, s publication.Publications) {
	ctx := t.Context()
	ann := createUser(t, st, "ann")
	p := create(t, s, draft(publication.KindWarning, publication.TLPClear, "Now", base, ann))
	publish(t, s, p.ID, base,
		publication.Delivery{Channel: "mastodon", Lang: "en", Status: publication.DeliveryQueued, NextAttempt: base, Created: base},
		publication.Delivery{Channel: "mastodon", Lang: "nl", Status: publication.DeliveryQueued, NextAttempt: base.Add(time.Minute), Created: base},
		publication.Delivery{Channel: "bluesky", Lang: "en", Status: publication.DeliveryQueued, NextAttempt: base, Created: base},
		publication.Delivery{Channel: "website", Status: publication.DeliverySent, NextAttempt: base, Created: base, Done: base})
	due, err := s.DueDeliveries(ctx, "mastodon", base, 10)
	if err != nil || len(due) != 1 || due[0].Lang != "en" || due[0].PublicationID != p.ID || due[0].Revision != 1 {
		t.Fatalf("due mastodon at base: %+v, %v", due, err)
	}
	if due, _ := s.DueDeliveries(ctx, "mastodon", base.Add(time.Hour), 1); len(due) != 1 || due[0].Lang != "en" {
		t.Fatalf("limit 1: %+v", due)
	}
	d := due[0]
	d.Status, d.Attempts, d.Reply, d.Done = publication.DeliverySent, 1, "https://social.example/@cert/1", base.Add(time.Second)
	if err := s.FinishDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueDeliveries(ctx, "mastodon", base.Add(time.Hour), 10); len(due) != 1 || due[0].Lang != "nl" {
		t.Fatalf("after sending en: %+v", due)
	}
	all, err := s.ListDeliveries(ctx, p.ID)
	if err != nil || len(all) != 4 {
		t.Fatalf("ListDeliveries %+v, %v", all, err)
	}
	for _, x := range all {
		if x.ID == d.ID && (x.Reply != d.Reply || x.Status != publication.DeliverySent || x.Attempts != 1 || !x.Done.Equal(d.Done)) {
			t.Fatalf("finished delivery read back %+v", x)
		}
	}
	d.ID = 999999
	if err := s.FinishDelivery(ctx, d); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing delivery: %v", err)
	}
}

func testDue(t *testing.T, st store.Store, s publication.Publications) {
	ctx := t.Context()
	ann := createUser(t, st, "ann")
	for i, title := range []string{"soon", "later"} {
		p := create(t, s, draft(publication.KindAdvisory, publication.TLPClear, title, base, ann))
		_, err := s.ChangePublication(ctx, p.ID, func(p *publication.Publication) (publication.Change, *publication.Revision, []publication.Delivery, error) {
			p.Status, p.Scheduled = publication.StatusScheduled, base.Add(time.Duration(i+1)*time.Hour)
			return publication.Change{At: base, Action: publication.ActionSchedule}, nil, nil, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		at   time.Time
		want int
	}{{base, 0}, {base.Add(time.Hour), 1}, {base.Add(3 * time.Hour), 2}} {
		due, err := s.DueScheduled(ctx, c.at)
		if err != nil || len(due) != c.want {
			t.Fatalf("DueScheduled(%s) = %d, %v; want %d", c.at, len(due), err, c.want)
		}
		if c.want > 0 && due[0].Texts[0].Title != "soon" {
			t.Fatalf("first due %q", due[0].Texts[0].Title)
		}
	}
}

func testConcurrentCreate(t *testing.T, st store.Store, s publication.Publications) {
	ann := createUser(t, st, "ann")
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		idents = map[string]bool{}
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := draft(publication.KindNews, publication.TLPClear, fmt.Sprintf("n%d", i), base, ann)
			if err := s.CreatePublication(t.Context(), &p, ident, publication.Change{At: base, Action: publication.ActionCreate}); err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			mu.Lock()
			idents[p.Ident] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(idents) != 8 || !idents["VIGIL-2026-0008"] {
		t.Fatalf("idents %v, want VIGIL-2026-0001 … 0008", idents)
	}
}

func testDeletedAccount(t *testing.T, st store.Store, s publication.Publications) {
	ctx := t.Context()
	ann := createUser(t, st, "ann")
	p := create(t, s, draft(publication.KindNews, publication.TLPClear, "Kept", base, ann))
	if _, err := st.DB().Exec(ctx, `DELETE FROM users WHERE id = ?`, ann.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetPublication(ctx, p.ID)
	if err != nil || got.Author != "ann" || got.AuthorID != 0 {
		t.Fatalf("after the account went: %+v, %v", got, err)
	}
}

func testSkipUnknownChannels(t *testing.T, st store.Store, s publication.Publications) {
	ctx := t.Context()
	ann := createUser(t, st, "ann")
	p := create(t, s, draft(publication.KindWarning, publication.TLPClear, "Now", base, ann))
	queued := func(channel, lang string) publication.Delivery {
		return publication.Delivery{Channel: channel, Lang: lang, Status: publication.DeliveryQueued, NextAttempt: base, Created: base}
	}
	publish(t, s, p.ID, base,
		queued("webhook:gone", "en"), queued("webhook:gone", "nl"), queued("webhook:bridge", "en"), queued("mastodon", "en"),
		publication.Delivery{Channel: "bluesky", Lang: "en", Status: publication.DeliverySent, Attempts: 1, Reply: "at://post", Created: base, Done: base},
		publication.Delivery{Channel: "website", Status: publication.DeliverySent, Created: base, Done: base})
	// One of the gone channel's deliveries is retrying: it is skipped too,
	// its attempts kept.
	due, err := s.DueDeliveries(ctx, "webhook:gone", base, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due webhook:gone: %+v, %v", due, err)
	}
	retrying := due[0]
	retrying.Attempts, retrying.NextAttempt, retrying.LastError = 2, base.Add(time.Hour), "HTTP 502"
	if err := s.FinishDelivery(ctx, retrying); err != nil {
		t.Fatal(err)
	}
	at := base.Add(2 * time.Hour)
	// Deliveries queued since queuedBefore are left: another process,
	// configured with their channel, may be about to send them.
	if skipped, err := s.SkipUnknownChannels(ctx, nil, func(c string) string { return "early: " + c }, base, at); err != nil || len(skipped) != 0 {
		t.Fatalf("deliveries queued at the bound: skipped %v, %v", skipped, err)
	}
	skipped, err := s.SkipUnknownChannels(ctx, []string{"webhook:bridge", "newsletter"}, func(c string) string { return "gone: " + c }, at, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 2 || skipped["webhook:gone"] != 2 || skipped["mastodon"] != 1 {
		t.Fatalf("skipped %v, want webhook:gone 2, mastodon 1", skipped)
	}
	all, err := s.ListDeliveries(ctx, p.ID)
	if err != nil || len(all) != 6 {
		t.Fatalf("ListDeliveries %+v, %v", all, err)
	}
	for _, d := range all {
		switch d.Channel {
		case "webhook:gone", "mastodon":
			if d.Status != publication.DeliverySkipped || d.LastError != "gone: "+d.Channel || !d.Done.Equal(at) {
				t.Errorf("%s/%s after the skip: %+v", d.Channel, d.Lang, d)
			}
			if d.ID == retrying.ID && d.Attempts != 2 {
				t.Errorf("the retrying delivery lost its attempts: %+v", d)
			}
		case "webhook:bridge":
			if d.Status != publication.DeliveryQueued || d.LastError != "" || !d.Done.IsZero() {
				t.Errorf("a configured channel's delivery was touched: %+v", d)
			}
		case "bluesky", "website":
			// Done deliveries are history, whatever their channel.
			if d.Status != publication.DeliverySent || d.LastError != "" || !d.Done.Equal(base) {
				t.Errorf("a sent delivery was touched: %+v", d)
			}
		}
	}
	if due, _ := s.DueDeliveries(ctx, "webhook:gone", at.Add(time.Hour), 10); len(due) != 0 {
		t.Errorf("skipped deliveries still due: %+v", due)
	}
	// Nothing left to skip: an empty answer. With no channel known at
	// all, every queued delivery goes.
	if skipped, err := s.SkipUnknownChannels(ctx, []string{"webhook:bridge"}, func(string) string { return "x" }, at, at); err != nil || len(skipped) != 0 {
		t.Errorf("second call skipped %v, %v", skipped, err)
	}
	if skipped, err := s.SkipUnknownChannels(ctx, nil, func(c string) string { return "none: " + c }, at, at); err != nil || skipped["webhook:bridge"] != 1 || len(skipped) != 1 {
		t.Errorf("no channel known: skipped %v, %v", skipped, err)
	}
}
