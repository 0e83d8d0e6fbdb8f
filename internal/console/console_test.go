package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestMain runs the package's tests with argon2id at its least cost. They
// check who may log in and what each account may do, which does not
// depend on the cost; at the default (internal/auth's tests check it) the
// hashes of the accounts, logins and the login limiter's decoy took 40 %
// of the tests' CPU.
func TestMain(m *testing.M) {
	auth.DefaultPasswordParams = auth.PasswordParams{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	os.Exit(m.Run())
}

// testEnv is a console served over HTTP on 127.0.0.1 with a real store.
type testEnv struct {
	t       *testing.T
	store   *database.DB
	dbPath  string // the store's database file
	console *Console
	server  *httptest.Server
}

func newEnv(t *testing.T, change func(*Config)) *testEnv {
	t.Helper()
	ctx := context.Background()
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
	n, err := notify.New(notify.DefaultConfig(), notify.Deps{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, Version: "test", Notifier: n,
		Products: ProductPages{Declarations: st.Products, Publications: st.Publications}}
	if change != nil {
		change(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return &testEnv{t: t, store: st, dbPath: dbPath, console: c, server: srv}
}

func (e *testEnv) addUser(name string, role auth.Role, password string) auth.User {
	e.t.Helper()
	u, err := auth.NewUser(name, name+"@cert.example", role, password, "en")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreateUser(context.Background(), &u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// browser is an HTTP client with cookies that does not follow redirects,
// so tests see them.
type browser struct {
	env    *testEnv
	client *http.Client
	// csrf is the token of the last page that had a form.
	csrf string
}

func (e *testEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{env: e, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type response struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(req *http.Request) response {
	b.env.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.env.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfField.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return response{status: res.StatusCode, body: string(body), location: res.Header.Get("Location"), header: res.Header}
}

func (b *browser) get(path string) response {
	b.env.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.env.server.URL+path, nil)
	if err != nil {
		b.env.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form; csrf is added from the last page unless the form
// sets it (to "" to leave it out).
func (b *browser) post(path string, form url.Values) response {
	b.env.t.Helper()
	if _, set := form["csrf"]; !set {
		form.Set("csrf", b.csrf)
	} else if form.Get("csrf") == "" {
		form.Del("csrf")
	}
	req, err := http.NewRequest(http.MethodPost, b.env.server.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.env.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// login signs in through the form and fails the test unless it works.
func (b *browser) login(name, password string) {
	b.env.t.Helper()
	b.get("/login")
	r := b.post("/login", url.Values{"name": {name}, "password": {password}})
	if r.status != http.StatusSeeOther {
		b.env.t.Fatalf("login %s: status %d, body %.300s", name, r.status, r.body)
	}
	b.get("/") // picks up the session's CSRF token
}

func (e *testEnv) auditActions() []string {
	e.t.Helper()
	entries, err := e.store.ListAudit(context.Background(), auth.AuditQuery{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range entries {
		out = append(out, a.Action)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func mustContain(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Errorf("page lacks %q; page: %.400s", p, body)
		}
	}
}

// makeEvent builds an event for feed at time t from IP ip.
func makeEvent(t *testing.T, feed, ip string, at time.Time, extra ...string) *event.Event {
	t.Helper()
	e := event.New(8)
	kv := append([]string{
		"feed.name", feed, "source.ip", ip, "time.source", event.FormatTime(at),
		"classification.taxonomy", "malicious-code", "classification.type", "infected-system",
	}, extra...)
	for i := 0; i < len(kv); i += 2 {
		if err := e.Set(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *testEnv) insert(events ...*event.Event) {
	e.t.Helper()
	if _, err := e.store.InsertEvents(context.Background(), events, nil); err != nil {
		e.t.Fatal(err)
	}
}

// TestNewNeedsNotifier shows that the console refuses to start without a
// notifier, a nil *notify.Notifier included, instead of failing on the
// first template preview.
func TestNewNeedsNotifier(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var typedNil *notify.Notifier
	for name, n := range map[string]Notifier{"none": nil, "nil pointer": typedNil} {
		if _, err := New(Config{Store: database.On(st), Notifier: n}); err == nil || !strings.Contains(err.Error(), "no notifier") {
			t.Errorf("%s: New = %v, want a 'no notifier' error", name, err)
		}
	}
}
