package console

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

func TestPagesPerRole(t *testing.T) {
	env := newEnv(t, func(c *Config) {
		c.Retry = func(context.Context, []int64) (int, error) { return 0, nil }
		c.FeedNames = func() []string { return []string{"configured-only"} }
	})
	ctx := context.Background()
	env.addUser("admin", auth.RoleAdmin, "the admin's passphrase")
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	env.addUser("publisher", auth.RolePublisher, "the publisher's passphrase")
	ev := makeEvent(t, "feed-a", "192.0.2.1", time.Now().Add(-time.Hour))
	env.insert(ev)
	if err := env.store.AddDeadLetters(ctx, []store.DeadLetter{{Feed: "feed-a", Parser: "csv", Input: []byte("bad,line"), Error: "column 2: not an IP", Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if err := env.store.AddFeedCounters(ctx, store.FeedKey{Feed: "feed-a"}, store.FeedCounters{LinesRead: 3, EventsOut: 1, DeadLetters: 1, Duplicates: 1}, time.Now(), time.Now().Add(-time.Hour), "line 2: bad", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	pages := []string{
		"/", "/events", "/events/" + ev.Hash().String(), "/events?cidr=192.0.2.0/24",
		"/events/export.csv", "/events/export.jsonl",
		"/deadletters", "/feeds", "/users", "/audit", "/account",
	}
	allowed := map[auth.Role]func(string) bool{
		auth.RoleAdmin:     func(string) bool { return true },
		auth.RoleAnalyst:   func(p string) bool { return p != "/users" && p != "/audit" },
		auth.RolePublisher: func(p string) bool { return p == "/" || p == "/account" },
	}
	logins := map[auth.Role][2]string{
		auth.RoleAdmin:     {"admin", "the admin's passphrase"},
		auth.RoleAnalyst:   {"analyst", "the analyst's passphrase"},
		auth.RolePublisher: {"publisher", "the publisher's passphrase"},
	}
	for role, may := range allowed {
		t.Run(string(role), func(t *testing.T) {
			b := env.browser()
			b.login(logins[role][0], logins[role][1])
			for _, p := range pages {
				r := b.get(p)
				want := http.StatusForbidden
				if may(p) {
					want = http.StatusOK
				}
				if r.status != want {
					t.Errorf("GET %s: status %d, want %d; body %.300s", p, r.status, want, r.body)
				}
			}
			home := b.get("/").body
			for link, shown := range map[string]bool{
				`href="/events"`: may("/events"),
				`href="/users"`:  may("/users"),
				`href="/audit"`:  may("/audit"),
			} {
				if strings.Contains(home, link) != shown {
					t.Errorf("navigation shows %s: %v, want %v", link, !shown, shown)
				}
			}
		})
	}
	t.Run("friendly error pages", func(t *testing.T) {
		b := env.browser()
		b.login("analyst", "the analyst's passphrase")
		r := b.get("/users")
		mustContain(t, r.body, "Your role does not give access to this page.")
		r = b.get("/events/" + strings.Repeat("ab", 32))
		if r.status != http.StatusNotFound {
			t.Errorf("unknown event: %d", r.status)
		}
		if r := b.get("/no/such/page"); r.status != http.StatusNotFound {
			t.Errorf("unknown page: %d", r.status)
		}
	})
	t.Run("feeds page", func(t *testing.T) {
		b := env.browser()
		b.login("analyst", "the analyst's passphrase")
		r := b.get("/feeds")
		mustContain(t, r.body, "feed-a", "configured-only", "line 2: bad", "1 h 00 min")
		r = b.get("/")
		mustContain(t, r.body, `<span class="n">1</span> event stored`, `<span class="n">1</span> dead letter waiting`, `<span class="n">1</span> feed reporting errors`)
	})
}

func TestEventSearch(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	env.insert(
		makeEvent(t, "feed-a", "192.0.2.1", base, "source.asn", "64496", "source.fqdn", "host.univ.example", "tlp", "GREEN"),
		makeEvent(t, "feed-a", "192.0.2.77", base.Add(time.Minute), "source.asn", "64496"),
		makeEvent(t, "feed-b", "198.51.100.5", base.Add(2*time.Minute), "source.asn", "64511",
			"classification.taxonomy", "vulnerable", "classification.type", "vulnerable-system"),
		makeEvent(t, "feed-b", "2001:db8::5", base.Add(3*time.Minute)),
	)
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	rowIPs := regexp.MustCompile(`<td data-field="source.ip" class="mono"><a href="[^"]*" class="value-link">([0-9a-f.:]+)</a></td>`)
	for name, tc := range map[string]struct {
		query string
		want  []string
	}{
		"all":       {"", []string{"2001:db8::5", "198.51.100.5", "192.0.2.77", "192.0.2.1"}},
		"ip":        {"ip=192.0.2.1", []string{"192.0.2.1"}},
		"cidr":      {"cidr=192.0.2.0/24", []string{"192.0.2.77", "192.0.2.1"}},
		"v6 cidr":   {"cidr=2001:db8::/32", []string{"2001:db8::5"}},
		"asn":       {"asn=AS64496", []string{"192.0.2.77", "192.0.2.1"}},
		"fqdn":      {"fqdn=univ.example", []string{"192.0.2.1"}},
		"feed":      {"feed=feed-b", []string{"2001:db8::5", "198.51.100.5"}},
		"taxonomy":  {"taxonomy=vulnerable", []string{"198.51.100.5"}},
		"type":      {"type=infected-system&feed=feed-b", []string{"2001:db8::5"}},
		"tlp":       {"tlp=green", []string{"192.0.2.1"}},
		"time":      {"from=2025-03-01T12:01&to=2025-03-01T12:03", []string{"198.51.100.5", "192.0.2.77"}},
		"no result": {"ip=203.0.113.9", nil},
	} {
		t.Run(name, func(t *testing.T) {
			r := b.get("/events?" + tc.query)
			if r.status != http.StatusOK {
				t.Fatalf("status %d body %.300s", r.status, r.body)
			}
			var got []string
			for _, m := range rowIPs.FindAllStringSubmatch(r.body, -1) {
				got = append(got, m[1])
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("rows %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("bad input shows the form again", func(t *testing.T) {
		for query, message := range map[string]string{
			"cidr=192.0.2.0/33":    "Not a network in CIDR notation",
			"ip=300.1.1.1":         "Not an IP address",
			"asn=ASxyz":            "Not an AS number",
			"hash=1234":            "Not an MD5, SHA-1 or SHA-256 hash",
			"from=yesterday":       "Not a date and time",
			"taxonomy=nonsense":    "Unknown taxonomy",
			"cursor=garbage%21%21": "This page link is no longer valid",
		} {
			r := b.get("/events?" + query)
			if r.status != http.StatusBadRequest {
				t.Errorf("%s: status %d", query, r.status)
			}
			mustContain(t, r.body, message, `<form method="get" action="/events"`)
		}
		r := b.get("/events?cidr=" + url.QueryEscape("<b>bold</b>"))
		mustContain(t, r.body, `value="&lt;b&gt;bold&lt;/b&gt;"`)
	})
}

func TestEventPagingAndExport(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var events []*event.Event
	for i := range 120 {
		events = append(events, makeEvent(t, "feed-a", fmt.Sprintf("10.0.%d.%d", i/200, i%200+1), base.Add(time.Duration(i)*time.Minute)))
	}
	events = append(events, makeEvent(t, "feed-other", "172.16.0.1", base, "classification.identifier", "=cmd|calc"))
	env.insert(events...)
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")

	links := regexp.MustCompile(`href="(/events/[0-9a-f]{64})\?`)
	next := regexp.MustCompile(`<a href="([^"]+)" id="next">`)
	seen := map[string]bool{}
	pageSizes := []int{}
	path := "/events?feed=feed-a"
	for path != "" {
		r := b.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.status)
		}
		found := links.FindAllStringSubmatch(r.body, -1)
		pageSizes = append(pageSizes, len(found))
		for _, m := range found {
			if seen[m[1]] {
				t.Fatalf("event %s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := next.FindStringSubmatch(r.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if !slices.Equal(pageSizes, []int{50, 50, 20}) || len(seen) != 120 {
		t.Fatalf("pages %v, %d distinct events", pageSizes, len(seen))
	}

	t.Run("csv", func(t *testing.T) {
		r := b.get("/events/export.csv?feed=feed-a")
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("status %d headers %v", r.status, r.header)
		}
		records, err := csv.NewReader(strings.NewReader(r.body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(records) != 121 || records[0][0] != "time.source" {
			t.Fatalf("%d records, header %v", len(records), records[0])
		}
		r = b.get("/events/export.csv?feed=feed-other")
		if !strings.Contains(r.body, "'=cmd|calc") {
			t.Errorf("formula-looking cell not defused: %q", r.body)
		}
	})
	t.Run("jsonl", func(t *testing.T) {
		r := b.get("/events/export.jsonl?cidr=10.0.0.0/8")
		sc := bufio.NewScanner(strings.NewReader(r.body))
		n := 0
		for sc.Scan() {
			var e event.Event
			if err := e.ParseJSON(sc.Bytes()); err != nil {
				t.Fatalf("line %d: %v", n+1, err)
			}
			if e.Value("feed.name") != "feed-a" {
				t.Fatalf("line %d from feed %q", n+1, e.Value("feed.name"))
			}
			n++
		}
		if n != 120 {
			t.Fatalf("%d lines, want 120", n)
		}
	})
	t.Run("bad query", func(t *testing.T) {
		if r := b.get("/events/export.csv?cidr=nonsense"); r.status != http.StatusBadRequest {
			t.Fatalf("status %d", r.status)
		}
	})
}

func TestEventDetailRawBinary(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	ev := makeEvent(t, "feed-a", "192.0.2.1", time.Now())
	ev.SetRaw([]byte{0x00, 0xff, 0xfe, '<', 'b', '>'})
	ev.SetExtra("note", `<img src=x onerror=alert(1)>`)
	env.insert(ev)
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	r := b.get("/events/" + ev.Hash().String() + "?back=" + url.QueryEscape("ip=192.0.2.1&evil=1"))
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	mustContain(t, r.body, "00 ff fe 3c 62 3e", "&lt;img src=x onerror=alert(1)&gt;", `href="/events?ip=192.0.2.1" id="back"`)
	if strings.Contains(r.body, "<img src=x") {
		t.Fatal("extra field rendered as markup")
	}
}

func TestDeadLetterRetry(t *testing.T) {
	var mu sync.Mutex
	var retried []int64
	env := newEnv(t, func(c *Config) {
		c.Retry = func(_ context.Context, ids []int64) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			retried = append(retried, ids...)
			return len(ids), nil
		}
	})
	ctx := context.Background()
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	if err := env.store.AddDeadLetters(ctx, []store.DeadLetter{
		{Feed: "feed-a", Input: []byte("one"), Error: "bad one", Time: time.Now()},
		{Feed: "feed-a", Input: []byte("two\x00\x01"), Error: "bad two", Time: time.Now()},
		{Feed: "feed-b", Input: []byte("three"), Error: "bad three", Time: time.Now()},
	}); err != nil {
		t.Fatal(err)
	}
	letters, err := env.store.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "feed-a"})
	if err != nil || len(letters) != 2 {
		t.Fatalf("%d letters, %v", len(letters), err)
	}
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	r := b.get("/deadletters?feed=feed-a")
	mustContain(t, r.body, "bad one", "bad two", `&#34;two\x00\x01&#34;`, `id="retry"`)
	if strings.Contains(r.body, "bad three") {
		t.Error("feed filter ignored")
	}
	ids := url.Values{"id": {fmt.Sprint(letters[0].ID), fmt.Sprint(letters[1].ID)}, "feed": {"feed-a"}}
	r = b.post("/deadletters/retry", ids)
	if r.status != http.StatusSeeOther || r.location != "/deadletters?feed=feed-a&done=retry" {
		t.Fatalf("status %d location %q", r.status, r.location)
	}
	mu.Lock()
	got := slices.Clone(retried)
	mu.Unlock()
	slices.Sort(got)
	want := []int64{letters[0].ID, letters[1].ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("retried %v, want %v", got, want)
	}
	if !contains(env.auditActions(), "deadletter.retry") {
		t.Error("retry not audited")
	}
	if r := b.post("/deadletters/retry", url.Values{}); r.status != http.StatusBadRequest {
		t.Errorf("empty selection: %d", r.status)
	}

	t.Run("no retry configured", func(t *testing.T) {
		env := newEnv(t, nil)
		env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
		if err := env.store.AddDeadLetters(ctx, []store.DeadLetter{{Feed: "f", Input: []byte("x"), Error: "e", Time: time.Now()}}); err != nil {
			t.Fatal(err)
		}
		b := env.browser()
		b.login("analyst", "the analyst's passphrase")
		r := b.get("/deadletters")
		if strings.Contains(r.body, `id="retry"`) || strings.Contains(r.body, `id="edit-form"`) {
			t.Error("re-run offered without Retry")
		}
		// Discarding needs no pipeline.
		mustContain(t, r.body, `type="checkbox"`, `id="discard"`)
		if r := b.post("/deadletters/retry", url.Values{"id": {"1"}}); r.status != http.StatusNotFound {
			t.Errorf("retry post: %d", r.status)
		}
	})
}

func TestAccount(t *testing.T) {
	env := newEnv(t, nil)
	ctx := context.Background()
	u := env.addUser("frank", auth.RoleAnalyst, "frank's long passphrase")
	b := env.browser()
	b.login("frank", "frank's long passphrase")

	t.Run("api token shown once", func(t *testing.T) {
		r := b.post("/account/tokens", url.Values{"name": {"splunk"}})
		m := regexp.MustCompile(`<code id="new-token">(vgl_[a-z2-7]{52})</code>`).FindStringSubmatch(r.body)
		if r.status != http.StatusOK || m == nil {
			t.Fatalf("status %d body %.500s", r.status, r.body)
		}
		tok, err := env.store.GetAPITokenByHash(ctx, auth.HashAPIToken(m[1]))
		if err != nil || tok.UserID != u.ID || tok.Name != "splunk" {
			t.Fatalf("stored token %+v err %v", tok, err)
		}
		r = b.get("/account")
		if strings.Contains(r.body, m[1]) || !strings.Contains(r.body, "splunk") {
			t.Fatal("token shown again, or not listed")
		}
		if r := b.post(fmt.Sprintf("/account/tokens/%d/delete", tok.ID), url.Values{}); r.status != http.StatusSeeOther {
			t.Fatalf("delete: %d", r.status)
		}
		if _, err := env.store.GetAPITokenByHash(ctx, auth.HashAPIToken(m[1])); err == nil {
			t.Fatal("token still there")
		}
	})
	t.Run("totp enrolment", func(t *testing.T) {
		r := b.post("/account/totp", url.Values{})
		m := regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(r.body)
		if m == nil || !strings.Contains(r.body, `src="data:image/png;base64,`) {
			t.Fatalf("enrolment page: %.500s", r.body)
		}
		if r := b.post("/account/totp/confirm", url.Values{"secret": {m[1]}, "code": {"000000"}}); r.status != http.StatusBadRequest {
			t.Fatalf("wrong code: %d", r.status)
		}
		code, _ := auth.TOTPCode(m[1], time.Now())
		r = b.post("/account/totp/confirm", url.Values{"secret": {m[1]}, "code": {code}, "password": {"frank's long passphrase"}})
		if r.status != http.StatusOK || !strings.Contains(r.body, `id="recovery-codes"`) {
			t.Fatalf("confirm: %d %.500s", r.status, r.body)
		}
		got, _ := env.store.GetUser(ctx, u.ID)
		if got.TOTPSecret != m[1] {
			t.Fatal("secret not stored")
		}
		b.get("/account")
		// The confirming code is used up; the next step's code is current.
		code, _ = auth.TOTPCode(m[1], time.Now().Add(30*time.Second))
		if r := b.post("/account/totp/disable", url.Values{"code": {code}, "current_code": {code}, "password": {"frank's long passphrase"}}); r.status != http.StatusSeeOther {
			t.Fatalf("disable: %d", r.status)
		}
		if got, _ := env.store.GetUser(ctx, u.ID); got.TOTPSecret != "" {
			t.Fatal("secret not removed")
		}
	})
	t.Run("language", func(t *testing.T) {
		b.get("/account")
		if r := b.post("/account/language", url.Values{"language": {"nl"}}); r.status != http.StatusSeeOther {
			t.Fatalf("status %d", r.status)
		}
		r := b.get("/account?done=language")
		mustContain(t, r.body, `<html lang="nl">`, "Gebeurtenissen", "Uw taal is opgeslagen.")
		if r := b.post("/account/language", url.Values{"language": {"xx"}}); r.status != http.StatusBadRequest {
			t.Fatalf("unknown language: %d", r.status)
		}
		b.post("/account/language", url.Values{"language": {"en"}})
	})
	t.Run("password", func(t *testing.T) {
		other := env.browser()
		other.login("frank", "frank's long passphrase")
		b.get("/account")
		if r := b.post("/account/password", url.Values{"current": {"wrong"}, "password": {"a brand new passphrase"}, "password2": {"a brand new passphrase"}}); r.status != http.StatusBadRequest {
			t.Fatalf("wrong current: %d", r.status)
		}
		if r := b.post("/account/password", url.Values{"current": {"frank's long passphrase"}, "password": {"short"}, "password2": {"short"}}); r.status != http.StatusBadRequest {
			t.Fatalf("short: %d", r.status)
		}
		r := b.post("/account/password", url.Values{"current": {"frank's long passphrase"}, "password": {"a brand new passphrase"}, "password2": {"a brand new passphrase"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("change: %d %.300s", r.status, r.body)
		}
		if r := b.get("/account"); r.status != http.StatusOK {
			t.Fatalf("this browser lost its session: %d", r.status)
		}
		if r := other.get("/account"); r.status != http.StatusSeeOther {
			t.Fatalf("other session survived the password change: %d", r.status)
		}
		env.browser().login("frank", "a brand new passphrase")
	})
	for _, want := range []string{"token.create", "token.delete", "user.totp.enable", "user.totp.disable", "user.language", "user.password"} {
		if !contains(env.auditActions(), want) {
			t.Errorf("audit lacks %s", want)
		}
	}
}

func TestUserAdministration(t *testing.T) {
	env := newEnv(t, nil)
	ctx := context.Background()
	admin := env.addUser("admin", auth.RoleAdmin, "the admin's passphrase")
	b := env.browser()
	b.login("admin", "the admin's passphrase")
	b.get("/users")
	r := b.post("/users", url.Values{"name": {"grace"}, "email": {"grace@cert.example"}, "role": {"analyst"}, "language": {"fr"}, "password": {"grace's first passphrase"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %.300s", r.status, r.body)
	}
	for name, form := range map[string]url.Values{
		"taken":      {"name": {"grace"}, "role": {"analyst"}, "password": {"another long passphrase"}},
		"bad role":   {"name": {"henry"}, "role": {"root"}, "password": {"another long passphrase"}},
		"short":      {"name": {"henry"}, "role": {"analyst"}, "password": {"short"}},
		"space name": {"name": {"hen ry"}, "role": {"analyst"}, "password": {"another long passphrase"}},
	} {
		if r := b.post("/users", form); r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d", name, r.status)
		}
	}
	grace, err := env.store.GetUserByName(ctx, "grace")
	if err != nil || grace.Role != auth.RoleAnalyst || grace.Language != "fr" {
		t.Fatalf("%+v %v", grace, err)
	}
	gb := env.browser()
	gb.login("grace", "grace's first passphrase")
	mustContain(t, gb.get("/").body, "Événements")

	change := func(id int64, form url.Values) response {
		t.Helper()
		b.get("/users")
		return b.post(fmt.Sprintf("/users/%d", id), form)
	}
	if r := change(grace.ID, url.Values{"action": {"disable"}}); r.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", r.status)
	}
	if r := gb.get("/"); r.status != http.StatusSeeOther {
		t.Fatal("disabled user kept her session")
	}
	gb.get("/login")
	if r := gb.post("/login", url.Values{"name": {"grace"}, "password": {"grace's first passphrase"}}); r.status != http.StatusUnauthorized {
		t.Fatalf("disabled user logged in: %d", r.status)
	}
	change(grace.ID, url.Values{"action": {"enable"}})
	change(grace.ID, url.Values{"action": {"password"}, "password": {"grace's reset passphrase"}})
	change(grace.ID, url.Values{"action": {"role"}, "role": {"publisher"}})
	env.browser().login("grace", "grace's reset passphrase")
	if g, _ := env.store.GetUser(ctx, grace.ID); g.Role != auth.RolePublisher || g.Disabled {
		t.Fatalf("after changes: %+v", g)
	}
	if r := change(admin.ID, url.Values{"action": {"disable"}}); r.status != http.StatusBadRequest {
		t.Fatalf("admin disabled themself: %d", r.status)
	}
	r = b.get("/audit")
	mustContain(t, r.body, "user.create", "user.disable", "user.enable", "user.password", "user.role")
}
