package export

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// readEvents loads testdata/events.jsonl, the shared input of the golden tests.
func readEvents(t *testing.T) []store.StoredEvent {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []store.StoredEvent
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		e := event.New(16)
		if err := e.ParseJSON(sc.Bytes()); err != nil {
			t.Fatalf("testdata line %d: %v", len(events)+1, err)
		}
		events = append(events, store.StoredEvent{Hash: e.Hash(), Event: e})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return events
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestGolden(t *testing.T) {
	events := readEvents(t)
	tests := []struct {
		golden string
		write  func(*bytes.Buffer, Events) error
	}{
		{"default.csv", func(b *bytes.Buffer, ev Events) error { return WriteCSV(b, ev, CSVOptions{}) }},
		{"all.csv", func(b *bytes.Buffer, ev Events) error { return WriteCSV(b, ev, CSVOptions{AllFields: true}) }},
		{"chosen.csv", func(b *bytes.Buffer, ev Events) error {
			return WriteCSV(b, ev, CSVOptions{Columns: []string{"source.ip", "comment", "extra.note", "extra.count", "extra.ports", "source.geolocation.longitude"}})
		}},
		{"events.out.jsonl", func(b *bytes.Buffer, ev Events) error { return WriteJSONLines(b, ev) }},
		{"table.txt", func(b *bytes.Buffer, ev Events) error { return WriteTable(b, ev, TableOptions{}) }},
		{"table-narrow.txt", func(b *bytes.Buffer, ev Events) error {
			return WriteTable(b, ev, TableOptions{Columns: []string{"source.as_name", "event_description.text", "hash"}, MaxWidth: 12})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, Slice(events)); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.golden, b.Bytes())
		})
	}
}

// TestCSVInjection checks every cell a spreadsheet could run, independent of
// the golden files, so that regenerating them cannot hide a regression.
func TestCSVInjection(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, Slice(readEvents(t)), CSVOptions{AllFields: true}); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range records[1:] {
		for i, c := range row {
			if c == "" || isPlainNumber(c) {
				continue
			}
			if strings.ContainsAny(strings.TrimLeft(c, " ")[:1], "=+-@\t\r") {
				t.Errorf("column %s: cell %q starts like a formula", records[0][i], c)
			}
		}
	}
}

