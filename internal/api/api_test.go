package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/syncbuf"
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
	log    *syncbuf.Buffer
	// hashes of the sample events by their extra.label.
	hashes map[string]string
	// directory is the pipeline's constituency table, with
	// fixtureOptions.directory.
	directory *constituency.Directory

	mu      sync.Mutex
	retried [][]int64
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
	// noProducts builds the API without the declared products' store.
	noProducts bool
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
	f := &fixture{t: t, store: st, dbPath: dbPath, tokens: map[string]string{}, users: map[string]auth.User{}, log: &syncbuf.Buffer{}, hashes: map[string]string{}}
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
		// The sender of the mails written from incidents.
		MailFrom: "Example CERT <cert@example.org>",
		// The publications' workflow over the test's database.
		Publications: &publication.Service{Store: st.Publications, Audit: st},
		// The organisations' declared products.
		Products: st.Products,
	}
	if opts.noVersion {
		deps.Version = ""
	}
	if opts.noProducts {
		deps.Products = nil
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
					if err := st.FailDeadLetterRetry(context.Background(), id, opts.retryFails, i18n.Message{}, time.Now()); err != nil {
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
	checkTokensRefused(t, f)
	checkWithdrawnTokens(t, f)
	checkRoleAccess(t, f)
	t.Run("last use recorded at most once a minute", func(t *testing.T) { checkLastUse(t, f) })
}

// checkTokensRefused runs the authentication subtests of requests whose
// credentials are missing, unknown or not a bearer token.
func checkTokensRefused(t *testing.T, f *fixture) {
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
}

// checkWithdrawnTokens runs the authentication subtests of tokens whose
// user was disabled or which were revoked.
func checkWithdrawnTokens(t *testing.T, f *fixture) {
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
}

// checkRoleAccess runs the authentication subtests of what each role may
// reach, and of the one document that needs no token.
func checkRoleAccess(t *testing.T, f *fixture) {
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
}

// checkLastUse checks that a token's last use is recorded, and written at
// most once a minute.
func checkLastUse(t *testing.T, f *fixture) {
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
