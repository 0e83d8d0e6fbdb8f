package api

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// forgetHandle deletes handle from the store's record of used handles, as
// for an organisation deleted before the store kept that record and that
// left nothing the migration could find it by.
func forgetHandle(t *testing.T, dbPath, handle string) {
	t.Helper()
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `DELETE FROM organisation_handles WHERE handle = ?`, handle); err != nil {
		t.Fatal(err)
	}
}

// TestConstituentDeletedOrganisationsEvents is issue 8's first finding:
// organisation sec-x is deleted, another sec-x is created with other
// networks and an account, and the single-event route must not give that
// account the deleted organisation's event.
func TestConstituentDeletedOrganisationsEvents(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	old := constituency.Organisation{Handle: "sec-x", Name: "Old X", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}
	if err := f.store.CreateOrganisation(ctx, &old); err != nil {
		t.Fatal(err)
	}
	u := auth.User{Name: "cx", Email: "cx@x.example", Role: auth.RoleConstituent, Language: "en", PasswordHash: "unused", OrgID: old.ID}
	if err := f.store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	f.tokens[u.Name] = f.newToken(u.ID, "cx-script")
	e := event.New(6)
	e.SetTime("time.source", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	e.SetTrusted("classification.type", "infected-system")
	e.SetTrusted("source.ip", "10.9.0.1")
	e.SetTrusted("feed.name", "old-x")
	e.SetTrusted(store.ConstituencyField, `["sec-x"]`)
	e.SetTrusted("raw", base64.StdEncoding.EncodeToString([]byte("10.9.0.1,infected")))
	if _, err := f.store.InsertEvents(ctx, []*event.Event{e}, nil); err != nil {
		t.Fatal(err)
	}
	hash := e.Hash().String()
	if r := f.get("/constituent/events/"+hash, "cx"); r.status != http.StatusOK {
		t.Fatalf("the organisation's own event: %d %s", r.status, r.body)
	}
	// The team deletes the organisation, moving its account out first.
	u.OrgID = 0
	if err := f.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteOrganisation(ctx, old.ID); err != nil {
		t.Fatal(err)
	}

	t.Run("its handle is never given again", func(t *testing.T) {
		again := constituency.Organisation{Handle: "sec-x", Name: "New X", Language: "en"}
		var retired *constituency.RetiredHandleError
		if err := f.store.CreateOrganisation(ctx, &again); !errors.As(err, &retired) {
			t.Fatalf("CreateOrganisation(sec-x) after its delete = %v; want a RetiredHandleError", err)
		}
	})

	t.Run("an organisation under the handle anyway does not see the old events", func(t *testing.T) {
		forgetHandle(t, f.dbPath, "sec-x")
		next := constituency.Organisation{Handle: "sec-x", Name: "New X", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("10.8.0.0/16")}}
		if err := f.store.CreateOrganisation(ctx, &next); err != nil {
			t.Fatalf("CreateOrganisation(sec-x) with the handle forgotten: %v", err)
		}
		u.OrgID = next.ID
		if err := f.store.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, missing := f.get("/constituent/events/"+hash, "cx"), f.get("/constituent/events/"+strings.Repeat("0", 64), "cx")
		if got.status != http.StatusNotFound || !bytes.Equal(got.body, missing.body) {
			t.Fatalf("the deleted organisation's event: %d %s; want what a missing one gets: %d %s", got.status, got.body, missing.status, missing.body)
		}
		if list := f.allPages("/constituent/events?limit=10", "cx"); len(list) != 0 {
			t.Fatalf("the new sec-x lists %q", list)
		}
	})
}

// constituentOutputs fetches every form in which the constituent API gives
// user its events and returns, for each, the field names it shows and the
// whole body.
func constituentOutputs(t *testing.T, f *fixture, user, hash string) map[string]struct {
	fields []string
	body   []byte
} {
	t.Helper()
	out := map[string]struct {
		fields []string
		body   []byte
	}{}
	get := func(path string) []byte {
		t.Helper()
		r := f.get(path, user)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s as %s: %d %s", path, user, r.status, r.body)
		}
		return r.body
	}
	keysOf := func(e *event.Event) []string {
		var keys []string
		for _, fl := range e.Fields() {
			keys = append(keys, fl.Key)
		}
		return keys
	}
	fieldsOfEvents := func(events []eventJSON) []string {
		var keys []string
		for _, e := range events {
			if e.Hash == hash {
				keys = keysOf(e.Event)
			}
		}
		return keys
	}

	body := get("/constituent/events?limit=1000&ip=10.1.1.0")
	var page eventPageJSON
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	out["JSON search"] = struct {
		fields []string
		body   []byte
	}{fieldsOfEvents(page.Events), body}

	body = get("/constituent/events/" + hash)
	var one eventJSON
	if err := json.Unmarshal(body, &one); err != nil {
		t.Fatal(err)
	}
	out["single event"] = struct {
		fields []string
		body   []byte
	}{keysOf(one.Event), body}

	body = get("/constituent/events?format=jsonl&ip=10.1.1.0")
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		for k := range m {
			lines = append(lines, k)
		}
	}
	slices.Sort(lines)
	out["JSON lines"] = struct {
		fields []string
		body   []byte
	}{slices.Compact(lines), body}

	for _, q := range []string{"format=csv&columns=all", "format=csv"} {
		body = get("/constituent/events?ip=10.1.1.0&" + q)
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %d rows, %v", q, len(rows), err)
		}
		var present []string
		for i, c := range rows[0] {
			// Only the columns the event fills: a column list names
			// fields the event may not have.
			if rows[1][i] != "" && c != "hash" {
				present = append(present, c)
			}
		}
		out["CSV "+q] = struct {
			fields []string
			body   []byte
		}{present, body}
	}
	return out
}

