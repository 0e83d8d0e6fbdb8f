package api

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/pgpmime"
)

// teamData is what the tests of the team routes find stored: a research
// network holding a lab's network, and the lab's messages.
type teamData struct {
	research, lab       constituency.Organisation
	failed, sent, queue int64 // message ids
	// request is an open change request of the lab.
	request int64
	// key is an armored team key, to import.
	key string
}

func (f *fixture) teamData() teamData {
	f.t.Helper()
	ctx := f.t.Context()
	d := teamData{
		research: constituency.Organisation{Handle: "research", Name: "Research Network", Language: "en",
			Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, ASNs: []uint32{64500}, Domains: []string{"example.org"}},
		lab: constituency.Organisation{Handle: "lab", Name: "Quantum Lab of the Research Network, Department of Physics", Language: "fr",
			Networks: []netip.Prefix{netip.MustParsePrefix("10.1.2.0/24")}, Domains: []string{"lab.example.org"},
			Contacts: []constituency.Contact{{Name: "Lab CERT", Email: "cert@lab.example.org", Role: constituency.ContactAbuse, Notify: true}}},
	}
	for _, o := range []*constituency.Organisation{&d.research, &d.lab} {
		if err := f.store.CreateOrganisation(ctx, o); err != nil {
			f.t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	var msgs []outbox.Message
	for i := range 3 {
		msgs = append(msgs, outbox.Message{OrgID: d.lab.ID, Org: d.lab.Handle, Kind: "digest", Sender: "cert@cert.example",
			Recipients: []string{"cert@lab.example.org"}, Subject: fmt.Sprintf("[lab] digest %d", i),
			MessageID: fmt.Sprintf("%d.lab@cert.example", i), Body: []byte("x"), Events: 1,
			Status: outbox.MessageQueued, NextAttempt: now.Add(time.Hour), Created: now})
	}
	if err := f.store.CommitNotifications(ctx, &notify.NotificationCommit{Messages: msgs}); err != nil {
		f.t.Fatal(err)
	}
	d.failed, d.sent, d.queue = msgs[0].ID, msgs[1].ID, msgs[2].ID
	req := constituency.ChangeRequest{OrgID: d.lab.ID, Actor: "lab-contact", Text: "add 10.1.3.0/24"}
	if err := f.store.AddChangeRequest(ctx, &req); err != nil {
		f.t.Fatal(err)
	}
	d.request = req.ID
	key, err := pgpmime.GenerateIdentity("Test CERT", "cert@cert.example", now)
	if err != nil {
		f.t.Fatal(err)
	}
	d.key = key
	if err := f.store.FailMessage(ctx, d.failed, 5, "550 mailbox unavailable"); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.MarkMessageSent(ctx, d.sent, now, "250 OK"); err != nil {
		f.t.Fatal(err)
	}
	return d
}

func (f *fixture) sendJSON(method, path, user, body string) response {
	return f.do(method, path, user, strings.NewReader(body), "Content-Type", "application/json")
}

// lastAudit returns the newest audit entry.
func (f *fixture) lastAudit() auth.AuditEntry {
	f.t.Helper()
	entries, err := f.store.ListAudit(f.t.Context(), auth.AuditQuery{Limit: 1})
	if err != nil || len(entries) == 0 {
		f.t.Fatalf("audit: %v, %d entries", err, len(entries))
	}
	return entries[0]
}

func TestWhoOwns(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	tests := []struct {
		query string
		want  []ownerJSON
	}{
		{"10.1.2.3", []ownerJSON{
			{d.lab.ID, "lab", d.lab.Name, false, "network", "10.1.2.0/24"},
			{d.research.ID, "research", "Research Network", false, "network", "10.0.0.0/8"},
		}},
		{"10.9.9.9", []ownerJSON{{d.research.ID, "research", "Research Network", false, "network", "10.0.0.0/8"}}},
		{"AS64500", []ownerJSON{{d.research.ID, "research", "Research Network", false, "asn", "AS64500"}}},
		{"www.lab.example.org", []ownerJSON{
			{d.lab.ID, "lab", d.lab.Name, false, "domain", "lab.example.org"},
			{d.research.ID, "research", "Research Network", false, "domain", "example.org"},
		}},
		{"203.0.113.1", []ownerJSON{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.get("/owners?q="+tt.query, "ana")
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			checkSchema(t, "Owners", r.body)
			got := decode[ownersJSON](t, r)
			if got.Query != tt.query || !slices.Equal(got.Owners, tt.want) {
				t.Errorf("got %+v\nwant %+v", got.Owners, tt.want)
			}
		})
	}
	t.Run("disabled owner", func(t *testing.T) {
		if _, err := f.store.SetOrganisationDisabled(t.Context(), d.research.ID, true); err != nil {
			t.Fatal(err)
		}
		defer f.store.SetOrganisationDisabled(t.Context(), d.research.ID, false)
		r := f.get("/owners?q=10.9.9.9", "ana")
		checkSchema(t, "Owners", r.body)
		got := decode[ownersJSON](t, r)
		want := []ownerJSON{{d.research.ID, "research", "Research Network", true, "network", "10.0.0.0/8"}}
		if !slices.Equal(got.Owners, want) {
			t.Errorf("got %+v\nwant %+v", got.Owners, want)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		wantError(t, f.get("/owners", "ana"), http.StatusBadRequest, "bad_parameter", "q")
		wantError(t, f.get("/owners?q=not+a+thing!", "ana"), http.StatusBadRequest, "bad_parameter", "q")
		wantError(t, f.get("/owners?q=10.0.0.0/33", "ana"), http.StatusBadRequest, "bad_parameter", "q")
		wantError(t, f.get("/owners?q=1.2.3.4&q=5.6.7.8", "ana"), http.StatusBadRequest, "bad_parameter", "q")
		wantError(t, f.get("/owners?q=1.2.3.4&ip=1", "ana"), http.StatusBadRequest, "bad_parameter", "ip")
	})
}

// TestTeamRoutesRefuseOthers holds every team route to the console's role
// rules: a constituent's token is refused everywhere, a publisher's
// everywhere but on the publications, an analyst's on the users' routes;
// nothing changes.
func TestTeamRoutesRefuseOthers(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	f.constituency() // the constituent tokens ca and cb
	before, err := f.store.ListAudit(t.Context(), auth.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ada := f.users["ada"].ID
	for _, rt := range routes {
		if slices.Contains(rt.roles, auth.RoleConstituent) || rt.roles == nil || strings.HasPrefix(rt.path, "/constituent/") {
			continue
		}
		path := strings.ReplaceAll(rt.path, "{hash}", f.hashes["rdp"])
		id := d.lab.ID
		switch {
		case strings.HasPrefix(path, "/users/"):
			id = ada
		case strings.HasPrefix(path, "/notifications/"):
			id = d.failed
		}
		path = strings.ReplaceAll(path, "{id}", strconv.FormatInt(id, 10))
		refused := []string{"ca"}
		// The publications' writes are the publisher's too.
		if !slices.Contains(rt.roles, auth.RolePublisher) {
			refused = append(refused, "pub")
		}
		if !slices.Contains(rt.roles, auth.RoleAnalyst) {
			refused = append(refused, "ana")
		}
		for _, user := range refused {
			t.Run(rt.method+" "+rt.path+" as "+user, func(t *testing.T) {
				r := f.sendJSON(rt.method, path, user, `{"name":"x","role":"admin","disabled":true}`)
				wantError(t, r, http.StatusForbidden, "forbidden", "")
			})
		}
	}
	after, err := f.store.ListAudit(t.Context(), auth.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("refused requests wrote %d audit entries", len(after)-len(before))
	}
	if u, _ := f.store.GetUser(t.Context(), ada); u.Disabled {
		t.Error("a refused request disabled the administrator")
	}
	if r := f.get("/organisations", "ana"); r.status != http.StatusOK {
		t.Errorf("an analyst lists organisations: %d", r.status)
	}
}

func TestNotificationsLogAndResend(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	r := f.get("/notifications?organisation="+strconv.FormatInt(d.lab.ID, 10), "ana")
	checkSchema(t, "TeamNotificationPage", r.body)
	page := decode[teamNotificationPageJSON](t, r)
	if len(page.Notifications) != 3 || page.Notifications[0].ID != d.queue || page.Notifications[0].Organisation != "lab" {
		t.Fatalf("log %s", r.body)
	}
	r = f.get("/notifications?status=failed", "ana")
	page = decode[teamNotificationPageJSON](t, r)
	if len(page.Notifications) != 1 || page.Notifications[0].LastError != "550 mailbox unavailable" || page.Notifications[0].Attempts != 5 {
		t.Fatalf("failed ones %s", r.body)
	}
	r = f.get("/notifications?limit=2", "ana")
	if page = decode[teamNotificationPageJSON](t, r); len(page.Notifications) != 2 || page.NextBefore != d.sent {
		t.Fatalf("first page %s", r.body)
	}
	r = f.get("/notifications?limit=2&before="+strconv.FormatInt(page.NextBefore, 10), "ana")
	if page = decode[teamNotificationPageJSON](t, r); len(page.Notifications) != 1 || page.Notifications[0].ID != d.failed || page.NextBefore != 0 {
		t.Fatalf("second page %s", r.body)
	}
	wantError(t, f.get("/notifications?status=lost", "ana"), http.StatusBadRequest, "bad_parameter", "status")
	wantError(t, f.get("/notifications?organisation=x", "ana"), http.StatusBadRequest, "bad_parameter", "organisation")

	t.Run("resend a failed message", func(t *testing.T) {
		r := f.postJSON("/notifications/"+strconv.FormatInt(d.failed, 10)+"/resend", "ana", "")
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		checkSchema(t, "TeamNotification", r.body)
		m, err := f.store.GetMessage(t.Context(), d.failed)
		if err != nil || m.Status != outbox.MessageQueued || time.Until(m.NextAttempt) > 0 {
			t.Fatalf("message %+v, %v: want queued and due", m, err)
		}
		if a := f.lastAudit(); a.Action != "notification.resend" || a.Actor != "ana" || !strings.Contains(a.Detail, "API token") {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("a delivered message is never sent twice", func(t *testing.T) {
		wantError(t, f.postJSON("/notifications/"+strconv.FormatInt(d.sent, 10)+"/resend", "ana", ""), http.StatusConflict, "already_sent", "")
		if m, _ := f.store.GetMessage(t.Context(), d.sent); m.Status != outbox.MessageSent {
			t.Errorf("status %s", m.Status)
		}
	})
	t.Run("a disabled organisation's message is not resent", func(t *testing.T) {
		if _, err := f.store.SetOrganisationDisabled(t.Context(), d.lab.ID, true); err != nil {
			t.Fatal(err)
		}
		defer f.store.SetOrganisationDisabled(t.Context(), d.lab.ID, false)
		before, _ := f.store.GetMessage(t.Context(), d.queue)
		r := f.do("POST", "/notifications/"+strconv.FormatInt(d.queue, 10)+"/resend", "ana", strings.NewReader(""),
			"Content-Type", "application/json", "Accept-Language", "fr")
		wantError(t, r, http.StatusConflict, "organisation_disabled", "")
		if e := errorOf(t, r); !strings.Contains(e.Error.Message, "l'organisation lab est désactivée") {
			t.Errorf("message %q, want it in French naming lab", e.Error.Message)
		}
		if m, _ := f.store.GetMessage(t.Context(), d.queue); !m.NextAttempt.Equal(before.NextAttempt) {
			t.Errorf("next attempt %v, want %v kept", m.NextAttempt, before.NextAttempt)
		}
	})
	wantError(t, f.postJSON("/notifications/999999/resend", "ana", ""), http.StatusNotFound, "not_found", "")
	wantError(t, f.postJSON("/notifications/zero/resend", "ana", ""), http.StatusBadRequest, "bad_parameter", "id")
}

func TestUsers(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	d := f.teamData()
	r := f.get("/users", "ada")
	checkSchema(t, "UserList", r.body)
	if !strings.Contains(string(r.body), `"name":"ana"`) || strings.Contains(string(r.body), "unused") {
		t.Fatalf("users %s", r.body)
	}

	r = f.postJSON("/users", "ada", `{"name":"carla","email":"carla@lab.example.org","role":"constituent","language":"fr","organisation_id":`+
		strconv.FormatInt(d.lab.ID, 10)+`,"password":"a long enough password"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	checkSchema(t, "User", r.body)
	carla := decodeCreated[userJSON](t, r)
	if carla.OrganisationID != d.lab.ID || carla.Language != "fr" || r.header.Get("Location") != "/api/v1/users/"+strconv.FormatInt(carla.ID, 10) {
		t.Fatalf("created %+v, Location %q", carla, r.header.Get("Location"))
	}
	if a := f.lastAudit(); a.Action != "user.create" || a.Target != "carla" || a.Actor != "ada" {
		t.Errorf("audit %+v", a)
	}

	for _, tt := range []struct{ name, body, code, param string }{
		{"a name with a space", `{"name":"a b","role":"analyst","password":"a long enough password"}`, "bad_parameter", "name"},
		{"a short password", `{"name":"bob","role":"analyst","password":"short"}`, "bad_parameter", "password"},
		{"an unknown role", `{"name":"bob","role":"boss","password":"a long enough password"}`, "bad_parameter", "role"},
		{"an unknown language", `{"name":"bob","role":"analyst","language":"xx","password":"a long enough password"}`, "bad_parameter", "language"},
		{"a constituent without organisation", `{"name":"bob","role":"constituent","password":"a long enough password"}`, "bad_parameter", "organisation_id"},
		{"a team member with one", `{"name":"bob","role":"analyst","organisation_id":1,"password":"a long enough password"}`, "bad_parameter", "organisation_id"},
		{"an unknown organisation", `{"name":"bob","role":"constituent","organisation_id":999999,"password":"a long enough password"}`, "bad_parameter", "organisation_id"},
		{"an unknown field", `{"name":"bob","role":"analyst","password":"a long enough password","admin":true}`, "bad_parameter", "admin"},
		{"not JSON", `{"name":`, "bad_parameter", "body"},
	} {
		t.Run("create refuses "+tt.name, func(t *testing.T) {
			wantError(t, f.postJSON("/users", "ada", tt.body), http.StatusBadRequest, tt.code, tt.param)
		})
	}
	wantError(t, f.postJSON("/users", "ada", `{"name":"ana","role":"analyst","password":"a long enough password"}`), http.StatusConflict, "name_taken", "name")

	path := "/users/" + strconv.FormatInt(f.users["ana"].ID, 10)
	t.Run("disable and enable", func(t *testing.T) {
		r := f.sendJSON("PATCH", path, "ada", `{"disabled":true,"language":"nl"}`)
		if r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		checkSchema(t, "User", r.body)
		if u, _ := f.store.GetUser(t.Context(), f.users["ana"].ID); !u.Disabled || u.Language != "nl" {
			t.Fatalf("user %+v", u)
		}
		if a := f.lastAudit(); a.Action != "user.disable" || a.Target != "ana" {
			t.Errorf("audit %+v", a)
		}
		// A disabled account's token no longer works.
		wantError(t, f.get("/me", "ana"), http.StatusUnauthorized, "invalid_token", "")
		if r := f.sendJSON("PATCH", path, "ada", `{"disabled":false}`); r.status != http.StatusOK {
			t.Fatalf("enable: %d %s", r.status, r.body)
		}
		if r := f.get("/me", "ana"); r.status != http.StatusOK {
			t.Errorf("enabled again: %d", r.status)
		}
	})
	t.Run("role", func(t *testing.T) {
		if r := f.sendJSON("PATCH", path, "ada", `{"role":"publisher"}`); r.status != http.StatusOK {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if a := f.lastAudit(); a.Action != "user.role" || a.Detail != "analyst → publisher (API token "+strconv.FormatInt(f.tokenID("ada"), 10)+")" {
			t.Errorf("audit %+v", a)
		}
		wantError(t, f.get("/organisations", "ana"), http.StatusForbidden, "forbidden", "")
		wantError(t, f.sendJSON("PATCH", path, "ada", `{"role":"constituent"}`), http.StatusBadRequest, "bad_parameter", "role")
		wantError(t, f.sendJSON("PATCH", path, "ada", `{"role":"boss"}`), http.StatusBadRequest, "bad_parameter", "role")
	})
	self := "/users/" + strconv.FormatInt(f.users["ada"].ID, 10)
	wantError(t, f.sendJSON("PATCH", self, "ada", `{"disabled":true}`), http.StatusConflict, "own_account", "")
	wantError(t, f.sendJSON("PATCH", self, "ada", `{"role":"analyst"}`), http.StatusConflict, "own_account", "")
	if r := f.sendJSON("PATCH", self, "ada", `{"language":"de"}`); r.status != http.StatusOK {
		t.Errorf("own language: %d %s", r.status, r.body)
	}
	wantError(t, f.sendJSON("PATCH", path, "ada", `{}`), http.StatusBadRequest, "bad_parameter", "body")
	wantError(t, f.sendJSON("PATCH", path, "ada", `{"disabled":"yes"}`), http.StatusBadRequest, "bad_parameter", "disabled")
	wantError(t, f.sendJSON("PATCH", "/users/999999", "ada", `{"disabled":true}`), http.StatusNotFound, "not_found", "")
	wantError(t, f.do("PATCH", path, "ada", strings.NewReader(`disabled=true`), "Content-Type", "application/x-www-form-urlencoded"),
		http.StatusUnsupportedMediaType, "unsupported_media_type", "")
	if r := f.get("/users/"+strconv.FormatInt(carla.ID, 10), "ada"); r.status != http.StatusOK || decode[userJSON](t, r).Name != "carla" {
		t.Errorf("get: %d %s", r.status, r.body)
	}
}

// tokenID is the id of user's token.
func (f *fixture) tokenID(user string) int64 {
	f.t.Helper()
	r := f.get("/me", user)
	return decode[meJSON](f.t, r).Token.ID
}

// decodeCreated decodes the body of a 201 Created.
func decodeCreated[T any](t *testing.T, r response) T {
	t.Helper()
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, want 201; body %s", r.status, r.body)
	}
	r.status = http.StatusOK
	return decode[T](t, r)
}
