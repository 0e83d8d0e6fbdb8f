package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// fixture is the API over a real SQLite store in a temporary directory,
// served by an httptest server under /api/v1 as the web layer mounts it.
type fixture struct {
	t      *testing.T
	store  *database.DB
	dbPath string // the store's database file
	server *httptest.Server
	// tokens by user name: ada (admin), ana (analyst), pub (publisher),
	// dis (a disabled analyst).
	tokens map[string]string
	users  map[string]auth.User
	log    *syncBuffer
	// hashes of the sample events by their extra.label.
	hashes map[string]string
	// directory is the pipeline's constituency table, with
	// fixtureOptions.directory.
	directory *constituency.Directory

	mu      sync.Mutex
	retried [][]int64
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixtureOptions struct {
	noRetry  bool
	retryErr error
	// retryFails, when set, makes every re-run fail with this reason,
	// recorded on the letters as the pipeline does.
	retryFails string
	pageSize   int
	noVersion  bool
	// wrap, when set, stands between the API and the store.
	wrap func(*database.DB) *database.DB
	// directory gives the API a constituency directory, as `vigil serve`
	// does.
	directory bool
	// noNotifier builds the API without a notifier, as a process that
	// cannot preview templates or take a team key.
	noNotifier bool
}

func newFixture(t *testing.T, opts fixtureOptions) *fixture {
	t.Helper()
	ctx := t.Context()
	dbPath := filepath.Join(t.TempDir(), "vigil.db")
	raw, err := sqlitestore.Open(ctx, dbPath, sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	st, err := database.New(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, dbPath: dbPath, tokens: map[string]string{}, users: map[string]auth.User{}, log: &syncBuffer{}, hashes: map[string]string{}}
	for _, u := range []auth.User{
		{Name: "ada", Role: auth.RoleAdmin},
		{Name: "ana", Role: auth.RoleAnalyst},
		{Name: "pub", Role: auth.RolePublisher},
		{Name: "dis", Role: auth.RoleAnalyst, Disabled: true},
	} {
		u.Email = u.Name + "@cert.example"
		u.Language = "en"
		u.PasswordHash = "unused"
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		f.users[u.Name] = u
		f.tokens[u.Name] = f.newToken(u.ID, u.Name+"-script")
	}
	f.insertSamples()
	api := st
	if opts.wrap != nil {
		api = opts.wrap(st)
	}
	deps := Deps{
		Store:   api,
		Logger:  slog.New(slog.NewTextHandler(f.log, nil)),
		Version: "1.2.3-test",
		Feeds:   &config.FeedManager{File: []config.Feed{config.DefaultInboxFeed()}, Store: st},
	}
	if opts.noVersion {
		deps.Version = ""
	}
	if !opts.noNotifier {
		n, err := notify.New(notify.DefaultConfig(), notify.Deps{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		deps.Notifier = n
	}
	if opts.directory {
		f.directory = constituency.NewDirectory(st, constituency.DirectoryOptions{})
		deps.Directory = f.directory
	}
	if !opts.noRetry {
		deps.Retry = func(_ context.Context, ids []int64) ([]pipeline.RetryResult, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.retried = append(f.retried, ids)
			var results []pipeline.RetryResult
			if opts.retryFails != "" {
				for _, id := range ids {
					if err := st.FailDeadLetterRetry(context.Background(), id, opts.retryFails, time.Now()); err != nil {
						return results, err
					}
					results = append(results, pipeline.RetryResult{ID: id, Error: opts.retryFails})
				}
				return results, nil
			}
			if opts.retryErr != nil {
				return []pipeline.RetryResult{{ID: ids[0], OK: true}}, opts.retryErr
			}
			// All but the last become events.
			for i, id := range ids {
				res := pipeline.RetryResult{ID: id, OK: i < len(ids)-1}
				if !res.OK {
					res.Error = "still fails"
				}
				results = append(results, res)
			}
			return results, nil
		}
	}
	h := newHandler(deps)
	if opts.pageSize > 0 {
		h.exportPageSize = opts.pageSize
	}
	root := http.NewServeMux()
	root.Handle("/api/v1/", http.StripPrefix("/api/v1", h.mux()))
	f.server = httptest.NewServer(root)
	t.Cleanup(f.server.Close)
	return f
}

// newToken makes a token the way internal/auth does and stores its hash.
func (f *fixture) newToken(userID int64, name string) string {
	f.t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	token := TokenPrefix + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	sum := sha256.Sum256([]byte(token))
	if err := f.store.CreateAPIToken(f.t.Context(), &auth.APIToken{UserID: userID, Name: name, Hash: sum[:]}); err != nil {
		f.t.Fatal(err)
	}
	return token
}

// samples are events each filter should tell apart; extra.label names them.
var samples = []map[string]string{
	{"extra.label": `"rdp"`, "time.source": "2024-05-01T10:00:00Z", "classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system",
		"source.ip": "192.0.2.10", "source.port": "3389", "source.asn": "64500", "source.fqdn": "www.example.be", "feed.name": "scan-rdp", "tlp": "AMBER"},
	{"extra.label": `"bot"`, "time.source": "2024-05-02T08:00:00Z", "classification.taxonomy": "malicious-code", "classification.type": "infected-system",
		"source.ip": "203.0.113.5", "destination.ip": "192.0.2.77", "destination.asn": "64501", "destination.fqdn": "c2.example.be",
		"malware.hash.sha256": strings.Repeat("ab", 32), "feed.name": "sinkhole", "tlp": "GREEN"},
	{"extra.label": `"phish"`, "time.source": "2024-04-30T12:00:00Z", "classification.taxonomy": "fraud", "classification.type": "phishing",
		"source.url": "http://login.notexample.be/bank", "source.fqdn": "login.notexample.be", "malware.hash.md5": strings.Repeat("0f", 16),
		"feed.name": "phishtank", "tlp": "CLEAR"},
	{"extra.label": `"v6"`, "time.source": "2024-05-03T00:00:00Z", "classification.taxonomy": "other", "classification.type": "blacklist",
		"source.ip": "2001:db8::5", "source.asn": "AS64502", "feed.name": "scan-rdp", "comment": "=cmd|' /C calc'!A0"},
}

// bulkEvents is how many more events of feed "bulk" exist, for paging.
const bulkEvents = 60

func (f *fixture) insertSamples() {
	f.t.Helper()
	var events []*event.Event
	for _, m := range samples {
		e := event.New(len(m))
		for _, k := range event.SortedKeys(m) {
			if event.IsExtra(k) {
				e.SetTrusted(k, m[k])
				continue
			}
			if err := e.Set(k, m[k]); err != nil {
				f.t.Fatal(err)
			}
		}
		f.hashes[strings.Trim(m["extra.label"], `"`)] = e.Hash().String()
		events = append(events, e)
	}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range bulkEvents {
		e := event.New(6)
		e.SetTime("time.source", base.Add(time.Duration(i%15)*time.Hour)) // ties cross pages
		e.SetTrusted("classification.taxonomy", "information-gathering")
		e.SetTrusted("classification.type", "scanner")
		e.SetTrusted("source.ip", fmt.Sprintf("198.51.100.%d", i))
		e.SetTrusted("feed.name", "bulk")
		events = append(events, e)
	}
	if _, err := f.store.InsertEvents(f.t.Context(), events, nil); err != nil {
		f.t.Fatal(err)
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request as user (no Authorization header when user is "").
func (f *fixture) do(method, path, user string, body io.Reader, header ...string) response {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), method, f.server.URL+"/api/v1"+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[user])
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := f.server.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{res.StatusCode, res.Header, b}
}

func (f *fixture) get(path, user string) response { return f.do("GET", path, user, nil) }

func (f *fixture) postJSON(path, user, body string) response {
	return f.do("POST", path, user, strings.NewReader(body), "Content-Type", "application/json")
}

// wantError checks an error response: status, JSON shape, code and, when
// given, the parameter named.
func wantError(t *testing.T, r response, status int, code, parameter string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	checkSchema(t, "Error", r.body)
	var e errorBody
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %s: %v", r.body, err)
	}
	if e.Error.Code != code {
		t.Errorf("code %q, want %q (%s)", e.Error.Code, code, r.body)
	}
	if e.Error.Parameter != parameter {
		t.Errorf("parameter %q, want %q (%s)", e.Error.Parameter, parameter, r.body)
	}
	if parameter != "" && !strings.Contains(e.Error.Message, parameter) {
		t.Errorf("message %q does not name parameter %q", e.Error.Message, parameter)
	}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return v
}

// pageOf is the decoded form of an event page, with events as maps.
type pageOf struct {
	Events []struct {
		Hash   string         `json:"hash"`
		Stored time.Time      `json:"stored"`
		Event  map[string]any `json:"event"`
	} `json:"events"`
	Next string `json:"next"`
}

func (p pageOf) labels() []string {
	var out []string
	for _, e := range p.Events {
		if l, ok := e.Event["extra.label"].(string); ok {
			out = append(out, l)
		} else {
			out = append(out, "bulk")
		}
	}
	return out
}

func TestAuthentication(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	t.Run("no token", func(t *testing.T) {
		r := f.get("/events", "")
		wantError(t, r, 401, "unauthorized", "")
		if got := r.header.Get("WWW-Authenticate"); got != `Bearer realm="vigil"` {
			t.Errorf("WWW-Authenticate %q", got)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		r := f.do("GET", "/events", "", nil, "Authorization", "Bearer "+TokenPrefix+strings.Repeat("A", 52))
		wantError(t, r, 401, "invalid_token", "")
		if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q", got)
		}
	})
	t.Run("not a Vigil token", func(t *testing.T) {
		wantError(t, f.do("GET", "/me", "", nil, "Authorization", "Bearer hunter2"), 401, "invalid_token", "")
	})
	t.Run("wrong scheme", func(t *testing.T) {
		wantError(t, f.do("GET", "/me", "", nil, "Authorization", "Basic "+f.tokens["ada"]), 401, "unauthorized", "")
	})
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		r := f.do("GET", "/me", "", nil, "Authorization", "bearer "+f.tokens["ana"])
		if r.status != 200 {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("disabled user", func(t *testing.T) {
		wantError(t, f.get("/me", "dis"), 401, "invalid_token", "")
	})
	t.Run("user disabled after the token was made", func(t *testing.T) {
		ctx := t.Context()
		u := auth.User{Name: "late", Role: auth.RoleAdmin, Email: "l@x", Language: "en", PasswordHash: "x"}
		if err := f.store.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		f.tokens["late"] = f.newToken(u.ID, "t")
		if r := f.get("/me", "late"); r.status != 200 {
			t.Fatalf("status %d before disabling", r.status)
		}
		u.Disabled = true
		if err := f.store.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		wantError(t, f.get("/me", "late"), 401, "invalid_token", "")
	})
	t.Run("revoked token", func(t *testing.T) {
		ctx := t.Context()
		u := f.users["ana"]
		token := f.newToken(u.ID, "revoke-me")
		f.tokens["revoked"] = token
		if r := f.get("/me", "revoked"); r.status != 200 {
			t.Fatalf("status %d before revoking", r.status)
		}
		list, err := f.store.ListAPITokens(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range list {
			if tok.Name == "revoke-me" {
				if err := f.store.DeleteAPIToken(ctx, u.ID, tok.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		wantError(t, f.get("/me", "revoked"), 401, "invalid_token", "")
	})
	t.Run("publisher is forbidden", func(t *testing.T) {
		for _, path := range []string{"/events", "/events/" + f.hashes["rdp"], "/deadletters", "/feeds"} {
			wantError(t, f.get(path, "pub"), 403, "forbidden", "")
		}
		wantError(t, f.postJSON("/deadletters/retry", "pub", `{"ids":[1]}`), 403, "forbidden", "")
		if len(f.retried) != 0 {
			t.Error("a publisher's retry reached the pipeline")
		}
	})
	t.Run("roles allowed", func(t *testing.T) {
		for _, user := range []string{"ada", "ana"} {
			for _, path := range []string{"/events", "/deadletters", "/feeds", "/me"} {
				if r := f.get(path, user); r.status != 200 {
					t.Errorf("%s GET %s: status %d: %s", user, path, r.status, r.body)
				}
			}
		}
		if r := f.get("/me", "pub"); r.status != 200 {
			t.Errorf("publisher GET /me: status %d", r.status)
		}
	})
	t.Run("openapi.json needs no token", func(t *testing.T) {
		if r := f.get("/openapi.json", ""); r.status != 200 {
			t.Errorf("status %d", r.status)
		}
	})
	t.Run("last use recorded at most once a minute", func(t *testing.T) {
		ctx := t.Context()
		u := f.users["ada"]
		lastUsed := func() time.Time {
			list, err := f.store.ListAPITokens(ctx, u.ID)
			if err != nil || len(list) != 1 {
				t.Fatalf("tokens %v, err %v", list, err)
			}
			return list[0].LastUsed
		}
		// ada's token may have been used by earlier subtests: reset it.
		list, _ := f.store.ListAPITokens(ctx, u.ID)
		if err := f.store.TouchAPIToken(ctx, list[0].ID, time.Now().Add(-2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		before := lastUsed()
		f.get("/me", "ada")
		first := lastUsed()
		if !first.After(before) {
			t.Fatalf("last use not recorded: %v then %v", before, first)
		}
		f.get("/me", "ada")
		if second := lastUsed(); !second.Equal(first) {
			t.Errorf("last use written again within a minute: %v then %v", first, second)
		}
	})
}

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
	t.Run("csv default columns, whole result", func(t *testing.T) {
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
	})
	t.Run("csv chosen columns and defused cells", func(t *testing.T) {
		rows := readCSV(t, f.get("/events?format=csv&feed=scan-rdp&columns=source.ip,comment,hash", "ana"))
		want := [][]string{
			{"source.ip", "comment", "hash"},
			{"2001:db8::5", "'=cmd|' /C calc'!A0", f.hashes["v6"]},
			{"192.0.2.10", "", f.hashes["rdp"]},
		}
		if !slices.EqualFunc(rows, want, slices.Equal) {
			t.Errorf("got %q, want %q", rows, want)
		}
	})
	t.Run("csv all fields", func(t *testing.T) {
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
	})
	t.Run("csv limit", func(t *testing.T) {
		if rows := readCSV(t, f.get("/events?format=csv&feed=bulk&limit=9", "ana")); len(rows) != 10 {
			t.Errorf("%d rows, want 9 and a header", len(rows)-1)
		}
	})
	t.Run("csv of nothing", func(t *testing.T) {
		if rows := readCSV(t, f.get("/events?format=csv&feed=nosuchfeed", "ana")); len(rows) != 1 {
			t.Errorf("%d rows, want only the header", len(rows))
		}
	})
	t.Run("jsonl", func(t *testing.T) {
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
	})
	t.Run("jsonl from a cursor", func(t *testing.T) {
		p := decode[pageOf](t, f.get("/events?feed=bulk&limit=40", "ada"))
		r := f.get("/events?format=jsonl&feed=bulk&cursor="+url.QueryEscape(p.Next), "ada")
		if n := bytes.Count(r.body, []byte("\n")); n != bulkEvents-40 {
			t.Errorf("%d lines after the cursor, want %d", n, bulkEvents-40)
		}
	})
	t.Run("store failure before the first event", func(t *testing.T) {
		g := newFixture(t, fixtureOptions{pageSize: 4, wrap: failSearchAt(1)})
		r := g.get("/events?format=csv", "ana")
		wantError(t, r, 500, "internal", "")
		if !strings.Contains(g.log.String(), errSearchBroken.Error()) {
			t.Errorf("not logged: %s", g.log.String())
		}
	})
	t.Run("store failure mid-way breaks the transfer", func(t *testing.T) {
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
	})
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

func TestRetryBody(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tests := []struct {
		name, contentType, body string
		status                  int
		code, parameter         string
	}{
		{"form post", "application/x-www-form-urlencoded", "ids=1", 415, "unsupported_media_type", ""},
		{"no content type", "", `{"ids":[1]}`, 415, "unsupported_media_type", ""},
		{"text/plain", "text/plain", `{"ids":[1]}`, 415, "unsupported_media_type", ""},
		{"empty", "application/json", "", 400, "bad_parameter", "body"},
		{"not JSON", "application/json", "{ids:", 400, "bad_parameter", "body"},
		{"two values", "application/json", `{"ids":[1]} {"ids":[2]}`, 400, "bad_parameter", "body"},
		{"no ids", "application/json", `{"ids":[]}`, 400, "bad_parameter", "ids"},
		{"ids not numbers", "application/json", `{"ids":["1"]}`, 400, "bad_parameter", "ids"},
		{"negative id", "application/json", `{"ids":[-4]}`, 400, "bad_parameter", "ids"},
		{"unknown field", "application/json", `{"ids":[1],"force":true}`, 400, "bad_parameter", "force"},
		{"too large", "application/json", `{"ids":[` + strings.Repeat("1,", maxBodyBytes/2) + `1]}`, 413, "body_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			if tt.contentType != "" {
				header = []string{"Content-Type", tt.contentType}
			}
			wantError(t, f.do("POST", "/deadletters/retry", "ana", strings.NewReader(tt.body), header...), tt.status, tt.code, tt.parameter)
		})
	}
	if len(f.retried) != 0 {
		t.Errorf("refused requests reached the pipeline: %v", f.retried)
	}
	if entries, _ := f.store.ListAudit(t.Context(), auth.AuditQuery{}); len(entries) != 0 {
		t.Errorf("refused requests audited: %v", entries)
	}
	t.Run("charset parameter accepted", func(t *testing.T) {
		r := f.do("POST", "/deadletters/retry", "ana", strings.NewReader(`{"ids":[3]}`), "Content-Type", "application/json; charset=utf-8")
		if r.status != 200 {
			t.Errorf("status %d: %s", r.status, r.body)
		}
	})
}

func TestDeadLetters(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	var letters []store.DeadLetter
	for i := range 5 {
		letters = append(letters, store.DeadLetter{Feed: "scan-rdp", Parser: "shadowserver", Input: fmt.Appendf(nil, "line %d", i), Error: "bad ip", Time: time.Now()})
	}
	letters = append(letters, store.DeadLetter{Feed: "phishtank", Parser: "csv", Input: []byte{'o', 'k', 0xff, 0xfe}, Error: "not UTF-8", Time: time.Now()})
	if err := f.store.AddDeadLetters(ctx, letters); err != nil {
		t.Fatal(err)
	}
	type page struct {
		DeadLetters []deadLetterJSON `json:"dead_letters"`
		NextBefore  int64            `json:"next_before"`
	}
	r := f.get("/deadletters", "ana")
	checkSchema(t, "DeadLetterPage", r.body)
	all := decode[page](t, r)
	if len(all.DeadLetters) != 6 || all.NextBefore != 0 {
		t.Fatalf("%d letters, next_before %d", len(all.DeadLetters), all.NextBefore)
	}
	binary := all.DeadLetters[0]
	if binary.Feed != "phishtank" || binary.Input != "ok\uFFFD" || binary.InputBase64 != "b2v//g==" {
		t.Errorf("binary letter %+v", binary)
	}
	if all.DeadLetters[1].InputBase64 != "" || all.DeadLetters[1].Input != "line 4" {
		t.Errorf("text letter %+v", all.DeadLetters[1])
	}

	p1 := decode[page](t, f.get("/deadletters?feed=scan-rdp&limit=3", "ana"))
	if len(p1.DeadLetters) != 3 || p1.NextBefore != p1.DeadLetters[2].ID {
		t.Fatalf("first page %+v", p1)
	}
	p2 := decode[page](t, f.get(fmt.Sprintf("/deadletters?feed=scan-rdp&limit=3&before=%d", p1.NextBefore), "ana"))
	if len(p2.DeadLetters) != 2 || p2.DeadLetters[0].ID >= p1.NextBefore || p2.NextBefore != 0 {
		t.Errorf("second page %+v", p2)
	}

	if err := f.store.MarkDeadLettersRetried(ctx, []int64{p2.DeadLetters[0].ID}); err != nil {
		t.Fatal(err)
	}
	if n := len(decode[page](t, f.get("/deadletters?feed=scan-rdp", "ana")).DeadLetters); n != 4 {
		t.Errorf("%d pending letters, want 4", n)
	}
	withRetried := decode[page](t, f.get("/deadletters?feed=scan-rdp&include_retried=true", "ana"))
	if len(withRetried.DeadLetters) != 5 || !slices.ContainsFunc(withRetried.DeadLetters, func(d deadLetterJSON) bool { return d.Retried }) {
		t.Errorf("with retried: %+v", withRetried)
	}
}

func TestRetry(t *testing.T) {
	t.Run("calls the pipeline and audits", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{})
		r := f.postJSON("/deadletters/retry", "ana", `{"ids":[7,8,9]}`)
		checkSchema(t, "RetryResponse", r.body)
		if got := decode[retryResponse](t, r); got.Retried != 2 {
			t.Errorf("retried %d, want 2", got.Retried)
		}
		if len(f.retried) != 1 || !slices.Equal(f.retried[0], []int64{7, 8, 9}) {
			t.Errorf("pipeline got %v", f.retried)
		}
		entries, err := f.store.ListAudit(t.Context(), auth.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Fatalf("%d audit entries, want 1", len(entries))
		}
		e := entries[0]
		if e.UserID != f.users["ana"].ID || e.Actor != "ana" || e.Action != "deadletter.retry" ||
			e.Target != "deadletters 7,8,9" || !strings.HasPrefix(e.Detail, "2 of 3 became events") {
			t.Errorf("audit entry %+v", e)
		}
	})
	t.Run("pipeline failure is audited and hidden", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{retryErr: errors.New("jetstream: stream VIGIL not found")})
		r := f.postJSON("/deadletters/retry", "ada", `{"ids":[1,2]}`)
		wantError(t, r, 500, "internal", "")
		if bytes.Contains(r.body, []byte("jetstream")) {
			t.Errorf("internal detail in the response: %s", r.body)
		}
		if !strings.Contains(f.log.String(), "jetstream: stream VIGIL not found") {
			t.Errorf("internal detail not logged: %s", f.log.String())
		}
		entries, _ := f.store.ListAudit(t.Context(), auth.AuditQuery{})
		if len(entries) != 1 || !strings.HasPrefix(entries[0].Detail, "failed after 1 of 2") || entries[0].Actor != "ada" {
			t.Errorf("audit %+v", entries)
		}
	})
	t.Run("no pipeline", func(t *testing.T) {
		f := newFixture(t, fixtureOptions{noRetry: true})
		wantError(t, f.postJSON("/deadletters/retry", "ana", `{"ids":[1]}`), 501, "not_implemented", "")
		if entries, _ := f.store.ListAudit(t.Context(), auth.AuditQuery{}); len(entries) != 0 {
			t.Errorf("nothing happened, yet audited: %v", entries)
		}
	})
}

func TestMe(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	r := f.get("/me", "pub")
	checkSchema(t, "Me", r.body)
	me := decode[meJSON](t, r)
	if me.Name != "pub" || me.Role != "publisher" || me.Email != "pub@cert.example" || me.Token.Name != "pub-script" {
		t.Errorf("me %+v", me)
	}
	if bytes.Contains(r.body, []byte(f.tokens["pub"])) {
		t.Error("the token is echoed back")
	}
}

func TestUnknownRoutes(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	wantError(t, f.get("/nosuch", "ana"), 404, "not_found", "")
	wantError(t, f.get("/events/", "ana"), 404, "not_found", "")
	r := f.do("DELETE", "/events", "ana", nil)
	wantError(t, r, 405, "method_not_allowed", "")
	if allow := r.header.Get("Allow"); allow != "GET, HEAD" {
		t.Errorf("Allow %q", allow)
	}
	r = f.get("/deadletters/retry", "ana")
	wantError(t, r, 405, "method_not_allowed", "")
	if allow := r.header.Get("Allow"); allow != "POST" {
		t.Errorf("Allow %q", allow)
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, r := range []response{f.get("/events", "ana"), f.get("/events?format=csv", "ana"), f.get("/me", ""), f.get("/openapi.json", "")} {
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("status %d: headers %v", r.status, r.header)
		}
		if r.header.Get("Set-Cookie") != "" {
			t.Error("the API sets a cookie")
		}
	}
}

func TestInternalErrorsAreHidden(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	// Reads fail once the database is closed; the token lookup is the first.
	f.store.Close()
	r := f.get("/events", "ana")
	wantError(t, r, 500, "internal", "")
	if bytes.Contains(r.body, []byte("sql")) {
		t.Errorf("internal detail in the response: %s", r.body)
	}
	if !strings.Contains(f.log.String(), "api request failed") {
		t.Errorf("not logged: %s", f.log.String())
	}
}
