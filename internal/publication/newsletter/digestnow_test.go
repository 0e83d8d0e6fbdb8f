package newsletter_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// digestWorld is a store of either kind with the publications' service
// and the digests, whose clock the test sets.
type digestWorld struct {
	st      store.Store
	svc     *publication.Service
	digests *newsletter.Digests
	clock   time.Time
}

func newDigestWorld(t *testing.T, st store.Store, schedule newsletter.Schedule) *digestWorld {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	w := &digestWorld{st: st, clock: time.Now().UTC()}
	w.svc = &publication.Service{Store: pubdb.New(st.DB()), Rules: publication.Rules{Languages: []string{"en", "nl"}}}
	w.digests = &newsletter.Digests{Service: w.svc, State: st, Catalog: cat, Schedule: schedule, AutoPublish: true,
		Now: func() time.Time { return w.clock }}
	return w
}

// digestList returns the digests made, newest first.
func (w *digestWorld) digestList(t *testing.T) []publication.Publication {
	t.Helper()
	page, err := w.svc.Store.ListPublications(t.Context(), publication.Query{Kind: publication.KindDigest, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Publications
}

// TestDigestNowPressedTwice: two presses of "make the digest now" at the
// same moment, as two goroutines on one store of each kind, make one
// digest; the other press is refused with the digest made (or being
// made), and so is a third press minutes later.
func TestDigestNowPressedTwice(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		w := newDigestWorld(t, st, newsletter.Schedule{Weekday: time.Monday, Hour: 9, Location: time.UTC})
		type result struct {
			p   publication.Publication
			err error
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results = make([]result, 2)
		)
		for i := range results {
			wg.Go(func() {
				<-start
				p, err := w.digests.MakeNow(t.Context())
				results[i] = result{p, err}
			})
		}
		close(start)
		wg.Wait()
		var made publication.Publication
		refused := 0
		for _, r := range results {
			var recent *newsletter.RecentDigestError
			switch {
			case r.err == nil:
				if made.ID != 0 {
					t.Errorf("both presses made a digest: %s and %s", made.Ident, r.p.Ident)
				}
				made = r.p
			case errors.As(r.err, &recent):
				refused++
			default:
				t.Fatalf("a press failed: %v", r.err)
			}
		}
		if made.ID == 0 || refused != 1 {
			t.Fatalf("two presses at once: a digest %q, %d refused; want one of each", made.Ident, refused)
		}
		for _, r := range results {
			if recent := (*newsletter.RecentDigestError)(nil); errors.As(r.err, &recent) && recent.ID != 0 && recent.ID != made.ID {
				t.Errorf("the refusal names digest %d, not %d, the one made", recent.ID, made.ID)
			}
		}
		if list := w.digestList(t); len(list) != 1 || made.Status != publication.StatusPublished {
			t.Errorf("%d digests after two presses (the one made is %s); want one, published", len(list), made.Status)
		}

		w.clock = w.clock.Add(newsletter.RecentDigest - time.Minute)
		_, err := w.digests.MakeNow(t.Context())
		if recent := (*newsletter.RecentDigestError)(nil); !errors.As(err, &recent) || recent.ID != made.ID || !errors.Is(err, newsletter.ErrRecentDigest) {
			t.Errorf("a press %v after the digest: %v; want a refusal naming digest %d", newsletter.RecentDigest-time.Minute, err, made.ID)
		}
		w.clock = w.clock.Add(2 * time.Minute)
		if p, err := w.digests.MakeNow(t.Context()); err != nil || p.ID == made.ID {
			t.Errorf("a press %v after the digest: %s, %v; want a new digest", newsletter.RecentDigest+time.Minute, p.Ident, err)
		}
		if list := w.digestList(t); len(list) != 2 {
			t.Errorf("%d digests after the third press, want 2", len(list))
		}
	})
}

