package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

func TestEventFilters(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tests := []struct {
		query string
		want  []string // labels, newest first
	}{
		{"ip=192.0.2.10", []string{"rdp"}},
		{"ip=192.0.2.77", []string{"bot"}}, // destination side
		{"ip=2001:db8:0::5", []string{"v6"}},
		{"ip=::ffff:192.0.2.10", []string{"rdp"}},
		{"cidr=192.0.2.0/24", []string{"bot", "rdp"}},
		{"cidr=192.0.2.64/26", []string{"bot"}},
		{"cidr=2001:db8::/32", []string{"v6"}},
		{"asn=64500", []string{"rdp"}},
		{"asn=AS64501", []string{"bot"}},
		{"asn=64502", []string{"v6"}},
		{"fqdn=example.be", []string{"bot", "rdp"}},
		{"fqdn=WWW.Example.BE.", []string{"rdp"}},
		{"fqdn=notexample.be", []string{"phish"}},
		{"url=http://LOGIN.notexample.be/bank", []string{"phish"}},
		{"url=hxxp://login[.]notexample[.]be/bank", []string{"phish"}},
		{"hash=" + strings.Repeat("AB", 32), []string{"bot"}},
		{"hash=" + strings.Repeat("0f", 16), []string{"phish"}},
		{"taxonomy=fraud", []string{"phish"}},
		{"type=infected-system", []string{"bot"}},
		{"feed=scan-rdp", []string{"v6", "rdp"}},
		{"tlp=amber", []string{"rdp"}},
		{"tlp=TLP:WHITE", []string{"phish"}},
		{"from=2024-05-01T10:00:00Z&to=2024-05-03", []string{"bot", "rdp"}},
		{"from=2024-04-30", []string{"v6", "bot", "rdp", "phish"}},
		{"to=2024-05-01T10:00:00Z&feed=phishtank", []string{"phish"}},
		{"feed=scan-rdp&ip=192.0.2.10&tlp=AMBER&type=vulnerable-system&taxonomy=vulnerable&asn=64500", []string{"rdp"}},
		{"feed=scan-rdp&tlp=GREEN", nil},
		{"ip=192.0.2.11", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.get("/events?"+tt.query, "ana")
			checkSchema(t, "EventPage", r.body)
			p := decode[pageOf](t, r)
			if got := p.labels(); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if p.Next != "" {
				t.Errorf("next %q on a single page", p.Next)
			}
		})
	}
}

func TestGetEvent(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	hash := f.hashes["rdp"]
	r := f.get("/events/"+hash, "ana")
	checkSchema(t, "StoredEvent", r.body)
	got := decode[struct {
		Hash   string          `json:"hash"`
		Stored time.Time       `json:"stored"`
		Event  json.RawMessage `json:"event"`
	}](t, r)
	if got.Hash != hash || got.Stored.IsZero() {
		t.Errorf("hash %s stored %v", got.Hash, got.Stored)
	}
	e := event.New(10)
	if err := e.ParseJSON(got.Event); err != nil {
		t.Fatal(err)
	}
	if e.Hash().String() != hash {
		t.Error("the event changed on its way through the API")
	}
	if e.Value("source.port") != "3389" || e.Value("source.asn") != "64500" {
		t.Errorf("event %s", got.Event)
	}
	if r := f.get("/events/"+strings.ToUpper(hash), "ana"); r.status != 200 {
		t.Errorf("upper-case hash: status %d", r.status)
	}
	wantError(t, f.get("/events/"+strings.Repeat("0", 64), "ana"), 404, "not_found", "")
	wantError(t, f.get("/events/xyz", "ana"), 400, "bad_parameter", "hash")
}