// TestConstituentOutputsWithholdWhatNotificationsWithhold is issue 8's
// second finding: an event of two organisations (the source in one, the
// destination in the other) is shown to each without the fields
// notifications withhold (the other's handle in extra.constituency, the
// feed's raw line), in every form the constituent API gives.
func TestConstituentOutputsWithholdWhatNotificationsWithhold(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	h := f.constituency()
	hash := h["both"][0] // 10.2.1.0 (uni-b) to 10.1.1.0 (uni-a)
	for user, other := range map[string]string{"ca": "uni-b", "cb": "uni-a"} {
		t.Run(user, func(t *testing.T) {
			outputs := constituentOutputs(t, f, user, hash)
			for name, o := range outputs {
				if len(o.fields) == 0 {
					t.Errorf("%s: the two-sided event is missing", name)
				}
				for _, w := range store.NotificationWithheld {
					if slices.Contains(o.fields, w) || bytes.Contains(o.body, []byte(`"`+w+`"`)) {
						t.Errorf("%s shows %s", name, w)
					}
				}
				if bytes.Contains(o.body, []byte(other)) {
					t.Errorf("%s names the other organisation %s", name, other)
				}
				if bytes.Contains(o.body, []byte(base64.StdEncoding.EncodeToString([]byte("line both")))) {
					t.Errorf("%s holds the raw line", name)
				}
			}
			// Every full form shows the same fields (the default CSV
			// columns are a chosen subset).
			want := slices.Sorted(slices.Values(outputs["single event"].fields))
			for _, name := range []string{"JSON search", "JSON lines", "CSV format=csv&columns=all"} {
				got := slices.Sorted(slices.Values(outputs[name].fields))
				if !slices.Equal(got, want) {
					t.Errorf("%s shows %q, the single event %q", name, got, want)
				}
			}
			for _, o := range outputs {
				for _, c := range o.fields {
					if !slices.Contains(want, c) {
						t.Errorf("a field %s that the single event does not show", c)
					}
				}
			}
		})
	}
	t.Run("a withheld field named as a column is refused", func(t *testing.T) {
		for _, c := range store.NotificationWithheld {
			wantError(t, f.get("/constituent/events?format=csv&columns=source.ip,"+c, "ca"), http.StatusBadRequest, "bad_parameter", "columns")
		}
	})
	t.Run("the team still sees everything", func(t *testing.T) {
		r := f.get("/events/"+hash, "ana")
		if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"uni-a"`)) || !bytes.Contains(r.body, []byte(`"uni-b"`)) ||
			!bytes.Contains(r.body, []byte(`"raw"`)) {
			t.Fatalf("the analysts' view of the event lost what only notifications withhold: %d %s", r.status, r.body)
		}
	})
}

// TestConstituentRoutesReadEventsThroughTheOrganisationsView guards the
// rule that makes the two tests above hold for routes added later: the
// constituent routes read events only through constituency.EventsOf, which
// decides by the index and withholds what notifications withhold. A
// constituent route that uses the store's event methods, or hands the
// store to a helper that searches (as eventResults does for the team),
// fails here.
func TestConstituentRoutesReadEventsThroughTheOrganisationsView(t *testing.T) {
	files, err := filepath.Glob("constituent*.go")
	if err != nil {
		t.Fatal(err)
	}
	// What a constituent route may ask the store itself: its account's
	// organisation and the organisation's messages, both by ID.
	allowed := []string{"GetOrganisation", "ListMessages"}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		// Every use of h.store: as the receiver of an allowed method, or
		// as the argument of constituency.EventsOf.
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "EventsOf" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "constituency" {
						return false // constituency.EventsOf(h.store, org)
					}
				}
				// The incidents' view of a constituent (issue 12) bounds
				// what it reads by the organisation as EventsOf does.
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && strings.HasPrefix(sel.Sel.Name, "Constituent") {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "incident" {
						return false // incident.ConstituentIncidents(h.store, org.ID, ...)
					}
				}
			case *ast.SelectorExpr:
				if inner, ok := n.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "store" {
					if !slices.Contains(allowed, n.Sel.Name) {
						t.Errorf("%s: a constituent route calls the store's %s; read events through constituency.EventsOf", fset.Position(n.Pos()), n.Sel.Name)
					}
					return false
				}
				if n.Sel.Name == "store" {
					t.Errorf("%s: a constituent route hands the store on; read events through constituency.EventsOf", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no constituent route files found")
	}
}
