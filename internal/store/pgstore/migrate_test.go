package pgstore

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestMigrateNotifyLayout fills the notification tables as migration 2 left
// them and checks that migration 3 keeps everything.
func TestMigrateNotifyLayout(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.migrateTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := s.pool.Exec(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	events := storetest.NotifyLayoutEvents(now)
	for i, e := range events {
		h := e.Hash()
		exec(`INSERT INTO events (id, hash, time_source, stored, data) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5)`,
			i+1, h[:], now.Add(-time.Hour), now, event.AppendRecord(nil, e))
	}
	exec(`INSERT INTO notify_queue (org, event_id, stored) VALUES ('uni', 3, $1), ('uni', 99, $1)`, now)
	exec(`INSERT INTO outbox_messages (id, org_id, org, kind, sender, recipients, subject, message_id, body, size, events,
		encrypted, status, attempts, next_attempt, last_error, reply, created, sent) OVERRIDING SYSTEM VALUE
		VALUES (7, 1, 'uni', 'digest', 'cert@cert.example', '{a@uni.example}', 's', 'm7@cert.example', '\x00', 1, 2,
		false, 'sent', 1, $1, '', '250', $1, $1)`, now)
	h1, h2 := events[0].Hash(), events[1].Hash()
	exec(`INSERT INTO message_events (event_hash, message_id) VALUES ($1, 7), ($2, 7)`, h1[:], h2[:])
	week := now.Add(7 * 24 * time.Hour)
	exec(`INSERT INTO notified_keys (org, key, first_sent, last_sent, expires, repeats, summary) VALUES
		('uni', $1, $3, $3, $4, 0, 'one'), ('uni', $2, $3, $3, $4, 3, 'two')`,
		storetest.OldKeyOne[:], storetest.OldKeyTwo[:], now, week)

	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	storetest.CheckNotifyLayoutMigration(t, s, now, []int64{1, 2, 3})
}

// TestMigrateOrganisationHandles writes the fixture of
// storetest.CheckOrganisationHandlesMigration as migration 4 left the
// schema and checks that migration 5 retires the handles of organisations
// deleted before it.
func TestMigrateOrganisationHandles(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.migrateTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := s.pool.Exec(ctx, query, args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	exec(`INSERT INTO organisations (id, handle, name, sector, country, language, notes, search, created, updated) OVERRIDING SYSTEM VALUE
		VALUES (1, 'kept', 'Kept', '', '', 'en', '', 'kept', $1, $1)`, now)
	// The next organisation must not take ID 1 or 2 (the fixture's).
	exec(`SELECT setval(pg_get_serial_sequence('organisations', 'id'), 2)`)
	for i, e := range storetest.NotifyLayoutEvents(now) {
		h := e.Hash()
		exec(`INSERT INTO events (id, hash, time_source, stored, data) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5)`,
			i+1, h[:], now.Add(-time.Hour), now, event.AppendRecord(nil, e))
	}
	exec(`INSERT INTO event_orgs (org, time_source, event_id) VALUES ('kept', $1, 1), ('gone-tagged', $1, 2), ('gone-mail', $1, 3)`,
		now.Add(-time.Hour))
	exec(`INSERT INTO outbox_messages (id, org_id, org, kind, sender, recipients, subject, message_id, body, size, events,
		encrypted, status, attempts, next_attempt, last_error, reply, created, sent) OVERRIDING SYSTEM VALUE
		VALUES (7, 2, 'gone-mail', 'digest', 'cert@cert.example', '{a@gone.example}', 's', 'm7@cert.example', '\x00', 1, 2,
		false, 'sent', 1, $1, '', '250', $1, $1)`, now)
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
	s := openFresh(t)
	if err := s.migrateTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	if _, err := s.pool.Exec(ctx, `INSERT INTO feeds (name, lines_read, events_out, dead_letters, duplicates, last_run, last_error, last_event)
		VALUES ('inbox', 12, 9, 2, 1, $1, 'line 3: bad', $2), ('feodo', 4, 0, 0, 0, NULL, '', NULL)`,
		now, now.Add(-time.Hour)); err != nil {
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
	s := openFresh(t)
	if err := s.migrateTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)
	if _, err := s.pool.Exec(ctx, `INSERT INTO dead_letters (feed, parser, source, input, error, time, retried)
		VALUES ('old', 'csv', 'o.csv', 'bad', 'e', $1, true), ('old', 'csv', 'o.csv', 'bad', 'e', $1, false)`, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	storetest.CheckDeadLetterWorkMigration(t, s, now)
}

// TestBlocksNotVacuumedForInserts: after Migrate, the TOAST table of
// event_blocks is not vacuumed for its inserts alone (migration 18), the
// blocks' table itself still is (its rows are few and small): in a new
// store (from 0: the baseline and every migration) and in one of
// migration 17 migrated.
func TestBlocksNotVacuumedForInserts(t *testing.T) {
	ctx := t.Context()
	for _, from := range []int{0, 17} {
		s := openFresh(t)
		if from > 0 {
			if err := s.migrateTo(ctx, from); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var blocks, toast []string
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(c.reloptions, '{}'), coalesce(t.reloptions, '{}')
			FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
			WHERE c.relname = 'event_blocks' AND c.relnamespace = current_schema()::regnamespace`).Scan(&blocks, &toast); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(toast, "autovacuum_vacuum_insert_threshold=-1") {
			t.Errorf("from %d: the TOAST table of event_blocks has options %q, want its insert vacuums off", from, toast)
		}
		if len(blocks) != 0 {
			t.Errorf("from %d: event_blocks has options %q, want none", from, blocks)
		}
	}
}
