package console

import (
	"bufio"
	"context"
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
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
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
	if _, err := db.ExecContext(context.Background(), `DELETE FROM organisation_handles WHERE handle = ?`, handle); err != nil {
		t.Fatal(err)
	}
}

// TestPortalDeletedOrganisationsEvents is issue 8's first finding in the
// portal: organisation sec-x is deleted, another sec-x is created with
// other networks and an account, and the portal's event page must not give
// that account the deleted organisation's event.
func TestPortalDeletedOrganisationsEvents(t *testing.T) {
	env := newPortalEnv(t)
	ctx := context.Background()
	old := constituency.Organisation{Handle: "sec-x", Name: "Old X", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}
	if err := env.store.CreateOrganisation(ctx, &old); err != nil {
		t.Fatal(err)
	}
	u := env.addUser("cx", auth.RoleConstituent, portalPassword)
	u.OrgID = old.ID
	if err := env.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	e := makeEvent(t, "old-x", "10.9.0.1", time.Now().Add(-time.Hour), "raw", base64.StdEncoding.EncodeToString([]byte("10.9.0.1,old")))
	e.SetTrusted(store.ConstituencyField, `["sec-x"]`)
	env.insert(e)
	hash := e.Hash().String()
	b := env.browser()
	b.login("cx", portalPassword)
	if r := b.get("/portal/events/" + hash); r.status != http.StatusOK {
		t.Fatalf("the organisation's own event: %d", r.status)
	}
	// The team deletes the organisation, moving its account out first.
	u.OrgID = 0
	if err := env.store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := env.store.DeleteOrganisation(ctx, old.ID); err != nil {
		t.Fatal(err)
	}

	t.Run("its handle is never given again", func(t *testing.T) {
		again := constituency.Organisation{Handle: "sec-x", Name: "New X", Language: "en"}
		var retired *constituency.RetiredHandleError
		if err := env.store.CreateOrganisation(ctx, &again); !errors.As(err, &retired) {
			t.Fatalf("CreateOrganisation(sec-x) after its delete = %v; want a RetiredHandleError", err)
		}
	})

	t.Run("an organisation under the handle anyway does not see the old events", func(t *testing.T) {
		forgetHandle(t, env.dbPath, "sec-x")
		next := constituency.Organisation{Handle: "sec-x", Name: "New X", Language: "en", Networks: []netip.Prefix{netip.MustParsePrefix("10.8.0.0/16")}}
		if err := env.store.CreateOrganisation(ctx, &next); err != nil {
			t.Fatalf("CreateOrganisation(sec-x) with the handle forgotten: %v", err)
		}
		u.OrgID = next.ID
		if err := env.store.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, missing := b.get("/portal/events/"+hash), b.get("/portal/events/"+strings.Repeat("0", 64))
		if got.status != http.StatusNotFound || missing.status != http.StatusNotFound || strings.Contains(got.body, "10.9.0.1") {
			t.Fatalf("the deleted organisation's event: %d, a missing one %d; want 404 for both", got.status, missing.status)
		}
		if list := portalEvents(t, b, "/portal/"); len(list) != 0 {
			t.Fatalf("the new sec-x lists %q", list)
		}
		for _, p := range []string{"/portal/events/export.csv", "/portal/events/export.jsonl"} {
			if r := b.get(p); strings.Contains(r.body, "10.9.0.1") {
				t.Fatalf("%s holds the deleted organisation's event", p)
			}
		}
	})
}

var detailField = regexp.MustCompile(`data-field="([^"]+)"`)

