package newsletterdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/newsletter/newsletterdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// benchSubscribers is the list size the issue asks to queue in under
// 10 s.
const benchSubscribers = 100_000

// addSubscribers stores n confirmed subscribers in one statement.
func addSubscribers(tb testing.TB, st store.Store, n int) {
	tb.Helper()
	db := st.DB()
	now := db.Dialect().Time(time.Now().UTC())
	var query string
	if db.Dialect() == sqlkit.Postgres {
		query = `INSERT INTO newsletter_subscribers (address, lang, warnings, status, created, changed)
			SELECT 'subscriber' || i || '@example.org', 'en', i % 2 = 0, 'confirmed', ?, ? FROM generate_series(1, ?) AS i`
	} else {
		query = `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
			INSERT INTO newsletter_subscribers (address, lang, warnings, status, created, changed)
			SELECT 'subscriber' || i || '@example.org', 'en', i % 2 = 0, 'confirmed', ?, ? FROM seq`
	}
	args := []any{now, now, n}
	if db.Dialect() != sqlkit.Postgres {
		args = []any{n, now, now}
	}
	if _, err := db.Exec(context.Background(), query, args...); err != nil {
		tb.Fatal(err)
	}
}

// benchQueue measures QueueIssue of a digest to benchSubscribers
// subscribers: one INSERT … SELECT in the issue's transaction.
func benchQueue(b *testing.B, st store.Store) {
	addSubscribers(b, st, benchSubscribers)
	s := newsletterdb.New(st.DB())
	id := int64(0)
	for b.Loop() {
		id++
		is := newsletter.Issue{PublicationID: id, Revision: 1, Audience: newsletter.AudienceAll, Publication: publication.Publication{ID: id,
			Ident: "VIGIL-2026-0001", Kind: publication.KindDigest, Status: publication.StatusPublished,
			Content: publication.Content{TLP: publication.TLPClear, Texts: []publication.Text{{Lang: "en", Title: "Digest"}}}}}
		if _, err := s.QueueIssue(context.Background(), &is); err != nil {
			b.Fatal(err)
		}
		if is.Queued != benchSubscribers {
			b.Fatalf("queued %d, want %d", is.Queued, benchSubscribers)
		}
	}
	b.ReportMetric(float64(benchSubscribers), "mails/op")
}

func BenchmarkQueueIssue100kSQLite(b *testing.B) {
	benchQueue(b, dbtest.SQLite(b, database.Schemas...))
}

func BenchmarkQueueIssue100kPostgres(b *testing.B) {
	benchQueue(b, dbtest.Postgres(b, database.Schemas...))
}
