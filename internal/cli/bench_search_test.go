package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestBenchSearch loads a small store with `vigil bench search` and checks
// that each of its five searches finds events: the values it looks for are
// those of a stored event, and the day searched lies inside the days the
// events were observed over. A second run reuses the kept database.
func TestBenchSearch(t *testing.T) {
	dir := t.TempDir()
	for _, pass := range []string{"loading", "reused"} {
		code, out, errOut := run(t, "", "bench", "search", "--dir", dir, "--rows", "3000")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s", pass, code, out, errOut)
		}
		found := map[string]int{}
		for _, m := range regexp.MustCompile(`search (\w+) +\S+ +first page +(\d+) events`).FindAllStringSubmatch(out, -1) {
			found[m[1]], _ = strconv.Atoi(m[2])
		}
		for _, kind := range []string{"ip", "cidr", "asn", "fqdn", "day"} {
			if found[kind] == 0 {
				t.Errorf("%s: the %s search found nothing:\n%s", pass, kind, out)
			}
		}
		// 3,000 events over 30 days: 100 a day, a first page of 50.
		if found["day"] != 50 {
			t.Errorf("%s: a day should fill a first page: %v\n%s", pass, found, out)
		}
		if !strings.Contains(out, "partitions sealed in") {
			t.Errorf("%s: no sealing before the searches:\n%s", pass, out)
		}
	}
	// The searches were timed over sealed partitions only: none is left
	// without its summary (the one last written included).
	db, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "search-"+sqlitestore.LayoutParts+".db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var open int
	if err := db.DB().QueryRow(context.Background(), `SELECT count(*) FROM event_parts WHERE summary IS NULL`).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open != 0 {
		t.Errorf("%d partitions left unsealed after bench search", open)
	}
}

// TestSearchEventDays: the bench's events are observed in order over its
// days, at any number of rows (a product of the row number and the days
// in nanoseconds overflowed past a few hundred events).
func TestSearchEventDays(t *testing.T) {
	base := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, rows := range []int64{3000, 10_000_000, 100_000_000} {
		days := searchDays(int(rows))
		var last time.Time
		for _, i := range []int64{0, 1, rows / 3, rows / 2, rows - 2, rows - 1} {
			e := searchEvent(i, rows, days, base)
			at, ok := e.Time("time.observation")
			if !ok || at.Before(base) || !at.Before(base.AddDate(0, 0, days)) || at.Before(last) {
				t.Fatalf("%d rows: event %d observed at %v, want in order within %d days of %v", rows, i, at, days, base)
			}
			last = at
		}
		if last.Sub(base) < time.Duration(days-1)*24*time.Hour {
			t.Errorf("%d rows: the last event observed at %v, want in the last day", rows, last)
		}
	}
}

// TestSearchEventIsItsNumber: the i-th event is the same whatever was
// made before it, so a load resumed after a stop stores the events a whole
// load would have.
func TestSearchEventIsItsNumber(t *testing.T) {
	base := time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	first := searchEvent(41, 3000, 30, base).Hash()
	for i := range int64(41) {
		searchEvent(i, 3000, 30, base)
	}
	if again := searchEvent(41, 3000, 30, base).Hash(); again != first {
		t.Errorf("event 41 made after 0 to 40 differs from event 41 made alone")
	}
	if searchEvent(42, 3000, 30, base).Hash() == first {
		t.Errorf("events 41 and 42 are the same")
	}
}

// TestBenchSearchRefusesAnotherSpec: a kept database loaded for one
// --rows is not loaded on with the events of another (their days differ),
// and the message says what to do.
func TestBenchSearchRefusesAnotherSpec(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := run(t, "", "bench", "search", "--dir", dir, "--rows", "2000"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := run(t, "", "bench", "search", "--dir", dir, "--rows", "3000")
	if code == 0 || !strings.Contains(errOut, "--rows 3000") {
		t.Errorf("a kept database of 2,000 events asked for 3,000: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestBenchSearchRefusesAnUnstampedStore: a kept database with events but
// no stamp (made before stamps) is refused with a message saying so.
func TestBenchSearchRefusesAnUnstampedStore(t *testing.T) {
	dir := t.TempDir()
	if code, out, errOut := run(t, "", "bench", "search", "--dir", dir, "--rows", "2000"); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if err := os.Remove(filepath.Join(dir, "search-parts.db.spec")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "", "bench", "search", "--dir", dir, "--rows", "2000")
	if code == 0 || !strings.Contains(errOut, "no record of how they were made") {
		t.Errorf("an unstamped kept database: exit %d\n%s\n%s", code, out, errOut)
	}
}