func TestEventPaging(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	seen := map[string]bool{}
	var times []string
	cursor := ""
	pages := 0
	for {
		q := url.Values{"feed": {"bulk"}, "limit": {"7"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		p := decode[pageOf](t, f.get("/events?"+q.Encode(), "ada"))
		pages++
		if len(p.Events) > 7 {
			t.Fatalf("page of %d events with limit 7", len(p.Events))
		}
		for _, e := range p.Events {
			if seen[e.Hash] {
				t.Fatalf("event %s on two pages", e.Hash)
			}
			seen[e.Hash] = true
			times = append(times, e.Event["time.source"].(string))
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != bulkEvents || pages != (bulkEvents+6)/7 {
		t.Errorf("%d events in %d pages, want %d in %d", len(seen), pages, bulkEvents, (bulkEvents+6)/7)
	}
	if !slices.IsSortedFunc(times, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Errorf("not newest first: %q", times)
	}
	t.Run("default page size", func(t *testing.T) {
		p := decode[pageOf](t, f.get("/events", "ada"))
		if len(p.Events) != defaultPageSize || p.Next == "" {
			t.Errorf("%d events, next %q", len(p.Events), p.Next)
		}
	})
}

// eventExportSteps is what the subtests of TestEventExport share.
type eventExportSteps struct {
	f       *fixture
	readCSV func(*testing.T, response) [][]string
}

func TestEventExport(t *testing.T) {
	// Pages of 4 make every export cross many store pages.
	f := newFixture(t, fixtureOptions{pageSize: 4})
	readCSV := func(t *testing.T, r response) [][]string {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := r.header.Get("Content-Disposition"); cd != `attachment; filename=vigil-events.csv` {
			t.Errorf("Content-Disposition %q", cd)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	s := &eventExportSteps{f: f, readCSV: readCSV}
	t.Run("csv default columns, whole result", s.csvDefaultColumnsWholeResult)
	t.Run("csv chosen columns and defused cells", s.csvChosenColumnsDefusedCells)
	t.Run("csv all fields", s.csvAllFields)
	t.Run("csv limit", s.csvLimit)
	t.Run("csv of nothing", s.csvOfNothing)
	t.Run("jsonl", s.jsonl)
	t.Run("jsonl from a cursor", s.jsonlFromCursor)
	t.Run("store failure before the first event", s.storeFailureBeforeFirstEvent)
	t.Run("store failure mid-way breaks the transfer", s.storeFailureMidwayBreaksTransfer)
}

// csvDefaultColumnsWholeResult is the subtest "csv default columns, whole result" of TestEventExport.
func (s *eventExportSteps) csvDefaultColumnsWholeResult(t *testing.T) {
	f := s.f
	readCSV := s.readCSV
	rows := readCSV(t, f.get("/events?format=csv&feed=bulk", "ana"))
	if len(rows) != bulkEvents+1 {
		t.Fatalf("%d rows, want %d and a header", len(rows)-1, bulkEvents)
	}
	if rows[0][0] != "time.source" || rows[0][len(rows[0])-1] != "hash" || len(rows[0]) != 16 {
		t.Errorf("header %q", rows[0])
	}
	hashes := map[string]bool{}
	for _, row := range rows[1:] {
		hashes[row[15]] = true
		if row[13] != "bulk" {
			t.Errorf("row of feed %q", row[13])
		}
	}
	if len(hashes) != bulkEvents {
		t.Errorf("%d distinct events, want %d", len(hashes), bulkEvents)
	}
}

// csvChosenColumnsDefusedCells is the subtest "csv chosen columns and defused cells" of TestEventExport.
func (s *eventExportSteps) csvChosenColumnsDefusedCells(t *testing.T) {
	f := s.f
	readCSV := s.readCSV
	rows := readCSV(t, f.get("/events?format=csv&feed=scan-rdp&columns=source.ip,comment,hash", "ana"))
	want := [][]string{
		{"source.ip", "comment", "hash"},
		{"2001:db8::5", "'=cmd|' /C calc'!A0", f.hashes["v6"]},
		{"192.0.2.10", "", f.hashes["rdp"]},
	}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("got %q, want %q", rows, want)
	}
}

// csvAllFields is the subtest "csv all fields" of TestEventExport.
func (s *eventExportSteps) csvAllFields(t *testing.T) {
	f := s.f
	readCSV := s.readCSV
	rows := readCSV(t, f.get("/events?format=csv&columns=all&cidr=192.0.2.0/24", "ana"))
	if len(rows) != 3 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, col := range []string{"destination.fqdn", "extra.label", "malware.hash.sha256", "source.port", "hash"} {
		if !slices.Contains(rows[0], col) {
			t.Errorf("header %q lacks %s", rows[0], col)
		}
	}
	if slices.Contains(rows[0], "comment") {
		t.Error("column for a field no event in the result has")
	}
}

// csvLimit is the subtest "csv limit" of TestEventExport.
func (s *eventExportSteps) csvLimit(t *testing.T) {
	f := s.f
	readCSV := s.readCSV
	if rows := readCSV(t, f.get("/events?format=csv&feed=bulk&limit=9", "ana")); len(rows) != 10 {
		t.Errorf("%d rows, want 9 and a header", len(rows)-1)
	}
}

// csvOfNothing is the subtest "csv of nothing" of TestEventExport.
func (s *eventExportSteps) csvOfNothing(t *testing.T) {
	f := s.f
	readCSV := s.readCSV
	if rows := readCSV(t, f.get("/events?format=csv&feed=nosuchfeed", "ana")); len(rows) != 1 {
		t.Errorf("%d rows, want only the header", len(rows))
	}
}

// jsonl is the subtest "jsonl" of TestEventExport.
func (s *eventExportSteps) jsonl(t *testing.T) {
	f := s.f
	r := f.get("/events?format=jsonl&fqdn=example.be", "ada")
	if r.status != 200 || r.header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("status %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
	}
	lines := strings.Split(strings.TrimSuffix(string(r.body), "\n"), "\n")
	var got []string
	for _, line := range lines {
		e := event.New(10)
		if err := e.ParseJSON([]byte(line)); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		got = append(got, e.Hash().String())
	}
	if want := []string{f.hashes["bot"], f.hashes["rdp"]}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// jsonlFromCursor is the subtest "jsonl from a cursor" of TestEventExport.
func (s *eventExportSteps) jsonlFromCursor(t *testing.T) {
	f := s.f
	p := decode[pageOf](t, f.get("/events?feed=bulk&limit=40", "ada"))
	r := f.get("/events?format=jsonl&feed=bulk&cursor="+url.QueryEscape(p.Next), "ada")
	if n := bytes.Count(r.body, []byte("\n")); n != bulkEvents-40 {
		t.Errorf("%d lines after the cursor, want %d", n, bulkEvents-40)
	}
}

// storeFailureBeforeFirstEvent is the subtest "store failure before the first event" of TestEventExport.
func (s *eventExportSteps) storeFailureBeforeFirstEvent(t *testing.T) {
	g := newFixture(t, fixtureOptions{pageSize: 4, wrap: failSearchAt(1)})
	r := g.get("/events?format=csv", "ana")
	wantError(t, r, 500, "internal", "")
	if !strings.Contains(g.log.String(), errSearchBroken.Error()) {
		t.Errorf("not logged: %s", g.log.String())
	}
}

// storeFailureMidwayBreaksTransfer is the subtest "store failure mid-way breaks the transfer" of TestEventExport.
func (s *eventExportSteps) storeFailureMidwayBreaksTransfer(t *testing.T) {
	// The tenth page fails, after more than the server's response
	// buffer went out with a 200.
	g := newFixture(t, fixtureOptions{pageSize: 4, wrap: failSearchAt(10)})
	req, _ := http.NewRequestWithContext(t.Context(), "GET", g.server.URL+"/api/v1/events?format=jsonl", nil)
	req.Header.Set("Authorization", "Bearer "+g.tokens["ana"])
	res, err := g.server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	body, err := io.ReadAll(res.Body)
	if err == nil {
		t.Fatalf("a failed export looked complete: %d bytes", len(body))
	}
	if n := bytes.Count(body, []byte("\n")); n > 36 {
		t.Errorf("%d lines from nine pages of 4", n)
	}
	if !strings.Contains(g.log.String(), errSearchBroken.Error()) {
		t.Errorf("not logged: %s", g.log.String())
	}
}

var errSearchBroken = errors.New("disk I/O error in search")

// searchFailure is the real store whose n-th SearchEvents call fails, as
// when the disk goes bad during an export.
type searchFailure struct {
	store.Store
	mu    sync.Mutex
	calls int
	n     int
}

func failSearchAt(n int) func(*database.DB) *database.DB {
	return func(db *database.DB) *database.DB {
		return db.Wrapped(&searchFailure{Store: db.Store, n: n}, db.Accounts)
	}
}

func (s *searchFailure) SearchEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	s.mu.Lock()
	s.calls++
	fail := s.calls >= s.n
	s.mu.Unlock()
	if fail {
		return store.EventPage{}, errSearchBroken
	}
	return s.Store.SearchEvents(ctx, q)
}

func TestBadParameters(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tests := []struct {
		path, parameter string
	}{
		{"/events?ip=192.0.2", "ip"},
		{"/events?ip=fe80::1%25eth0", "ip"},
		{"/events?cidr=192.0.2.1/33", "cidr"},
		{"/events?asn=0", "asn"},
		{"/events?asn=AS", "asn"},
		{"/events?fqdn=bad..name", "fqdn"},
		{"/events?fqdn=192.0.2.1", "fqdn"},
		{"/events?url=http://", "url"},
		{"/events?hash=abc", "hash"},
		{"/events?hash=" + strings.Repeat("g", 32), "hash"},
		{"/events?taxonomy=nope", "taxonomy"},
		{"/events?type=nope", "type"},
		{"/events?tlp=purple", "tlp"},
		{"/events?from=yesterday", "from"},
		{"/events?to=2024-13-01", "to"},
		{"/events?from=2024-05-02&to=2024-05-01", "to"},
		{"/events?limit=0", "limit"},
		{"/events?limit=ten", "limit"},
		{"/events?limit=10001", "limit"},
		{"/events?cursor=not-a-cursor", "cursor"},
		{"/events?format=xml", "format"},
		{"/events?format=csv&columns=source.ip,nosuch", "columns"},
		{"/events?columns=source.ip", "columns"},
		{"/events?ipaddr=192.0.2.1", "ipaddr"},
		{"/events?ip=192.0.2.1&ip=192.0.2.2", "ip"},
		{"/deadletters?limit=0", "limit"},
		{"/deadletters?limit=1001", "limit"},
		{"/deadletters?before=-1", "before"},
		{"/deadletters?include_retried=maybe", "include_retried"},
		{"/deadletters?fed=x", "fed"},
		{"/feeds?verbose=1", "verbose"},
		{"/events?=1", "(unnamed)"},
		{"/events/" + strings.Repeat("z", 64), "hash"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			wantError(t, f.get(tt.path, "ana"), 400, "bad_parameter", tt.parameter)
		})
	}
}
