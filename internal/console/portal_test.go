package console

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
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

// portalEnv is a console with two organisations, uni-a (10.1.0.0/16) and
// uni-b (10.2.0.0/16), a constituent login for each (ca, cb), and events
// tagged with A, with B, with both, and with nobody.
type portalEnv struct {
	*testEnv
	orgs   map[string]constituency.Organisation
	hashes map[string][]string // by tag: a, b, both, none
}

const portalPassword = "the constituent's passphrase"

func newPortalEnv(t *testing.T) *portalEnv {
	t.Helper()
	env := &portalEnv{testEnv: newEnv(t, nil), orgs: map[string]constituency.Organisation{}, hashes: map[string][]string{}}
	ctx := context.Background()
	for _, o := range []constituency.Organisation{
		{Handle: "uni-a", Name: "University A", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
			Contacts: []constituency.Contact{{Name: "A CSIRT", Email: "csirt@a.example", Role: constituency.ContactAbuse, Notify: true}}},
		{Handle: "uni-b", Name: "University B", Language: "nl", Networks: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")},
			Contacts: []constituency.Contact{{Name: "B CSIRT", Email: "csirt@b.example", Role: constituency.ContactAbuse, Notify: true}}},
	} {
		if err := env.store.CreateOrganisation(ctx, &o); err != nil {
			t.Fatal(err)
		}
		env.orgs[o.Handle] = o
		u := env.addUser("c"+strings.TrimPrefix(o.Handle, "uni-"), auth.RoleConstituent, portalPassword)
		u.OrgID = o.ID
		if err := env.store.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	env.addUser("admin", auth.RoleAdmin, "the admin's passphrase")
	env.addUser("nobody", auth.RoleConstituent, portalPassword) // no organisation

	base := time.Now().Add(-48 * time.Hour)
	var events []*event.Event
	add := func(tag, tags, ip, dst string, i int) {
		extra := []string{"malware.hash.md5", fmt.Sprintf("%032x", i)}
		if dst != "" {
			extra = append(extra, "destination.ip", dst)
		}
		if tag == "both" {
			// The feed's line, which notifications withhold, as they
			// withhold the other organisation's handle.
			extra = append(extra, "raw", base64.StdEncoding.EncodeToString([]byte("line both "+ip)))
		}
		e := makeEvent(t, "feed-"+tag, ip, base.Add(time.Duration(i)*time.Minute), extra...)
		if tags != "" {
			e.SetTrusted(store.ConstituencyField, tags)
		}
		env.hashes[tag] = append(env.hashes[tag], e.Hash().String())
		events = append(events, e)
	}
	for i := range 60 {
		add("a", `["uni-a"]`, fmt.Sprintf("10.1.0.%d", i), "", i)
		add("b", `["uni-b"]`, fmt.Sprintf("10.2.0.%d", i), "", 100+i)
		add("none", "", fmt.Sprintf("10.3.0.%d", i), "", 200+i)
	}
	for i := range 3 {
		add("both", `["uni-a","uni-b"]`, fmt.Sprintf("10.2.9.%d", i), fmt.Sprintf("10.1.9.%d", i), 300+i)
	}
	env.insert(events...)
	return env
}

var portalEventLink = regexp.MustCompile(`href="/portal/events/([0-9a-f]{64})\?`)
var portalNextLink = regexp.MustCompile(`href="(/portal/\?[^"]*cursor=[^"]*)" id="next"`)

// portalEvents follows the portal's result pages from path and returns
// every event hash listed.
func portalEvents(t *testing.T, b *browser, path string) []string {
	t.Helper()
	var hashes []string
	for path != "" {
		r := b.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %.300s", path, r.status, r.body)
		}
		for _, m := range portalEventLink.FindAllStringSubmatch(r.body, -1) {
			hashes = append(hashes, m[1])
		}
		path = ""
		if m := portalNextLink.FindStringSubmatch(r.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	return hashes
}

func TestPortalShowsOnlyTheOrganisationsEvents(t *testing.T) {
	env := newPortalEnv(t)
	for user, tag := range map[string]string{"ca": "a", "cb": "b"} {
		own := append(append([]string{}, env.hashes[tag]...), env.hashes["both"]...)
		foreign := append(append([]string{}, env.hashes[map[string]string{"a": "b", "b": "a"}[tag]]...), env.hashes["none"]...)
		t.Run(user, func(t *testing.T) {
			b := env.browser()
			b.login(user, portalPassword)
			if r := b.get("/"); r.status != http.StatusSeeOther || r.location != "/portal/" {
				t.Fatalf("home: %d to %q, want the portal", r.status, r.location)
			}
			all := portalEvents(t, b, "/portal/")
			if len(all) != len(own) {
				t.Fatalf("%d events listed, want the organisation's %d", len(all), len(own))
			}
			for _, search := range []string{"", "cidr=10.0.0.0/8", "cidr=10.2.0.0/16", "cidr=10.1.0.0/16", "ip=10.2.0.5",
				"ip=10.1.0.5", "ip=10.3.0.5", "feed=feed-none", "feed=feed-b", "hash=" + fmt.Sprintf("%032x", 105),
				"org=uni-b", "org=uni-a", "type=infected-system"} {
				for _, hash := range portalEvents(t, b, "/portal/?"+search) {
					if !contains(own, hash) {
						t.Fatalf("search %q lists a foreign event %s", search, hash)
					}
				}
			}
			for _, hash := range own[:3] {
				if r := b.get("/portal/events/" + hash); r.status != http.StatusOK {
					t.Fatalf("own event: %d", r.status)
				}
			}
			for _, hash := range foreign {
				if r := b.get("/portal/events/" + hash); r.status != http.StatusNotFound {
					t.Fatalf("foreign event %s: status %d, want 404", hash, r.status)
				}
			}
			for _, path := range []string{"/portal/events/export.csv", "/portal/events/export.jsonl",
				"/portal/events/export.csv?cidr=10.0.0.0/8", "/portal/events/export.jsonl?org=uni-b"} {
				r := b.get(path)
				if r.status != http.StatusOK {
					t.Fatalf("%s: %d", path, r.status)
				}
				for _, hash := range foreign {
					if strings.Contains(r.body, hash) {
						t.Fatalf("%s holds foreign event %s", path, hash)
					}
				}
				// Each export lists every own event; the event hash is the
				// CSV's last column and a JSON line's extra field.
				for _, ip := range []string{"10." + map[string]string{"a": "1", "b": "2"}[tag] + ".0.59"} {
					if !strings.Contains(r.body, ip) {
						t.Fatalf("%s lacks own event %s", path, ip)
					}
				}
				for _, ip := range []string{"10.3.0.1,", "10." + map[string]string{"a": "2", "b": "1"}[tag] + ".0.1\""} {
					if strings.Contains(r.body, ip) {
						t.Fatalf("%s holds foreign address %s", path, ip)
					}
				}
			}
		})
	}
}

func TestPortalRecordNotificationsAndRequests(t *testing.T) {
	env := newPortalEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	var msgs []outbox.Message
	for _, h := range []string{"uni-a", "uni-b"} {
		o := env.orgs[h]
		msgs = append(msgs, outbox.Message{OrgID: o.ID, Org: h, Kind: "digest", Sender: "cert@cert.example",
			Recipients: []string{"csirt@" + h + ".example"}, Subject: "Digest for " + o.Name, MessageID: h + ".1@cert.example",
			Body: []byte("x"), Events: 7, Status: outbox.MessageQueued, NextAttempt: now, Created: now})
	}
	if err := env.store.CommitNotifications(ctx, &notify.NotificationCommit{Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.login("ca", portalPassword)

	r := b.get("/portal/notifications")
	mustContain(t, r.body, "Digest for University A", "csirt@uni-a.example", "waiting to be sent")
	if strings.Contains(r.body, "University B") {
		t.Fatal("A's notification log shows B's message")
	}

	r = b.get("/portal/organisation")
	mustContain(t, r.body, "University A", "10.1.0.0/16", "csirt@a.example")
	if strings.Contains(r.body, "10.2.0.0/16") || strings.Contains(r.body, "csirt@b.example") {
		t.Fatal("A's record shows B's data")
	}
	if r := b.post("/portal/organisation/requests", url.Values{"text": {""}}); r.status != http.StatusBadRequest {
		t.Fatalf("empty request: %d", r.status)
	}
	r = b.post("/portal/organisation/requests", url.Values{"text": {"Please add 10.1.200.0/24, our new lab."}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("request: %d %.300s", r.status, r.body)
	}
	mustContain(t, b.get(r.location).body, "Your request has been sent to the CERT.", "our new lab")
	if !contains(env.auditActions(), "changerequest.create") {
		t.Fatal("change request not in the audit log")
	}
	reqs, err := env.store.ListChangeRequests(ctx, env.orgs["uni-a"].ID, true)
	if err != nil || len(reqs) != 1 || reqs[0].Actor != "ca" {
		t.Fatalf("stored requests %+v (%v)", reqs, err)
	}

	other := env.browser()
	other.login("cb", portalPassword)
	if strings.Contains(other.get("/portal/organisation").body, "our new lab") {
		t.Fatal("B sees A's change request")
	}
	if strings.Contains(other.get("/portal/notifications").body, "University A") {
		t.Fatal("B sees A's notifications")
	}
}

func TestPortalAccess(t *testing.T) {
	env := newPortalEnv(t)
	teamPages := []string{"/events", "/events/" + env.hashes["a"][0], "/events/export.csv", "/events/export.jsonl",
		"/deadletters", "/feeds", "/users", "/audit"}
	portalPages := []string{"/portal/", "/portal/events/" + env.hashes["a"][0], "/portal/events/export.csv",
		"/portal/events/export.jsonl", "/portal/notifications", "/portal/organisation"}

	t.Run("constituents get no team page", func(t *testing.T) {
		b := env.browser()
		b.login("ca", portalPassword)
		for _, p := range teamPages {
			if r := b.get(p); r.status != http.StatusForbidden {
				t.Errorf("GET %s: %d, want 403", p, r.status)
			}
		}
		if r := b.post("/deadletters/retry", url.Values{"id": {"1"}}); r.status != http.StatusForbidden {
			t.Errorf("POST retry: %d", r.status)
		}
		nav := b.get("/portal/").body
		for _, link := range []string{`href="/events"`, `href="/feeds"`, `href="/users"`} {
			if strings.Contains(nav, link) {
				t.Errorf("the portal's menu links %s", link)
			}
		}
		mustContain(t, nav, `href="/portal/notifications"`, `href="/portal/organisation"`)
	})
	t.Run("team members get no portal page", func(t *testing.T) {
		for _, who := range [][2]string{{"analyst", "the analyst's passphrase"}, {"admin", "the admin's passphrase"}} {
			b := env.browser()
			b.login(who[0], who[1])
			for _, p := range portalPages {
				r := b.get(p)
				if r.status != http.StatusForbidden {
					t.Errorf("%s GET %s: %d, want 403", who[0], p, r.status)
				}
			}
			mustContain(t, b.get("/portal/").body, "Team members use the console.")
		}
	})
	t.Run("a constituent without an organisation sees nothing", func(t *testing.T) {
		b := env.browser()
		b.login("nobody", portalPassword)
		for _, p := range portalPages {
			if r := b.get(p); r.status != http.StatusForbidden {
				t.Errorf("GET %s: %d, want 403", p, r.status)
			}
		}
	})
	t.Run("signed out", func(t *testing.T) {
		b := env.browser()
		for _, p := range portalPages {
			if r := b.get(p); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
				t.Errorf("GET %s: %d to %q, want the login", p, r.status, r.location)
			}
		}
	})
}
