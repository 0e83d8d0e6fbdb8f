package outboxdb

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// The queries are the text each store ran before they were shared; these
// tests pin the parts that differ by dialect.

func TestListByEvent(t *testing.T) {
	mq := outbox.MessageQuery{OrgID: 4, Status: "sent", BeforeID: 90, Limit: 10}
	for _, tc := range []struct {
		d     sqlkit.Dialect
		where string
		args  []any
	}{
		{sqlkit.SQLite, " WHERE org IN (?, ?) AND last_event >= ? AND first_event <= ? AND org_id = ? AND status = ? AND id < ? ORDER BY id DESC",
			[]any{"a", "b", int64(7), int64(7), int64(4), "sent", int64(90)}},
		{sqlkit.Postgres, " WHERE org = ANY($1) AND last_event >= $2 AND first_event <= $3 AND org_id = $4 AND status = $5 AND id < $6 ORDER BY id DESC",
			[]any{[]string{"a", "b"}, int64(7), int64(7), int64(4), "sent", int64(90)}},
	} {
		query, args := queriesFor(tc.d).list(mq, []string{"a", "b"}, 7)
		if want := `SELECT ` + MessageColumns + `, event_ids FROM outbox_messages` + tc.where; query != want {
			t.Errorf("%s:\n got %s\nwant %s", tc.d, query, want)
		}
		if !reflect.DeepEqual(args, tc.args) {
			t.Errorf("%s: args %#v, want %#v", tc.d, args, tc.args)
		}
	}
}

func TestListWithoutEventIsLimited(t *testing.T) {
	for d, want := range map[sqlkit.Dialect]string{
		sqlkit.SQLite:   " FROM outbox_messages ORDER BY id DESC LIMIT ?",
		sqlkit.Postgres: " FROM outbox_messages ORDER BY id DESC LIMIT $1",
	} {
		query, args := queriesFor(d).list(outbox.MessageQuery{}, nil, 0)
		if !strings.HasSuffix(query, want) || !reflect.DeepEqual(args, []any{outbox.MessageLimit(0)}) {
			t.Errorf("%s: %s %v", d, query, args)
		}
	}
}

func TestChanges(t *testing.T) {
	when := time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		c        change
		sqlite   string
		postgres string
		args     func(d sqlkit.Dialect) []any
	}{
		{sent(when, "250 ok"), "status = 'sent', sent = ?, reply = ?, attempts = attempts + 1",
			"status = 'sent', sent = $2, reply = $3, attempts = attempts + 1",
			func(d sqlkit.Dialect) []any { return []any{d.Time(when), "250 ok"} }},
		{retry(2, when, "451"), "status = 'queued', attempts = ?, next_attempt = ?, last_error = ?",
			"status = 'queued', attempts = $2, next_attempt = $3, last_error = $4",
			func(d sqlkit.Dialect) []any { return []any{2, d.Time(when), "451"} }},
		{fail(3, "550"), "status = 'failed', attempts = ?, last_error = ?",
			"status = 'failed', attempts = $2, last_error = $3",
			func(sqlkit.Dialect) []any { return []any{3, "550"} }},
	} {
		a := sqlkit.SQLite.Args()
		if got := tc.c.set(a); got != tc.sqlite || !reflect.DeepEqual(a.List(), tc.args(sqlkit.SQLite)) {
			t.Errorf("%s on SQLite: %s %v", tc.c.what, got, a.List())
		}
		// PostgreSQL's statement numbers the id first.
		a = sqlkit.Postgres.Args()
		a.Add(int64(1))
		if got := tc.c.set(a); got != tc.postgres || !reflect.DeepEqual(a.List()[1:], tc.args(sqlkit.Postgres)) {
			t.Errorf("%s on PostgreSQL: %s %v", tc.c.what, got, a.List())
		}
	}
}

func TestFixedQueries(t *testing.T) {
	s, p := queriesFor(sqlkit.SQLite), queriesFor(sqlkit.Postgres)
	if !strings.HasSuffix(s.due, "next_attempt <= ? ORDER BY id LIMIT ?") || !strings.HasSuffix(p.due, "next_attempt <= $1 ORDER BY id LIMIT $2") {
		t.Errorf("Due:\n%s\n%s", s.due, p.due)
	}
	if s.status != `SELECT status FROM outbox_messages WHERE id = ?` || p.status != `SELECT status FROM outbox_messages WHERE id = $1` {
		t.Errorf("Status: %s / %s", s.status, p.status)
	}
	when := time.UnixMicro(1_800_000_000_000_000).UTC()
	if got := s.dueArgs(when, 0); !reflect.DeepEqual(got, []any{when.UnixMicro(), outbox.MessageLimit(0)}) {
		t.Errorf("SQLite dueArgs %v", got)
	}
	if got := p.dueArgs(when, 5); !reflect.DeepEqual(got, []any{when, outbox.MessageLimit(5)}) {
		t.Errorf("Postgres dueArgs %v", got)
	}
}
