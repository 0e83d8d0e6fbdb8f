package sqlitestore

import (
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestMigrateNotifyLayout fills the notification tables as migration 2 left
// them and checks that migration 3 keeps everything.
func TestMigrateNotifyLayout(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, Options{})
	if err := s.migrateTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := s.write.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	events := storetest.NotifyLayoutEvents(now)
	for i, e := range events {
		h := e.Hash()
		exec(`INSERT INTO events (id, hash, time_source, stored, data) VALUES (?, ?, ?, ?, ?)`,
			i+1, h[:], now.Add(-time.Hour).UnixMicro(), now.UnixMicro(), event.AppendRecord(nil, e))
	}
	exec(`INSERT INTO notify_queue (org, event_id, stored) VALUES ('uni', 3, ?), ('uni', 99, ?)`, now.UnixMicro(), now.UnixMicro())
	exec(`INSERT INTO outbox_messages (id, org_id, org, kind, sender, recipients, subject, message_id, body, size, events,
		encrypted, status, attempts, next_attempt, last_error, reply, created, sent)
		VALUES (7, 1, 'uni', 'digest', 'cert@cert.example', '["a@uni.example"]', 's', 'm7@cert.example', x'00', 1, 2,
		0, 'sent', 1, 0, '', '250', ?, ?)`, now.UnixMicro(), now.UnixMicro())
	h1, h2 := events[0].Hash(), events[1].Hash()
	exec(`INSERT INTO message_events (event_hash, message_id) VALUES (?, 7), (?, 7)`, h1[:], h2[:])
	week := now.Add(7 * 24 * time.Hour).UnixMicro()
	exec(`INSERT INTO notified_keys (org, key, first_sent, last_sent, expires, repeats, summary) VALUES
		('uni', ?, ?, ?, ?, 0, 'one'), ('uni', ?, ?, ?, ?, 3, 'two')`,
		storetest.OldKeyOne[:], now.UnixMicro(), now.UnixMicro(), week, storetest.OldKeyTwo[:], now.UnixMicro(), now.UnixMicro(), week)

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	storetest.CheckNotifyLayoutMigration(t, s, now, []int64{1, 2, 3})
	var old int
	if err := s.write.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name IN ('notified_keys', 'message_events')`).Scan(&old); err != nil || old != 0 {
		t.Errorf("%d old tables left (%v)", old, err)
	}
}

// TestMigrateOrganisationHandles writes the fixture of
// storetest.CheckOrganisationHandlesMigration as migration 4 left the
// schema and checks that migration 5 retires the handles of organisations
// deleted before it.
func TestMigrateOrganisationHandles(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, Options{})
	if err := s.migrateTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := s.write.ExecContext(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	exec(`INSERT INTO organisations (id, handle, name, sector, country, language, notes, search, created, updated)
		VALUES (1, 'kept', 'Kept', '', '', 'en', '', 'kept', ?, ?)`, now.UnixMicro(), now.UnixMicro())
	for i, e := range storetest.NotifyLayoutEvents(now) {
		h := e.Hash()
		exec(`INSERT INTO events (id, hash, time_source, stored, data) VALUES (?, ?, ?, ?, ?)`,
			i+1, h[:], now.Add(-time.Hour).UnixMicro(), now.UnixMicro(), event.AppendRecord(nil, e))
	}
	exec(`INSERT INTO event_orgs (org, time_source, event_id) VALUES ('kept', ?, 1), ('gone-tagged', ?, 2), ('gone-mail', ?, 3)`,
		now.Add(-time.Hour).UnixMicro(), now.Add(-time.Hour).UnixMicro(), now.Add(-time.Hour).UnixMicro())
	exec(`INSERT INTO outbox_messages (id, org_id, org, kind, sender, recipients, subject, message_id, body, size, events,
		encrypted, status, attempts, next_attempt, last_error, reply, created, sent)
		VALUES (7, 2, 'gone-mail', 'digest', 'cert@cert.example', '["a@gone.example"]', 's', 'm7@cert.example', x'00', 1, 2,
		0, 'sent', 1, 0, '', '250', ?, ?)`, now.UnixMicro(), now.UnixMicro())
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	storetest.CheckOrganisationHandlesMigration(t, s)
}

// TestMigrateFeedReports writes the fixture of
// storetest.CheckFeedReportsMigration as migration 6 left the schema and
// checks that migration 7 keeps the feeds' totals.
func TestMigrateFeedReports(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, Options{})
	if err := s.migrateTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	if _, err := s.write.ExecContext(ctx, `INSERT INTO feeds (name, lines_read, events_out, dead_letters, duplicates, last_run, last_error, last_event)
		VALUES ('inbox', 12, 9, 2, 1, ?, 'line 3: bad', ?), ('feodo', 4, 0, 0, 0, NULL, '', NULL)`,
		now.UnixMicro(), now.Add(-time.Hour).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	storetest.CheckFeedReportsMigration(t, s, now)
}

// TestMigrateDeadLetterWork writes the fixture of
// storetest.CheckDeadLetterWorkMigration as migration 7 left the schema.
func TestMigrateDeadLetterWork(t *testing.T) {
	ctx := t.Context()
	s := openTemp(t, Options{})
	if err := s.migrateTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	if _, err := s.write.ExecContext(ctx, `INSERT INTO dead_letters (feed, parser, source, input, error, time, retried)
		VALUES ('old', 'csv', 'o.csv', x'626164', 'e', ?, 1), ('old', 'csv', 'o.csv', x'626164', 'e', ?, 0)`, now.UnixMicro(), now.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	storetest.CheckDeadLetterWorkMigration(t, s, now)
}