func TestDefuse(t *testing.T) {
	tests := map[string]string{
		"":             "",
		"plain":        "plain",
		"=1+1":         "'=1+1",
		"+1":           "+1",
		"+1a":          "'+1a",
		"-3.7":         "-3.7",
		"-3.":          "'-3.",
		"-.5":          "'-.5",
		"-2+3":         "'-2+3",
		"@SUM(A1)":     "'@SUM(A1)",
		"\tx":          "'\tx",
		"\r=x":         "'\r=x",
		"  =x":         "'  =x",
		"   ":          "   ",
		"a=b":          "a=b",
		"1e5":          "1e5",
		"-1e5":         "'-1e5",
		"192.0.2.1":    "192.0.2.1",
		"-":            "'-",
		"2001:db8::1":  "2001:db8::1",
		"'already":     "'already",
		"=HYPERLINK()": "'=HYPERLINK()",
	}
	for in, want := range tests {
		if got := defuse(in); got != want {
			t.Errorf("defuse(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSONLinesRoundTrip(t *testing.T) {
	events := readEvents(t)
	var b bytes.Buffer
	if err := WriteJSONLines(&b, Slice(events)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != len(events) {
		t.Fatalf("got %d lines, want %d", len(lines), len(events))
	}
	for i, line := range lines {
		e := event.New(16)
		if err := e.ParseJSON([]byte(line)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if e.Hash() != events[i].Hash {
			t.Errorf("line %d: event changed on the way through", i+1)
		}
	}
}

func TestParseColumns(t *testing.T) {
	got, err := ParseColumns(" source.ip, extra.foo ,hash,")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"source.ip", "extra.foo", "hash"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"", ",", "source.ip,nosuch", "source.ip,source.ip", "extra."} {
		if _, err := ParseColumns(bad); err == nil {
			t.Errorf("ParseColumns(%q) accepted", bad)
		}
	}
}

// pagedStore serves its events in pages of the query's Limit, with the
// index of the next event as cursor, and counts the queries.
type pagedStore struct {
	events  []store.StoredEvent
	queries int
	failAt  int // fail the query with this number (1-based); 0 never
	loop    bool
}

var errBroken = errors.New("database on fire")

func (s *pagedStore) SearchEvents(_ context.Context, q store.EventQuery) (store.EventPage, error) {
	s.queries++
	if s.queries == s.failAt {
		return store.EventPage{}, errBroken
	}
	start := 0
	if q.After != "" {
		start = int(q.After[0] - 'a')
	}
	end := min(start+q.Limit, len(s.events))
	page := store.EventPage{Events: s.events[start:end]}
	if end < len(s.events) {
		page.Next = string(rune('a' + end))
	}
	if s.loop {
		page.Next = q.After
		if page.Next == "" {
			page.Next = "a"
		}
	}
	return page, nil
}

func TestSearch(t *testing.T) {
	events := readEvents(t)
	t.Run("all pages", func(t *testing.T) {
		s := &pagedStore{events: events}
		var got []event.Hash
		for e, err := range Search(t.Context(), s, store.EventQuery{Limit: 3}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e.Hash)
		}
		if len(got) != len(events) || s.queries != 2 {
			t.Errorf("got %d events in %d queries, want %d in 2", len(got), s.queries, len(events))
		}
		for i := range got {
			if got[i] != events[i].Hash {
				t.Errorf("event %d out of order", i)
			}
		}
	})
	t.Run("starts at the cursor", func(t *testing.T) {
		s := &pagedStore{events: events}
		n := 0
		for _, err := range Search(t.Context(), s, store.EventQuery{Limit: 1, After: "c"}) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != 2 {
			t.Errorf("got %d events after cursor c, want 2", n)
		}
	})
	t.Run("error mid-way", func(t *testing.T) {
		s := &pagedStore{events: events, failAt: 2}
		var b bytes.Buffer
		err := WriteJSONLines(&b, Search(t.Context(), s, store.EventQuery{Limit: 2}))
		if !errors.Is(err, errBroken) {
			t.Fatalf("got %v, want the store's error", err)
		}
		if n := strings.Count(b.String(), "\n"); n != 2 {
			t.Errorf("wrote %d lines before the error, want 2", n)
		}
	})
	t.Run("cursor loop", func(t *testing.T) {
		s := &pagedStore{events: events, loop: true}
		var last error
		for _, err := range Search(t.Context(), s, store.EventQuery{Limit: 1}) {
			last = err
		}
		if !errors.Is(last, ErrCursorLoop) {
			t.Errorf("got %v, want ErrCursorLoop", last)
		}
	})
	t.Run("limit stops paging", func(t *testing.T) {
		s := &pagedStore{events: events}
		n := 0
		for range Limit(Search(t.Context(), s, store.EventQuery{Limit: 2}), 2) {
			n++
		}
		if n != 2 || s.queries != 1 {
			t.Errorf("got %d events in %d queries, want 2 in 1", n, s.queries)
		}
	})
	t.Run("all fields runs the search twice", func(t *testing.T) {
		s := &pagedStore{events: events}
		var b bytes.Buffer
		if err := WriteCSV(&b, Search(t.Context(), s, store.EventQuery{Limit: 10}), CSVOptions{AllFields: true}); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := WriteCSV(&want, Slice(events), CSVOptions{AllFields: true}); err != nil {
			t.Fatal(err)
		}
		if b.String() != want.String() || s.queries != 2 {
			t.Errorf("paged export differs from the in-memory one (%d queries)", s.queries)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		for _, err := range Search(ctx, &pagedStore{events: events}, store.EventQuery{}) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
		}
	})
}

func TestHarmonizedComputesHash(t *testing.T) {
	e := event.New(2)
	if err := e.Set("source.ip", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, Harmonized([]*event.Event{e}), CSVOptions{Columns: []string{"hash"}}); err != nil {
		t.Fatal(err)
	}
	if want := "hash\n" + e.Hash().String() + "\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func BenchmarkWriteCSV(b *testing.B) {
	benchmarkWriter(b, func(w *bytes.Buffer, ev Events) error { return WriteCSV(w, ev, CSVOptions{}) })
}

func BenchmarkWriteJSONLines(b *testing.B) {
	benchmarkWriter(b, func(w *bytes.Buffer, ev Events) error { return WriteJSONLines(w, ev) })
}

func benchmarkWriter(b *testing.B, write func(*bytes.Buffer, Events) error) {
	const n = 10000
	events := make([]store.StoredEvent, n)
	for i := range events {
		e := event.New(12)
		e.SetTrusted("time.source", "2024-05-01T10:00:00+00:00")
		e.SetTrusted("classification.taxonomy", "vulnerable")
		e.SetTrusted("classification.type", "vulnerable-system")
		e.SetTrusted("source.ip", "192.0.2.10")
		e.SetInt("source.port", int64(i%65536))
		e.SetInt("source.asn", 64500)
		e.SetTrusted("source.as_name", "EXAMPLE-NET, BE")
		e.SetTrusted("feed.name", "shadowserver-scan-rdp")
		e.SetTrusted("tlp", "AMBER")
		events[i] = store.StoredEvent{Hash: e.Hash(), Event: e}
	}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := write(&buf, Slice(events)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// FuzzDefuse checks the CSV injection guard on arbitrary cell text: what
// comes out is either the plain number that went in, or does not start
// like a formula, and never loses the text.
func FuzzDefuse(f *testing.F) {
	for _, s := range []string{"=1+1", "-3.7", " @x", "\t=", "+", "-", "plain", "'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := defuse(s)
		if got == s {
			if rest := strings.TrimLeft(s, " "); rest != "" && strings.ContainsAny(rest[:1], "=+-@\t\r") && !isPlainNumber(s) {
				t.Fatalf("formula %q left as is", s)
			}
			return
		}
		if got != "'"+s {
			t.Fatalf("defuse(%q) = %q", s, got)
		}
	})
}
