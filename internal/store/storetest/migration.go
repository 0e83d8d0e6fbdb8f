package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/store"
)

// The notification layout migration (version 3 of both stores) is checked
// with one fixture: each store's test writes it in the old schema with its
// own SQL, migrates, and calls CheckNotifyLayoutMigration.
//
// Under the old schema the fixture holds: the three events of
// NotifyLayoutEvents (ids 1 to 3 unless the store says otherwise), all
// tagged "uni"; event 3 queued for "uni", with an entry for a missing
// event 99; message 7 of "uni" reporting events 1 and 2 (message_events by
// hash); and notified_keys of "uni": OldKeyOne (not repeated) and
// OldKeyTwo (repeated 3 times, summary "two"), both first sent at now and
// expiring a week later.
var (
	OldKeyOne = event.Hash{1}
	OldKeyTwo = event.Hash{2}
)

// NotifyLayoutEvents are the fixture's events.
func NotifyLayoutEvents(now time.Time) []*event.Event {
	var out []*event.Event
	for _, ip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		e := event.New(5)
		e.SetTime("time.source", now.Add(-time.Hour))
		e.SetTrusted("classification.type", "ddos-amplifier")
		e.SetTrusted("source.ip", ip)
		e.SetTrusted(store.ConstituencyField, `["uni"]`)
		e.SetTrusted("raw", "bGluZQ==")
		out = append(out, e)
	}
	return out
}

