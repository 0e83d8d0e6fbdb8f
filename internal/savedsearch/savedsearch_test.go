package savedsearch

import (
	"errors"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/store"
)

func TestQuery(t *testing.T) {
	team := []string{"ip", "cidr", "asn", "fqdn", "url", "hash", "taxonomy", "type", "feed", "tlp", "org", "from", "to"}
	portal := []string{"ip", "type", "feed"}
	for _, tc := range []struct {
		name, raw string
		filters   []string
		team      bool
		want      string
		param     string // of the *QueryError expected, or "length"
	}{
		{"canonical order, empty left out", "type=scanner&ip=192.0.2.1&asn=&sort=source.ip&dir=asc&group=feed", team, true,
			"dir=asc&group=feed&ip=192.0.2.1&sort=source.ip&type=scanner", ""},
		{"the defaults left out", "sort=time&dir=desc&feed=x", team, true, "feed=x", ""},
		{"empty", "", team, true, "", ""},
		{"bad value", "ip=not-an-ip", team, true, "", "ip"},
		{"unknown parameter", "ipaddr=192.0.2.1", team, true, "", "ipaddr"},
		{"cursor is no part of a search", "cursor=abc", team, true, "", "cursor"},
		{"twice", "ip=192.0.2.1&ip=192.0.2.2", team, true, "", "ip"},
		{"bad sort", "sort=password", team, true, "", "sort"},
		{"bad dir", "dir=up", team, true, "", "dir"},
		{"bad group", "group=everything", team, true, "", "group"},
		{"times the wrong way round", "from=2025-03-02&to=2025-03-01", team, true, "", "to"},
		{"the portal has no organisation filter", "org=uni-b", portal, false, "", "org"},
		{"nor an organisation grouping", "group=org", portal, false, "", "group"},
		{"the portal's own filters", "feed=a&group=type", portal, false, "feed=a&group=type", ""},
		{"too long", "url=http://example.org/" + strings.Repeat("a", MaxQueryLength), team, true, "", "length"},
		{"not a query string", "ip=%zz", team, true, "", "query"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Query(tc.raw, tc.filters, tc.team)
			var qe *QueryError
			switch {
			case tc.param == "length":
				if !errors.Is(err, ErrQueryLength) {
					t.Fatalf("err %v, want ErrQueryLength", err)
				}
			case tc.param != "":
				if !errors.As(err, &qe) || qe.Param != tc.param {
					t.Fatalf("err %v, want one about %s", err, tc.param)
				}
			case err != nil || got != tc.want:
				t.Fatalf("Query = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestViewerRules(t *testing.T) {
	own := Search{ID: 1, UserID: 10}
	sharedByOther := Search{ID: 2, UserID: 20, Shared: true}
	privateOfOther := Search{ID: 3, UserID: 20}
	analyst := Viewer{UserID: 10, Team: true}
	admin := Viewer{UserID: 30, Team: true, Admin: true}
	constituent := Viewer{UserID: 40}
	for _, tc := range []struct {
		name                string
		v                   Viewer
		s                   Search
		see, change, delete bool
	}{
		{"own", analyst, own, true, true, true},
		{"shared by another", analyst, sharedByOther, true, false, false},
		{"another's private", analyst, privateOfOther, false, false, false},
		{"admin, shared", admin, sharedByOther, true, false, true},
		{"admin, private", admin, privateOfOther, false, false, false},
		{"constituent, shared", constituent, sharedByOther, false, false, false},
		{"constituent, private", constituent, privateOfOther, false, false, false},
	} {
		if got := tc.v.CanSee(tc.s); got != tc.see {
			t.Errorf("%s: CanSee = %v", tc.name, got)
		}
		if got := tc.v.CanChange(tc.s); got != tc.change {
			t.Errorf("%s: CanChange = %v", tc.name, got)
		}
		if got := tc.v.CanDelete(tc.s); got != tc.delete {
			t.Errorf("%s: CanDelete = %v", tc.name, got)
		}
	}
	if got := constituent.Visible([]Search{own, sharedByOther, privateOfOther, {ID: 4, UserID: 40}}); len(got) != 1 || got[0].ID != 4 {
		t.Errorf("a constituent's visible searches: %+v", got)
	}
}

func TestFind(t *testing.T) {
	list := []Search{
		{ID: 1, UserID: 10, Owner: "alice", Name: "scans"},
		{ID: 2, UserID: 20, Owner: "bob", Name: "scans", Shared: true},
		{ID: 3, UserID: 30, Owner: "carol", Name: "scans", Shared: true},
		{ID: 4, UserID: 20, Owner: "bob", Name: "phish", Shared: true},
		{ID: 5, UserID: 20, Owner: "bob", Name: "secret"},
	}
	if s, err := Find(list, Viewer{UserID: 10, Team: true}, "scans"); err != nil || s.ID != 1 {
		t.Errorf("own first: %+v, %v", s, err)
	}
	if s, err := Find(list, Viewer{UserID: 10, Team: true}, "phish"); err != nil || s.ID != 4 {
		t.Errorf("the one shared: %+v, %v", s, err)
	}
	if _, err := Find(list, Viewer{UserID: 40, Team: true}, "scans"); err == nil || !strings.Contains(err.Error(), "bob, carol") {
		t.Errorf("two shared of one name: %v", err)
	}
	if _, err := Find(list, Viewer{UserID: 10, Team: true}, "secret"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another's private one: %v", err)
	}
	if _, err := Find(list, Viewer{UserID: 50}, "phish"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a constituent finds a team search: %v", err)
	}
}

// TestColumns: a search keeps the columns its table offers, in the
// table's order; the portal's never include a team-only or withheld
// field, and a list naming one is refused when saved, left out when
// opened.
func TestColumns(t *testing.T) {
	got, err := CleanColumns([]string{"feed.name", "extra.constituency", "source.ip"}, true)
	if err != nil || strings.Join(got, ",") != "extra.constituency,source.ip,feed.name" {
		t.Errorf("the team's columns: %v, %v", got, err)
	}
	for _, tc := range []struct {
		name   string
		fields []string
		team   bool
	}{
		{"a constituent's organisation column", []string{"source.ip", "extra.constituency"}, false},
		{"the raw line, withheld", []string{"raw"}, false},
		{"the raw line is no column of the team's either", []string{"raw"}, true},
		{"unknown", []string{"password"}, true},
		{"twice", []string{"source.ip", "source.ip"}, true},
	} {
		var qe *QueryError
		if _, err := CleanColumns(tc.fields, tc.team); !errors.As(err, &qe) || qe.Param != "columns" {
			t.Errorf("%s: %v, want a refusal of columns", tc.name, err)
		}
	}
	if got := OfferedColumns([]string{"extra.constituency", "raw", "feed.name", "bogus"}, false); strings.Join(got, ",") != "feed.name" {
		t.Errorf("the portal's offered columns: %v", got)
	}
	if got, err := CleanColumns(nil, false); err != nil || got != nil {
		t.Errorf("no columns: %v, %v", got, err)
	}
	if q := ColumnsQuery([]string{"source.ip", "feed.name"}); q != "cols=source.ip,feed.name" {
		t.Errorf("ColumnsQuery = %q", q)
	}
	if got := ParseColumns(" source.ip , feed.name"); strings.Join(got, "|") != "source.ip|feed.name" || ParseColumns("") != nil {
		t.Errorf("ParseColumns = %q", got)
	}
}