// TestDigestNowThenSchedule: the button during the week, then the
// schedule: the scheduled digest starts where the button's ended, so it
// lists what was published since and not what the button's listed; a
// press right after the schedule is refused with its digest; a press
// minutes before the schedule leaves that week's scheduled digest out
// (less than a day left) and the next one starts where the press ended.
func TestDigestNowThenSchedule(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		// The scheduled moment two days ahead, at 09:00 UTC: between one
		// and three days after the press.
		now := time.Now().UTC()
		day := now.AddDate(0, 0, 2)
		moment := time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, time.UTC)
		w := newDigestWorld(t, st, newsletter.Schedule{Weekday: moment.Weekday(), Hour: 9, Location: time.UTC})
		alice, bob := addAuthors(t, &world{st: st})
		before := publish(t, w.svc, alice, bob, publication.KindAdvisory, publication.TLPClear, "Before the press")

		// Microseconds, as the store keeps publication times: what is
		// published after the press is not before it.
		w.clock = time.Now().UTC().Truncate(time.Microsecond)
		pressed, err := w.digests.MakeNow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		after := publish(t, w.svc, alice, bob, publication.KindAdvisory, publication.TLPClear, "After the press")
		if body := englishBody(t, pressed); !strings.Contains(body, before.Ident) || strings.Contains(body, after.Ident) {
			t.Errorf("the button's digest lists %s, not %s:\n%s", before.Ident, after.Ident, body)
		}

		w.clock = moment.Add(time.Minute)
		if made, err := w.digests.MakeDue(ctx); err != nil || !made {
			t.Fatalf("the schedule after the press: made %v, %v; want its digest", made, err)
		}
		list := w.digestList(t)
		if len(list) != 2 {
			t.Fatalf("%d digests, want the button's and the schedule's", len(list))
		}
		scheduled := list[0]
		if body := englishBody(t, scheduled); !strings.Contains(body, after.Ident) || strings.Contains(body, before.Ident) {
			t.Errorf("the scheduled digest lists %s again, or lacks %s:\n%s", before.Ident, after.Ident, body)
		}
		if made, err := w.digests.MakeDue(ctx); err != nil || made {
			t.Errorf("the schedule again: made %v, %v; want nothing", made, err)
		}

		w.clock = moment.Add(3 * time.Minute)
		_, err = w.digests.MakeNow(ctx)
		if recent := (*newsletter.RecentDigestError)(nil); !errors.As(err, &recent) || recent.ID != scheduled.ID {
			t.Errorf("a press minutes after the schedule: %v; want a refusal naming digest %d", err, scheduled.ID)
		}

		// A week later, the button five minutes before the schedule: the
		// schedule makes none that week, and the next week's starts
		// where the button's ended.
		next := moment.AddDate(0, 0, 7)
		w.clock = next.Add(-5 * time.Minute)
		if _, err := w.digests.MakeNow(ctx); err != nil {
			t.Fatal(err)
		}
		w.clock = next.Add(time.Minute)
		if made, err := w.digests.MakeDue(ctx); err != nil || made {
			t.Errorf("the schedule five minutes after a press: made %v, %v; want nothing", made, err)
		}
		w.clock = next.AddDate(0, 0, 7).Add(time.Minute)
		if made, err := w.digests.MakeDue(ctx); err != nil || !made {
			t.Errorf("the schedule of the week after: made %v, %v; want its digest", made, err)
		}
		want := w.digests.Catalog.T("en", "newsletter.digest.summary", w.digests.Catalog.Date("en", next.Add(-5*time.Minute)),
			w.digests.Catalog.Date("en", next.AddDate(0, 0, 7).Add(-time.Second)))
		if list := w.digestList(t); len(list) != 4 {
			t.Errorf("%d digests, want 4", len(list))
		} else if en, _ := list[0].Text("en"); en.Summary != want {
			t.Errorf("the digest after the skipped week says %q, want %q", en.Summary, want)
		}
	})
}

// TestDigestStateOfEarlierVersions: the state as versions before the
// button kept it, the scheduled moment alone, is where the next digest
// starts.
func TestDigestStateOfEarlierVersions(t *testing.T) {
	st := dbtest.SQLite(t, database.Schemas...)
	w := newDigestWorld(t, st, newsletter.Schedule{Weekday: time.Monday, Hour: 9, Location: time.UTC})
	if err := st.PutState(t.Context(), newsletter.DigestStateKey, []byte("2026-11-30T09:00:00Z")); err != nil {
		t.Fatal(err)
	}
	w.clock = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	if made, err := w.digests.MakeDue(t.Context()); err != nil || made {
		t.Errorf("the week of the stamp: made %v, %v; want nothing", made, err)
	}
	w.clock = time.Date(2026, 12, 7, 9, 1, 0, 0, time.UTC)
	if made, err := w.digests.MakeDue(t.Context()); err != nil || !made {
		t.Fatalf("the week after: made %v, %v; want a digest", made, err)
	}
	list := w.digestList(t)
	en, _ := list[0].Text("en")
	if want := w.digests.Catalog.T("en", "newsletter.digest.summary", w.digests.Catalog.Date("en", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)),
		w.digests.Catalog.Date("en", time.Date(2026, 12, 7, 8, 59, 59, 0, time.UTC))); len(list) != 1 || en.Summary != want {
		t.Errorf("%d digests, the first says %q; want one saying %q", len(list), en.Summary, want)
	}
}

// TestDigestNowOnANewInstallation: the schedule's first run notes its
// moment and makes no digest; the button then still covers the last
// seven days, not only the time since that moment.
func TestDigestNowOnANewInstallation(t *testing.T) {
	st := dbtest.SQLite(t, database.Schemas...)
	w := newDigestWorld(t, st, newsletter.Schedule{})
	alice, bob := addAuthors(t, &world{st: st})
	published := publish(t, w.svc, alice, bob, publication.KindNews, publication.TLPClear, "Before the installation's moment")
	// The scheduled moment an hour after the publication.
	w.clock = time.Now().UTC().Add(time.Hour)
	w.digests.Schedule = newsletter.Schedule{Weekday: w.clock.Weekday(), Hour: w.clock.Hour(), Minute: w.clock.Minute(), Location: time.UTC}
	if made, err := w.digests.MakeDue(t.Context()); err != nil || made {
		t.Fatalf("the first run: made %v, %v; want only the moment noted", made, err)
	}
	p, err := w.digests.MakeNow(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if body := englishBody(t, p); !strings.Contains(body, published.Ident) {
		t.Errorf("the button's digest after the first run lacks %s:\n%s", published.Ident, body)
	}
}

func englishBody(t *testing.T, p publication.Publication) string {
	t.Helper()
	en, ok := p.Text("en")
	if !ok {
		t.Fatalf("digest %s has no English text", p.Ident)
	}
	return en.Body
}
