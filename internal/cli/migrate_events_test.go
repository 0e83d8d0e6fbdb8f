package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestMigrateEventsDemo ingests the demo's reports into a store of the
// rows layout, converts it with vigil migrate-events in Dutch, and
// searches it again: the same events, pages, counts and groups. A second
// run has nothing to do.
func TestMigrateEventsDemo(t *testing.T) {
	data := t.TempDir()
	reports := filepath.Join(t.TempDir(), "reports")
	if err := demo.WriteReports(reports, time.Now().UTC(), 1); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(reports, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("demo reports: %v %v", files, err)
	}
	newRowsStore(t, data)
	if code, _, errOut := run(t, "", append([]string{"ingest", "--data", data, "--quiet"}, files...)...); code != 0 {
		t.Fatalf("ingest: exit %d\n%s", code, errOut)
	}
	searches := [][]string{
		{"events", "search", "--all", "--format", "jsonl"},
		{"events", "search", "--count"},
		{"events", "search", "--group", "feed"},
		{"events", "search", "--cidr", "198.18.0.0/16", "--sort", "source.ip", "--limit", "20"},
	}
	answers := func() []string {
		var out []string
		for _, s := range searches {
			code, stdout, errOut := run(t, "", append(s, "--data", data)...)
			if code != 0 {
				t.Fatalf("%v: exit %d\n%s", s, code, errOut)
			}
			out = append(out, stdout)
		}
		return out
	}
	before := answers()
	if !strings.Contains(before[0], "\n") || strings.Count(before[0], "\n") < 1000 {
		t.Fatalf("the demo stored %d events, want more", strings.Count(before[0], "\n"))
	}
	if layout := storeLayout(t, data); layout != sqlitestore.LayoutRows {
		t.Fatalf("the demo's store is in the %q layout, want rows to convert", layout)
	}

	t.Setenv("VIGIL_LANG", "nl")
	code, out, errOut := run(t, "", "migrate-events", "--data", data)
	if code != 0 {
		t.Fatalf("migrate-events: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "worden ter plaatse omgezet naar de opslagwijze parts") ||
		!strings.Contains(out, "gebeurtenissen van "+filepath.Join(data, "vigil.db")+" omgezet naar de opslagwijze parts") {
		t.Fatalf("migrate-events did not say it in Dutch:\n%s\n%s", out, errOut)
	}
	if layout := storeLayout(t, data); layout != sqlitestore.LayoutParts {
		t.Fatalf("after migrate-events the store is in the %q layout", layout)
	}
	t.Setenv("VIGIL_LANG", "en")
	after := answers()
	t.Setenv("VIGIL_LANG", "nl")
	for i := range searches {
		if after[i] != before[i] {
			t.Errorf("%v answers otherwise after the conversion:\n%.2000s\nwas\n%.2000s", searches[i], after[i], before[i])
		}
	}

	// A second run has nothing to convert; --vacuum gives the pages the
	// rows layout took back.
	code, out, errOut = run(t, "", "migrate-events", "--data", data, "--vacuum")
	if code != 0 || !strings.Contains(out, "staan al in de opslagwijze parts: niets te doen") {
		t.Fatalf("second migrate-events: exit %d\n%s%s", code, out, errOut)
	}
	m := regexp.MustCompile(`databasebestand: ([0-9]+) MiB, was ([0-9]+) MiB`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("--vacuum did not give the sizes:\n%s", out)
	}
	if now, was := atoi(t, m[1]), atoi(t, m[2]); now >= was {
		t.Errorf("--vacuum: the file is %d MiB, was %d MiB", now, was)
	}
	t.Setenv("VIGIL_LANG", "en")
	if got := answers(); got[0] != before[0] {
		t.Errorf("after VACUUM the events differ")
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newRowsStore makes data's database a store of the rows layout, as one
// made before parts was the default: a database keeps the rows layout
// while its events table holds events, so it is given one.
func newRowsStore(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{EventLayout: sqlitestore.LayoutRows})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := event.New(4)
	for k, v := range map[string]string{"feed.name": "before-parts", "source.ip": "192.0.2.1",
		"classification.type": "scanner", "time.source": event.FormatTime(time.Now().UTC().Add(-time.Hour))} {
		if err := e.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.InsertEvents(ctx, []*event.Event{e}, nil); err != nil {
		t.Fatal(err)
	}
}

func storeLayout(t *testing.T, data string) string {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(data, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st.EventLayout()
}

// TestMigrateEventsRefuses: PostgreSQL, a missing database and arguments
// are refused with a message, not converted.
func TestMigrateEventsRefuses(t *testing.T) {
	data := t.TempDir()
	code, _, errOut := run(t, "", "migrate-events", "--data", data, "--database", "postgres://nowhere/vigil")
	if code != 1 || !strings.Contains(errOut, "converts SQLite databases only") {
		t.Errorf("PostgreSQL: exit %d\n%s", code, errOut)
	}
	code, _, errOut = run(t, "", "migrate-events", "--data", data)
	if code != 1 || !strings.Contains(errOut, "no database at") {
		t.Errorf("no database: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "vigil.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was created: %v", err)
	}
	if code, _, _ = run(t, "", "migrate-events", "--data", data, "extra"); code != 2 {
		t.Errorf("an argument: exit %d, want 2", code)
	}
	// A conversion the database fails is said in the operator's
	// language, the database's reason last.
	failing := t.TempDir()
	newRowsStore(t, failing)
	execSQL(t, filepath.Join(failing, "vigil.db"), "CREATE TRIGGER fail_copy BEFORE DELETE ON events BEGIN SELECT RAISE(ABORT, 'disk is full'); END")
	saidInEveryLanguage(t, "", []string{"migrate-events", "--data", failing},
		"vigil migrate-events: the events of "+filepath.Join(failing, "vigil.db")+" cannot be converted to the parts layout: constraint failed: disk is full (1811)",
		[]string{"cannot", "converted"})
	// vigil serve on a conversion left unfinished says, in the
	// operator's language, to finish it.
	if m, ok := i18n.Explain(fmt.Errorf("migrate database: %w", sqlitestore.ErrConverting)); !ok ||
		!strings.Contains(m.In(i18n.Embedded(), "de"), "vigil migrate-events aus") {
		t.Errorf("the converting state explains itself as %q", m)
	}
}

// TestConversionProgress: off a terminal, the first call says what is
// done, then a line comes at most every lineEvery, in the command's
// language, with the bar, the counts grouped, the rate and the time left.
func TestConversionProgress(t *testing.T) {
	var out strings.Builder
	c := &cmdEnv{stderr: &out, lang: "fr"}
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	p := newConversionProgress(c, "/data/vigil.db", t0)
	p.updateAt(0, 1_000_000, t0)
	p.updateAt(10_000, 1_000_000, t0.Add(time.Second)) // too soon for a line
	p.updateAt(450_000, 1_000_000, t0.Add(9*time.Second))
	p.end()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want the start and one progress line:\n%s", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[0], "conversion sur place des 1") || !strings.Contains(lines[0], "000 événements de /data/vigil.db vers la disposition parts") {
		t.Errorf("start line %q", lines[0])
	}
	// 450,000 in 9 s: 50,000/s, 550,000 left: 11 s.
	for _, want := range []string{"[#############.................]  45%", "450", "000 / 1", "000 événements", "50", "/s", "reste 11 s"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("progress line %q lacks %q", lines[1], want)
		}
	}
}