// CheckNotifyLayoutMigration checks that the migrated store kept all of
// the fixture; ids are the fixture events' ids.
func CheckNotifyLayoutMigration(t *testing.T, s store.Store, now time.Time, ids []int64) {
	t.Helper()
	ctx := t.Context()
	events := NotifyLayoutEvents(now)
	pending, err := s.ListPendingNotifications(ctx, "uni", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Seq != ids[2] || pending[0].Hash != events[2].Hash() || pending[0].Event.Value("source.ip") != "192.0.2.3" {
		t.Errorf("queue after the migration = %+v, want event 3 with its data (and the entry of a missing event gone)", pending)
	}
	for i, want := range [][]int64{{7}, {7}, nil} {
		list, err := outboxdb.New(s.DB(), s).ListMessages(ctx, outbox.MessageQuery{EventHash: events[i].Hash()})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, m := range list {
			got = append(got, m.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("messages reporting event %d = %v, want %v", i+1, got, want)
		}
	}
	week := now.Add(7 * 24 * time.Hour)
	// The notifier's and the outbox's tables, which migration 3 laid out,
	// are read by the capabilities that own them now.
	known, err := notifydb.New(s.DB(), s).GetNotifiedKeys(ctx, "uni", []event.Hash{OldKeyOne, OldKeyTwo, {3}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(known) != 2 || !known[OldKeyOne].FirstSent.Equal(now) || !known[OldKeyTwo].Expires.Equal(week) {
		t.Errorf("keys after the migration = %+v", known)
	}
	tally, err := notifydb.New(s.DB(), s).ListRepeatedKeys(ctx, "uni", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(tally) != 1 || tally[0].Key != OldKeyTwo || tally[0].Repeats != 3 || tally[0].Summary != "two" || !tally[0].Expires.Equal(week) {
		t.Errorf("tally after the migration = %+v, want key 2 seen again 3 times", tally)
	}
}

// The organisation handles migration (version 5 of both stores) is checked
// with one fixture written in the version 4 schema with each store's SQL:
// organisation "kept" (ID 1); an outbox message (ID 7) of deleted
// organisation "gone-mail" (ID 2); and the event index naming "kept",
// deleted organisation "gone-tagged" and again "gone-mail", for the
// events of NotifyLayoutEvents (ids 1 to 3).

// CheckOrganisationHandlesMigration checks that the migrated store refuses
// the handles of organisations deleted before the migration, keeps "kept"
// usable, and retires "kept" when it is deleted.
func CheckOrganisationHandlesMigration(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	// The capabilities' schemas adopt the migrated tables and add their
	// own later columns (the organisations' disabled).
	if err := s.Migrate(ctx, database.Schemas...); err != nil {
		t.Fatalf("Migrate(capabilities): %v", err)
	}
	c := orgs(s)
	for _, h := range []string{"gone-mail", "gone-tagged"} {
		o := constituency.Organisation{Handle: h, Name: h}
		var retired *constituency.RetiredHandleError
		if err := c.CreateOrganisation(ctx, &o); !errors.As(err, &retired) || retired.Handle != h {
			t.Errorf("CreateOrganisation(%s), deleted before the migration = %v; want a RetiredHandleError", h, err)
		}
	}
	kept, err := c.GetOrganisationByHandle(ctx, "kept")
	if err != nil {
		t.Fatalf("kept after the migration: %v", err)
	}
	kept.Name = "Kept, renamed"
	if err := c.UpdateOrganisation(ctx, &kept); err != nil {
		t.Errorf("UpdateOrganisation(kept) after the migration: %v", err)
	}
	again := constituency.Organisation{Handle: "kept", Name: "another"}
	var retired *constituency.RetiredHandleError
	if err := c.CreateOrganisation(ctx, &again); !errors.Is(err, store.ErrConflict) || errors.As(err, &retired) {
		t.Errorf("CreateOrganisation(kept) while kept exists = %v; want ErrConflict, not retired", err)
	}
	if err := c.DeleteOrganisation(ctx, kept.ID); err != nil {
		t.Fatalf("DeleteOrganisation(kept): %v", err)
	}
	if err := c.CreateOrganisation(ctx, &again); !errors.As(err, &retired) {
		t.Errorf("CreateOrganisation(kept) after its delete = %v; want a RetiredHandleError", err)
	}
	fresh := constituency.Organisation{Handle: "fresh", Name: "Fresh"}
	if err := c.CreateOrganisation(ctx, &fresh); err != nil {
		t.Errorf("CreateOrganisation(fresh): %v", err)
	}
}

// The feed reports migration (version 7 of both stores) is checked with one
// fixture written in the version 6 schema with each store's SQL: feed
// "inbox" with 12 lines read, 9 events out, 2 dead letters, 1 duplicate,
// last run at now with error "line 3: bad" and last event an hour before
// now; and feed "feodo" with 4 lines read and nothing else.

// CheckFeedReportsMigration checks that both feeds kept their totals as
// their own rows, and that the migrated table counts report types and
// warnings next to them.
func CheckFeedReportsMigration(t *testing.T, s store.Store, now time.Time) {
	t.Helper()
	ctx := t.Context()
	got, err := s.ListFeedStatus(ctx)
	if err != nil {
		t.Fatalf("ListFeedStatus after the migration: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("feeds after the migration = %+v, want feodo and inbox", got)
	}
	feodo, inbox := got[0], got[1]
	if feodo.Name != "feodo" || feodo.Report != "" || feodo.FeedCounters != (store.FeedCounters{LinesRead: 4}) ||
		!feodo.LastRun.IsZero() || !feodo.LastEvent.IsZero() || feodo.LastError != "" {
		t.Errorf("feodo after the migration = %+v", feodo)
	}
	if inbox.Name != "inbox" || inbox.Report != "" ||
		inbox.FeedCounters != (store.FeedCounters{LinesRead: 12, EventsOut: 9, DeadLetters: 2, Duplicates: 1}) ||
		!inbox.LastRun.Equal(now) || inbox.LastError != "line 3: bad" || !inbox.LastEvent.Equal(now.Add(-time.Hour)) {
		t.Errorf("inbox after the migration = %+v", inbox)
	}
	if err := s.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox"}, store.FeedCounters{LinesRead: 1, Warnings: 1}, time.Time{}, time.Time{}, "", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox", Report: "Accessible-RDP"}, store.FeedCounters{LinesRead: 5}, now, time.Time{}, "", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	got, err = s.ListFeedStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].LinesRead != 13 || got[1].Warnings != 1 || got[1].LastError != "line 3: bad" ||
		got[2].Name != "inbox" || got[2].Report != "Accessible-RDP" || got[2].LinesRead != 5 {
		t.Errorf("feeds after adding to inbox and a report of it = %+v", got)
	}
}

// CheckDeadLetterWorkMigration checks migration 8 of both stores. Under
// the old schema the fixture holds two identical letters of feed "old"
// (source "o.csv", input "bad", error "e", time now), the first retried:
// both are kept, without a line, neither discarded.
func CheckDeadLetterWorkMigration(t *testing.T, s store.Store, now time.Time) {
	t.Helper()
	ctx := t.Context()
	all, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "old", IncludeRetried: true, IncludeDiscarded: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("%d letters after the migration, want the 2 of the fixture: %+v", len(all), all)
	}
	for _, l := range all {
		if l.Source != "o.csv" || l.Line != 0 || string(l.Input) != "bad" || l.Discarded || l.Edited != nil || l.RetryError != "" || !l.Time.Equal(now) {
			t.Errorf("migrated letter = %+v", l)
		}
	}
	if !all[1].Retried || all[0].Retried {
		t.Errorf("retried flags after the migration: %v, %v; want the older one only", all[1].Retried, all[0].Retried)
	}
	if n, err := s.DiscardDeadLetters(ctx, []int64{all[0].ID}, "alice", "old"); err != nil || n != 1 {
		t.Errorf("discarding a migrated letter = %d, %v", n, err)
	}
}
