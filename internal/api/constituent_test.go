package api

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/store"
)

// constituency adds two organisations (uni-a, uni-b), a constituent user of
// each (ca, cb) and tagged events to the fixture: events of A only, of B
// only, of both (A's address as destination, B's as source), and of nobody.
// It returns the hashes by label.
func (f *fixture) constituency() map[string][]string {
	f.t.Helper()
	ctx := f.t.Context()
	orgs := map[string]*constituency.Organisation{
		"a": {Handle: "uni-a", Name: "University A", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
			Contacts: []constituency.Contact{{Email: "cert@a.example", Role: constituency.ContactAbuse, Notify: true}}},
		"b": {Handle: "uni-b", Name: "University B", Language: "nl", Networks: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}},
	}
	for _, name := range []string{"a", "b"} {
		if err := f.store.CreateOrganisation(ctx, orgs[name]); err != nil {
			f.t.Fatal(err)
		}
		u := auth.User{Name: "c" + name, Email: "c" + name + "@" + name + ".example", Role: auth.RoleConstituent,
			Language: "en", PasswordHash: "unused", OrgID: orgs[name].ID}
		if err := f.store.CreateUser(ctx, &u); err != nil {
			f.t.Fatal(err)
		}
		f.users[u.Name] = u
		f.tokens[u.Name] = f.newToken(u.ID, u.Name+"-script")
	}
	// A constituent account attached to no organisation (the store refuses
	// to delete an organisation that still has users, so this is the only
	// way to be without one).
	lost := auth.User{Name: "lost", Email: "lost@x.example", Role: auth.RoleConstituent, Language: "en", PasswordHash: "unused"}
	if err := f.store.CreateUser(ctx, &lost); err != nil {
		f.t.Fatal(err)
	}
	f.tokens["lost"] = f.newToken(lost.ID, "lost-script")

	hashes := map[string][]string{}
	var events []*event.Event
	base := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	add := func(label, tags, src, dst string, i int) {
		e := event.New(8)
		e.SetTime("time.source", base.Add(time.Duration(i%7)*time.Hour)) // ties cross pages
		e.SetTrusted("classification.taxonomy", "vulnerable")
		e.SetTrusted("classification.type", "vulnerable-system")
		e.SetTrusted("source.ip", src)
		if dst != "" {
			e.SetTrusted("destination.ip", dst)
		}
		e.SetTrusted("feed.name", "scan-"+label)
		e.SetTrusted("malware.hash.md5", fmt.Sprintf("%032x", i))
		if tags != "" {
			e.SetTrusted(store.ConstituencyField, tags)
		}
		hashes[label] = append(hashes[label], e.Hash().String())
		events = append(events, e)
	}
	for i := range 30 {
		add("a", `["uni-a"]`, fmt.Sprintf("10.1.0.%d", i), "", i)
		add("b", `["uni-b"]`, fmt.Sprintf("10.2.0.%d", i), "", 100+i)
		add("none", "", fmt.Sprintf("10.3.0.%d", i), "", 200+i)
	}
	for i := range 5 {
		add("both", `["uni-a","uni-b"]`, fmt.Sprintf("10.2.1.%d", i), fmt.Sprintf("10.1.1.%d", i), 300+i)
	}
	// The feed's line of the events of both, which notifications
	// withhold, as does the other organisation's handle.
	for _, e := range events[len(events)-5:] {
		e.SetTrusted("raw", base64.StdEncoding.EncodeToString([]byte("line both "+e.Value("source.ip"))))
	}
	hashes["both"] = hashes["both"][:0]
	for _, e := range events[len(events)-5:] {
		hashes["both"] = append(hashes["both"], e.Hash().String())
	}
	if _, err := f.store.InsertEvents(ctx, events, nil); err != nil {
		f.t.Fatal(err)
	}
	return hashes
}

// pages fetches every page of a JSON search and returns the hashes.
func (f *fixture) allPages(path, user string) []string {
	f.t.Helper()
	var hashes []string
	for next := ""; ; {
		p := path
		if next != "" {
			p += "&cursor=" + url.QueryEscape(next)
		}
		r := f.get(p, user)
		if r.status != http.StatusOK {
			f.t.Fatalf("GET %s as %s: %d %s", p, user, r.status, r.body)
		}
		var page eventPageJSON
		if err := json.Unmarshal(r.body, &page); err != nil {
			f.t.Fatal(err)
		}
		for _, e := range page.Events {
			hashes = append(hashes, e.Hash)
		}
		if page.Next == "" {
			return hashes
		}
		next = page.Next
	}
}