// TestPortalOutputsWithholdWhatNotificationsWithhold is issue 8's second
// finding in the portal: an event of two organisations (the source in one,
// the destination in the other) is shown to each without the fields
// notifications withhold (the other's handle in extra.constituency, the
// feed's raw line), on its page, in the list and in both downloads.
func TestPortalOutputsWithholdWhatNotificationsWithhold(t *testing.T) {
	env := newPortalEnv(t)
	hash := env.hashes["both"][0] // 10.2.9.0 (uni-b) to 10.1.9.0 (uni-a)
	rawLine := base64.StdEncoding.EncodeToString([]byte("line both"))
	for user, other := range map[string]string{"ca": "uni-b", "cb": "uni-a"} {
		t.Run(user, func(t *testing.T) {
			b := env.browser()
			b.login(user, portalPassword)
			outputs := map[string]string{}
			fields := map[string][]string{}

			page := b.get("/portal/events/" + hash)
			if page.status != http.StatusOK {
				t.Fatalf("event page: %d", page.status)
			}
			outputs["event page"] = page.body
			for _, m := range detailField.FindAllStringSubmatch(page.body, -1) {
				fields["event page"] = append(fields["event page"], m[1])
			}
			if strings.Contains(page.body, `id="raw"`) {
				t.Error("the event page shows the raw line")
			}
			outputs["event list"] = b.get("/portal/?ip=10.1.9.0").body

			jsonl := b.get("/portal/events/export.jsonl?ip=10.1.9.0")
			outputs["JSON lines"] = jsonl.body
			sc := bufio.NewScanner(strings.NewReader(jsonl.body))
			for sc.Scan() {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatal(err)
				}
				for k := range m {
					fields["JSON lines"] = append(fields["JSON lines"], k)
				}
			}
			csvBody := b.get("/portal/events/export.csv?ip=10.1.9.0")
			outputs["CSV"] = csvBody.body
			rows, err := csv.NewReader(strings.NewReader(csvBody.body)).ReadAll()
			if err != nil || len(rows) != 2 {
				t.Fatalf("CSV: %d rows, %v", len(rows), err)
			}
			for i, c := range rows[0] {
				if rows[1][i] != "" && c != "hash" {
					fields["CSV"] = append(fields["CSV"], c)
				}
			}

			for name, body := range outputs {
				if strings.Contains(body, other) {
					t.Errorf("%s names the other organisation %s", name, other)
				}
				if strings.Contains(body, rawLine) || strings.Contains(body, "line both") {
					t.Errorf("%s holds the raw line", name)
				}
			}
			want := slices.Sorted(slices.Values(fields["event page"]))
			if len(want) == 0 {
				t.Fatal("the event page shows no fields")
			}
			for name, fs := range fields {
				for _, w := range store.NotificationWithheld {
					if slices.Contains(fs, w) {
						t.Errorf("%s shows %s", name, w)
					}
				}
				for _, f := range fs {
					if !slices.Contains(want, f) {
						t.Errorf("%s shows %s, which the event page does not", name, f)
					}
				}
			}
			if got := slices.Sorted(slices.Values(fields["JSON lines"])); !slices.Equal(got, want) {
				t.Errorf("JSON lines show %q, the event page %q", got, want)
			}
		})
	}
	t.Run("the team still sees everything", func(t *testing.T) {
		b := env.browser()
		b.login("analyst", "the analyst's passphrase")
		r := b.get("/events/" + hash)
		if r.status != http.StatusOK || !strings.Contains(r.body, "uni-a") || !strings.Contains(r.body, "uni-b") || !strings.Contains(r.body, `id="raw"`) {
			t.Fatalf("the analysts' page of the event lost what only notifications withhold: %d", r.status)
		}
	})
}

// TestPortalReadsEventsThroughTheOrganisationsView guards the rule that
// makes the two tests above hold for pages added later: portal handlers
// read events only through constituency.EventsOf, which decides by the index and
// withholds what notifications withhold. A portal handler that uses the
// store's event methods, or hands the store to a helper that searches or
// exports (as the analysts' pages do), fails here.
func TestPortalReadsEventsThroughTheOrganisationsView(t *testing.T) {
	files, err := filepath.Glob("portal*.go")
	if err != nil {
		t.Fatal(err)
	}
	// What a portal handler may ask the store itself: the account's
	// organisation, its messages and change requests, all by ID.
	allowed := []string{"GetOrganisation", "ListMessages", "ListChangeRequests", "AddChangeRequest"}
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
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "EventsOf" {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "constituency" {
						return false // constituency.EventsOf(c.store, org)
					}
				}
				// The incidents' view of a constituent (issue 12) bounds
				// what it reads by the organisation as EventsOf does.
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && strings.HasPrefix(sel.Sel.Name, "Constituent") {
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "incident" {
						return false // incident.ConstituentIncidents(c.store, org.ID, ...)
					}
				}
			case *ast.SelectorExpr:
				if inner, ok := n.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "store" {
					if !slices.Contains(allowed, n.Sel.Name) {
						t.Errorf("%s: a portal handler calls the store's %s; read events through constituency.EventsOf", fset.Position(n.Pos()), n.Sel.Name)
					}
					return false
				}
				if n.Sel.Name == "store" {
					t.Errorf("%s: a portal handler hands the store on; read events through constituency.EventsOf", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no portal files found")
	}
}

// TestDeletedOrganisationsHandleIsRefused checks what the team sees when
// it gives a new organisation, on the form or in an import, the short name
// of a deleted one: a refusal that says why and what to do, and nothing
// stored.
func TestDeletedOrganisationsHandleIsRefused(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	old := env.createOrganisation(constituency.Organisation{Handle: "sec-x", Name: "Old X", Language: "en", Networks: prefixes("198.51.100.0/24")})
	if err := env.store.DeleteOrganisation(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	b := env.admin()
	const refusal = "The short name sec-x belonged to a deleted organisation. A short name is never given again, so that nobody comes to see that organisation's events: choose another short name."

	t.Run("the form", func(t *testing.T) {
		b.get("/constituency/new")
		r := b.post("/constituency/new", organisationValues(map[string]string{"name": "New X", "handle": "sec-x", "language": "en"}))
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d %.500s", r.status, text(r.body))
		}
		mustSay(t, r.body, refusal)
	})
	t.Run("an import", func(t *testing.T) {
		r := b.checkImport("orgs.csv", "merge", "handle,name,language\nsec-x,New X,en\n")
		token := importToken.FindStringSubmatch(r.body)
		if token == nil {
			t.Fatalf("no apply form: %d %.500s", r.status, text(r.body))
		}
		r = b.post("/constituency/import", url.Values{"action": {"apply"}, "token": {token[1]}})
		if r.status != http.StatusConflict {
			t.Fatalf("apply: %d %q %.500s", r.status, r.location, text(r.body))
		}
		mustSay(t, r.body, "sec-x "+refusal)
	})
	if _, err := env.store.GetOrganisationByHandle(ctx, "sec-x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("sec-x after the refusals: %v, want none", err)
	}
}
