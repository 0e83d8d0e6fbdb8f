package console

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/savedsearch"
)

// cellFields lists the fields of a page's first result row, in order.
var cellField = regexp.MustCompile(`<td data-field="([^"]+)"`)

func firstRowFields(body string) []string {
	rows := strings.SplitN(body, "</tr>", 3)
	if len(rows) < 2 {
		return nil
	}
	var out []string
	for _, m := range cellField.FindAllStringSubmatch(rows[1], -1) {
		out = append(out, m[1])
	}
	return out
}

// TestTableColumnsMatchSavedSearches: the console's table offers the
// columns savedsearch keeps, with the same team-only ones, in one order.
func TestTableColumnsMatchSavedSearches(t *testing.T) {
	if len(tableColumns) != len(savedsearch.TableColumns) {
		t.Fatalf("the console has %d columns, savedsearch %d", len(tableColumns), len(savedsearch.TableColumns))
	}
	for i, c := range tableColumns {
		if s := savedsearch.TableColumns[i]; s.Field != c.Field || s.Team != c.Team {
			t.Errorf("column %d: console %s (team %v), savedsearch %s (team %v)", i, c.Field, c.Team, s.Field, s.Team)
		}
	}
}

// TestSavedSearchKeepsColumns: an analyst's saved search keeps the
// columns chosen; after choosing others, opening it shows its own again,
// kept by its sort links and its save form; choosing columns on it
// leaves it for the person's choice.
func TestSavedSearchKeepsColumns(t *testing.T) {
	env, b := tableEnv(t)
	ctx := context.Background()
	b.get("/events")
	if r := b.post("/events/columns", url.Values{"col": {"feed.provider", "classification.identifier", "source.ip"}}); r.status != http.StatusSeeOther {
		t.Fatalf("choose columns: %d", r.status)
	}
	r := b.post("/events/saved", url.Values{"name": {"Identifiers"}, "back": {"type=scanner&sort=source.ip"}})
	want := "/events?sort=source.ip&type=scanner&cols=classification.identifier,source.ip,feed.provider"
	if r.status != http.StatusSeeOther || r.location != want+"&done=saved" {
		t.Fatalf("save: %d to %q", r.status, r.location)
	}
	s, err := env.store.GetSavedSearch(ctx, env.savedID(env.user("analyst").ID, "Identifiers"))
	if err != nil || strings.Join(s.Columns, " ") != "classification.identifier source.ip feed.provider" {
		t.Fatalf("kept columns %q, %v", s.Columns, err)
	}
	// Another choice of columns for the person...
	b.post("/events/columns", url.Values{"col": {"malware.name"}})
	page := b.get("/events")
	if got := firstRowFields(page.body); !slices.Equal(got, []string{"malware.name"}) {
		t.Fatalf("the person's own columns %q", got)
	}
	if got := savedLinks(page.body); !slices.Equal(got, []string{"Identifiers=" + want}) {
		t.Fatalf("saved link %q", got)
	}
	// ...and the saved search opens with its own.
	opened := b.get(want)
	if got := firstRowFields(opened.body); !slices.Equal(got, []string{"classification.identifier", "source.ip", "feed.provider"}) {
		t.Errorf("opened search's columns %q", got)
	}
	mustContain(t, opened.body, `value="classification.identifier" checked`, `value="feed.provider" checked`)
	for _, m := range headingLinks.FindAllStringSubmatch(opened.body, -1) {
		if !strings.Contains(m[1], "cols=classification.identifier,source.ip,feed.provider") {
			t.Errorf("sort link %q loses the columns", m[1])
		}
	}
	// Saved again under another name from the opened page, it keeps them.
	r = b.post("/events/saved", url.Values{"name": {"Copy"}, "back": {"sort=source.ip&type=scanner&cols=feed.provider,source.ip"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("save the opened search: %d", r.status)
	}
	if s, _ := env.store.GetSavedSearch(ctx, env.savedID(env.user("analyst").ID, "Copy")); strings.Join(s.Columns, " ") != "source.ip feed.provider" {
		t.Errorf("copy's columns %q", s.Columns)
	}
	// Choosing columns on an opened search makes them the person's own,
	// and the page shows them.
	r = b.post("/events/columns", url.Values{"col": {"feed.name"}, "back": {"type=scanner&cols=source.ip"}})
	if r.status != http.StatusSeeOther || r.location != "/events?type=scanner" {
		t.Fatalf("choose columns on an opened search: %d to %q", r.status, r.location)
	}
	// A mangled list of columns is read as far as it goes.
	if got := firstRowFields(b.get("/events?cols=bogus,source.asn,,").body); !slices.Equal(got, []string{"source.asn"}) {
		t.Errorf("mangled columns %q", got)
	}
}

// TestPortalSavedSearchColumns: a constituent's saved search keeps the
// portal's columns only: the organisation column (a withheld field) is
// left out when saved from a mangled form, left out of the link of a
// search that names it, and never shown when a link names it.
func TestPortalSavedSearchColumns(t *testing.T) {
	env := newPortalEnv(t)
	ctx := context.Background()
	ca := env.browser()
	ca.login("ca", portalPassword)
	ca.get("/portal/")
	r := ca.post("/portal/saved", url.Values{"name": {"Ours"}, "back": {"feed=feed-a&cols=extra.constituency,source.ip,raw"}})
	if r.status != http.StatusSeeOther || r.location != "/portal/?feed=feed-a&cols=source.ip&done=saved" {
		t.Fatalf("save: %d to %q", r.status, r.location)
	}
	u := env.user("ca")
	s, err := env.store.GetSavedSearch(ctx, env.savedID(u.ID, "Ours"))
	if err != nil || !slices.Equal(s.Columns, []string{"source.ip"}) {
		t.Fatalf("kept columns %q, %v", s.Columns, err)
	}
	// A search whose list names the organisation column, as a store
	// could hold it, opens without it.
	forged := savedsearch.Search{UserID: u.ID, Name: "Forged", Query: "feed=feed-both", Columns: []string{"extra.constituency", "source.ip"}}
	if err := env.store.CreateSavedSearch(ctx, &forged); err != nil {
		t.Fatal(err)
	}
	page := ca.get("/portal/")
	if got := savedLinks(page.body); !slices.Contains(got, "Forged=/portal/?feed=feed-both&cols=source.ip") {
		t.Errorf("portal's saved links %q", got)
	}
	opened := ca.get("/portal/?feed=feed-both&cols=extra.constituency,source.ip")
	if got := firstRowFields(opened.body); !slices.Equal(got, []string{"source.ip"}) {
		t.Errorf("portal's columns %q", got)
	}
	if strings.Contains(opened.body, "uni-b") || strings.Contains(opened.body, `value="extra.constituency"`) {
		t.Error("the portal shows the other organisation through a saved search's columns")
	}
}