func TestConstituentSeesOnlyItsOwnEvents(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	h := f.constituency()
	own := map[string][]string{"ca": append(slices.Clone(h["a"]), h["both"]...), "cb": append(slices.Clone(h["b"]), h["both"]...)}
	others := map[string][]string{"ca": append(slices.Clone(h["b"]), h["none"]...), "cb": append(slices.Clone(h["a"]), h["none"]...)}
	for user := range own {
		checkConstituentSearches(t, f, user, own[user])
		t.Run(user+" exports", func(t *testing.T) { checkConstituentExports(t, f, user, own[user], others[user]) })
		t.Run(user+" single events", func(t *testing.T) { checkConstituentSingleEvents(t, f, user, own[user], others[user]) })
	}

	t.Run("a cursor from another organisation's paging stays inside the caller's", func(t *testing.T) {
		var page eventPageJSON
		r := f.get("/constituent/events?limit=3", "cb")
		if err := json.Unmarshal(r.body, &page); err != nil || page.Next == "" {
			t.Fatalf("no cursor: %s", r.body)
		}
		// The cursor is a position in time order, not a permission: used
		// by A it continues A's own list from there.
		r = f.get("/constituent/events?limit=1000&cursor="+url.QueryEscape(page.Next), "ca")
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var rest eventPageJSON
		if err := json.Unmarshal(r.body, &rest); err != nil {
			t.Fatal(err)
		}
		if len(rest.Events) == 0 {
			t.Fatal("nothing after the cursor")
		}
		for _, e := range rest.Events {
			if !slices.Contains(own["ca"], e.Hash) {
				t.Fatalf("ca got foreign event %s through cb's cursor", e.Hash)
			}
		}
	})
}

// checkConstituentSearches runs one subtest per filter and page size for
// user, whose own events are own.
func checkConstituentSearches(t *testing.T, f *fixture, user string, own []string) {
	// Every filter, alone: whatever it names, the answer stays inside the
	// caller's organisation.
	searches := []string{
		"", "cidr=10.0.0.0/8", "cidr=10.2.0.0/16", "cidr=10.1.0.0/16", "ip=10.2.0.3", "ip=10.1.0.3", "ip=10.3.0.3",
		"type=vulnerable-system", "taxonomy=vulnerable", "feed=scan-b", "feed=scan-a", "feed=scan-none",
		"hash=" + fmt.Sprintf("%032x", 103), "hash=" + fmt.Sprintf("%032x", 3), "from=2024-01-01T00:00:00Z", "tlp=AMBER",
	}
	for _, limit := range []string{"limit=4", "limit=1000"} {
		for _, s := range searches {
			t.Run(user+" "+s+" "+limit, func(t *testing.T) {
				got := f.allPages("/constituent/events?"+limit+"&"+s, user)
				for _, hash := range got {
					if !slices.Contains(own, hash) {
						t.Fatalf("%s got event %s of another organisation", user, hash)
					}
				}
				if s == "" && len(got) != len(own) {
					t.Fatalf("%s got %d of its %d events", user, len(got), len(own))
				}
			})
		}
	}
}

// checkConstituentExports checks that user's CSV and JSON Lines exports
// hold exactly its own events, none of others, and no withheld field.
func checkConstituentExports(t *testing.T, f *fixture, user string, own, others []string) {
	for _, format := range []string{"csv", "jsonl"} {
		r := f.get("/constituent/events?format="+format, user)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", format, r.status, r.body)
		}
		for _, hash := range others {
			if bytes.Contains(r.body, []byte(hash)) {
				t.Fatalf("%s export of %s holds foreign event %s", format, user, hash)
			}
		}
		n := 0
		if format == "csv" {
			rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			n = len(rows) - 1
		} else {
			sc := bufio.NewScanner(bytes.NewReader(r.body))
			for sc.Scan() {
				var m map[string]any
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatal(err)
				}
				for _, w := range store.NotificationWithheld {
					if _, ok := m[w]; ok {
						t.Fatalf("exported event shows %s, which notifications withhold: %s", w, sc.Bytes())
					}
				}
				n++
			}
		}
		if n != len(own) {
			t.Fatalf("%s export of %s: %d events, want %d", format, user, n, len(own))
		}
	}
}

// checkConstituentSingleEvents checks that user opens each of its own
// events, and that another organisation's event answers like one that does
// not exist.
func checkConstituentSingleEvents(t *testing.T, f *fixture, user string, own, others []string) {
	for _, hash := range own {
		if r := f.get("/constituent/events/"+hash, user); r.status != http.StatusOK {
			t.Fatalf("own event %s: %d %s", hash, r.status, r.body)
		}
	}
	for _, hash := range others {
		wantError(t, f.get("/constituent/events/"+hash, user), http.StatusNotFound, "not_found", "")
	}
	// A foreign event answers like an event that does not exist.
	missing := strings.Repeat("0", 64)
	a, b := f.get("/constituent/events/"+missing, user), f.get("/constituent/events/"+others[0], user)
	if a.status != b.status || !bytes.Equal(a.body, b.body) {
		t.Fatalf("missing and foreign events answered differently: %s / %s", a.body, b.body)
	}
}

func TestConstituentRoutesRefuseOthers(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	h := f.constituency()
	t.Run("no parameter names an organisation", func(t *testing.T) {
		for _, p := range []string{"org=uni-b", "organisation=uni-b", "org_id=2"} {
			wantError(t, f.get("/constituent/events?"+p, "ca"), http.StatusBadRequest, "bad_parameter", strings.Split(p, "=")[0])
		}
	})
	t.Run("team routes refuse constituent tokens", func(t *testing.T) {
		for _, p := range []string{"/events", "/events/" + h["a"][0], "/deadletters", "/feeds"} {
			wantError(t, f.get(p, "ca"), http.StatusForbidden, "forbidden", "")
		}
		wantError(t, f.postJSON("/deadletters/retry", "ca", `{"ids":[1]}`), http.StatusForbidden, "forbidden", "")
	})
	t.Run("constituent routes refuse team tokens", func(t *testing.T) {
		for _, user := range []string{"ada", "ana", "pub"} {
			for _, p := range []string{"/constituent/events", "/constituent/events/" + h["a"][0], "/constituent/organisation", "/constituent/notifications"} {
				wantError(t, f.get(p, user), http.StatusForbidden, "forbidden", "")
			}
		}
	})
	t.Run("an account without an organisation gets nothing", func(t *testing.T) {
		for _, p := range []string{"/constituent/events", "/constituent/events/" + h["a"][0], "/constituent/organisation", "/constituent/notifications"} {
			wantError(t, f.get(p, "lost"), http.StatusForbidden, "no_organisation", "")
		}
	})
	t.Run("the team's search can select an organisation", func(t *testing.T) {
		got := f.allPages("/events?org=uni-b&limit=7", "ana")
		want := append(slices.Clone(h["b"]), h["both"]...)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("org=uni-b: %d events, want %d", len(got), len(want))
		}
	})
}

func TestConstituentOrganisationAndNotifications(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	h := f.constituency()
	ctx := t.Context()
	a, err := f.store.GetOrganisationByHandle(ctx, "uni-a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.store.GetOrganisationByHandle(ctx, "uni-b")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	queued, err := f.store.ListPendingNotifications(ctx, "uni-a", 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	idOf := map[event.Hash]int64{} // the events' ids in the store
	for _, p := range queued {
		idOf[p.Hash] = p.Seq
	}
	var msgs []outbox.Message
	for i := range 3 {
		for _, o := range []constituency.Organisation{a, b} {
			hash, _ := event.ParseHash(h["both"][i])
			msgs = append(msgs, outbox.Message{OrgID: o.ID, Org: o.Handle, Kind: "digest", Sender: "cert@cert.example",
				Recipients: []string{"cert@" + o.Handle + ".example"}, Subject: fmt.Sprintf("[%s] digest %d", o.Handle, i),
				MessageID: fmt.Sprintf("%d.%s@cert.example", i, o.Handle), Body: []byte("x"), Events: 1,
				EventIDs: []int64{idOf[hash]}, Status: outbox.MessageQueued, NextAttempt: now, Created: now})
		}
	}
	if err := f.store.CommitNotifications(ctx, &notify.NotificationCommit{Messages: msgs}); err != nil {
		t.Fatal(err)
	}

	r := f.get("/constituent/organisation", "ca")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.body)
	}
	checkSchema(t, "Organisation", r.body)
	var org organisationJSON
	if err := json.Unmarshal(r.body, &org); err != nil || org.Handle != "uni-a" || len(org.Contacts) != 1 || org.Networks[0].String() != "10.1.0.0/16" {
		t.Fatalf("organisation %s (%v)", r.body, err)
	}

	var seen []string
	for before := int64(0); ; {
		p := "/constituent/notifications?limit=2"
		if before != 0 {
			p += fmt.Sprintf("&before=%d", before)
		}
		r := f.get(p, "ca")
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
		checkSchema(t, "NotificationPage", r.body)
		var page notificationPageJSON
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		for _, n := range page.Notifications {
			seen = append(seen, n.Subject)
		}
		if page.NextBefore == 0 {
			break
		}
		before = page.NextBefore
	}
	if len(seen) != 3 {
		t.Fatalf("uni-a sees %d notifications, want its 3: %q", len(seen), seen)
	}
	for _, s := range seen {
		if !strings.HasPrefix(s, "[uni-a]") {
			t.Fatalf("uni-a sees %q", s)
		}
	}
	wantError(t, f.get("/constituent/notifications?limit=0", "ca"), http.StatusBadRequest, "bad_parameter", "limit")
}
