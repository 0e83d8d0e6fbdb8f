package console

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

var (
	sourceIPCell = regexp.MustCompile(`<td data-field="source.ip" class="mono"><a href="([^"]*)" class="value-link">([0-9a-f.:]+)</a></td>`)
	groupLine    = regexp.MustCompile(`<tr><td class="mono">(?:<a href="([^"]*)" class="group-link">)?([^<]*)(?:</a>)?</td><td class="num">([0-9,]+)</td></tr>`)
	countLine    = regexp.MustCompile(`<p class="matchcount" id="count">([^<]*)`)
	headingLinks = regexp.MustCompile(`<th scope="col"[^>]*><a href="([^"]*)" class="sort">([^<]*)</a></th>`)
)

// tableEnv is an analyst's session over six events of three feeds,
// addresses and AS numbers out of time order, two organisations.
func tableEnv(t *testing.T) (*testEnv, *browser) {
	env := newEnv(t, nil)
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, row := range [][]string{
		{"feed-a", "192.0.2.9", "64500", "scanner", `["uni-a"]`},
		{"feed-b", "10.0.0.1", "64502", "infected-system", `["uni-a","uni-b"]`},
		{"feed-a", "2001:db8::1", "64501", "scanner", ""},
		{"feed-c", "192.0.2.10", "64500", "phishing", `["uni-b"]`},
		{"feed-a", "198.51.100.1", "64500", "scanner", ""},
		{"feed-b", "192.0.2.9", "64501", "infected-system", ""},
	} {
		e := makeEvent(t, row[0], row[1], base.Add(time.Duration(i)*time.Minute), "source.asn", row[2], "classification.type", row[3],
			"classification.identifier", "id-"+row[0])
		if row[4] != "" {
			e.SetTrusted(store.ConstituencyField, row[4])
		}
		env.insert(e)
	}
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	return env, b
}

func sourceIPs(body string) []string {
	var out []string
	for _, m := range sourceIPCell.FindAllStringSubmatch(body, -1) {
		out = append(out, m[2])
	}
	return out
}

func TestEventTableCountAndSort(t *testing.T) {
	_, b := tableEnv(t)
	r := b.get("/events")
	if m := countLine.FindStringSubmatch(r.body); m == nil || !strings.HasPrefix(m[1], "6 events match") {
		t.Fatalf("count line %q", m)
	}
	if got := sourceIPs(r.body); !slices.Equal(got, []string{"192.0.2.9", "198.51.100.1", "192.0.2.10", "2001:db8::1", "10.0.0.1", "192.0.2.9"}) {
		t.Fatalf("newest first: %v", got)
	}
	if m := countLine.FindStringSubmatch(b.get("/events?ip=198.51.100.1").body); m == nil || !strings.HasPrefix(m[1], "1 event matches") {
		t.Fatalf("count of one: %q", m)
	}
	// The headings lead to the sorts; the source IP's, once followed,
	// leads to the other direction.
	var ipSort string
	for _, m := range headingLinks.FindAllStringSubmatch(r.body, -1) {
		if m[2] == "Source IP" {
			ipSort = html.UnescapeString(m[1])
		}
	}
	if ipSort != "/events?sort=source.ip" {
		t.Fatalf("source IP heading links to %q", ipSort)
	}
	desc := b.get(ipSort)
	if got := sourceIPs(desc.body); !slices.Equal(got, []string{"2001:db8::1", "198.51.100.1", "192.0.2.10", "192.0.2.9", "192.0.2.9", "10.0.0.1"}) {
		t.Fatalf("by source IP, largest first: %v", got)
	}
	mustContain(t, desc.body, `aria-sort="descending"`, `href="/events?dir=asc&amp;sort=source.ip"`, "covers the newest 10,000 matches")
	asc := b.get("/events?sort=source.ip&dir=asc")
	if got := sourceIPs(asc.body); !slices.Equal(got, []string{"10.0.0.1", "192.0.2.9", "192.0.2.9", "192.0.2.10", "198.51.100.1", "2001:db8::1"}) {
		t.Fatalf("by source IP, smallest first: %v", got)
	}
	if got := sourceIPs(b.get("/events?dir=asc").body); !slices.Equal(got, []string{"192.0.2.9", "10.0.0.1", "2001:db8::1", "192.0.2.10", "198.51.100.1", "192.0.2.9"}) {
		t.Fatalf("oldest first: %v", got)
	}
	// A sort with a filter keeps both; nonsense is ignored, not an error.
	if got := sourceIPs(b.get("/events?feed=feed-a&sort=source.asn&dir=asc").body); !slices.Equal(got, []string{"198.51.100.1", "192.0.2.9", "2001:db8::1"}) {
		t.Fatalf("feed-a by ASN: %v", got)
	}
	if r := b.get("/events?sort=data&dir=sideways&group=password"); r.status != http.StatusOK || len(sourceIPs(r.body)) != 6 {
		t.Fatalf("unknown sort: %d, %v", r.status, sourceIPs(r.body))
	}
}

func TestEventTablePaging(t *testing.T) {
	env, b := tableEnv(t)
	var more []*event.Event
	for i := range 60 {
		more = append(more, makeEvent(t, "feed-z", "203.0.113."+string(rune('0'+i%10)), time.Date(2025, 3, 2, 0, i, 0, 0, time.UTC)))
	}
	env.insert(more...)
	var seen []string
	path := "/events?sort=feed&dir=asc"
	for pages := 0; path != ""; pages++ {
		r := b.get(path)
		seen = append(seen, sourceIPs(r.body)...)
		path = ""
		if m := regexp.MustCompile(`href="([^"]*)" id="next"`).FindStringSubmatch(r.body); m != nil {
			path = html.UnescapeString(m[1])
			if !strings.Contains(path, "sort=feed") || !strings.Contains(path, "dir=asc") {
				t.Fatalf("next page %q forgets the sort", path)
			}
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != 66 || seen[0] != "198.51.100.1" || seen[65] != "203.0.113.0" {
		t.Fatalf("%d events by feed, first %v", len(seen), seen[:3])
	}
	if r := b.get("/events?sort=feed&cursor=bogus"); r.status != http.StatusBadRequest {
		t.Fatalf("bad cursor: %d", r.status)
	}
}

func TestEventTableGroups(t *testing.T) {
	_, b := tableEnv(t)
	groups := func(path string) [][]string {
		t.Helper()
		r := b.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", path, r.status)
		}
		var out [][]string
		for _, m := range groupLine.FindAllStringSubmatch(r.body, -1) {
			out = append(out, []string{html.UnescapeString(m[1]), m[2], m[3]})
		}
		return out
	}
	want := map[string][][]string{
		"/events?group=feed": {
			{"/events?feed=feed-a", "feed-a", "3"}, {"/events?feed=feed-b", "feed-b", "2"}, {"/events?feed=feed-c", "feed-c", "1"}},
		"/events?group=source.ip&sort=source.asn": {
			{"/events?ip=192.0.2.9&sort=source.asn", "192.0.2.9", "2"}, {"/events?ip=10.0.0.1&sort=source.asn", "10.0.0.1", "1"},
			{"/events?ip=192.0.2.10&sort=source.asn", "192.0.2.10", "1"}, {"/events?ip=198.51.100.1&sort=source.asn", "198.51.100.1", "1"},
			{"/events?ip=2001%3Adb8%3A%3A1&sort=source.asn", "2001:db8::1", "1"}},
		"/events?group=org": {{"/events?org=uni-a", "uni-a", "2"}, {"/events?org=uni-b", "uni-b", "2"}},
		// A grouping refines the search it groups.
		"/events?feed=feed-a&group=source.asn": {
			{"/events?asn=64500&feed=feed-a", "64500", "2"}, {"/events?asn=64501&feed=feed-a", "64501", "1"}},
		"/events?type=scanner&group=type": {{"/events?type=scanner", "scanner", "3"}},
	}
	for path, w := range want {
		if got := groups(path); !slices.EqualFunc(got, w, slices.Equal) {
			t.Errorf("%s:\n got %q\nwant %q", path, got, w)
		}
	}
	if got := groups("/events"); got != nil {
		t.Errorf("no grouping asked, groups %q", got)
	}
}

func TestEventTableLinksAndColumns(t *testing.T) {
	_, b := tableEnv(t)
	r := b.get("/events")
	mustContain(t, r.body, `href="/events?ip=192.0.2.9" class="value-link"`, `href="/events?asn=64500" class="value-link"`,
		`href="/events?feed=feed-c" class="value-link"`, `href="/events?type=phishing" class="value-link"`)
	if strings.Contains(r.body, `data-field="classification.identifier"`) {
		t.Fatal("identifier shown before it was chosen")
	}
	// Choosing columns: organisation and identifier, without the
	// country; something that is no column is dropped.
	cols := url.Values{"col": {"extra.constituency", "classification.identifier", "source.ip", "feed.name", "raw"}, "back": {"feed=feed-b&sort=feed&cursor=x"}}
	saved := b.post("/events/columns", cols)
	if saved.status != http.StatusSeeOther || saved.location != "/events?feed=feed-b&sort=feed" {
		t.Fatalf("save columns: %d to %q", saved.status, saved.location)
	}
	r = b.get("/events")
	mustContain(t, r.body, `<td data-field="extra.constituency"><a href="/events?org=uni-a" class="value-link">uni-a</a>, <a href="/events?org=uni-b" class="value-link">uni-b</a></td>`,
		`<td data-field="classification.identifier">id-feed-b</td>`)
	for _, gone := range []string{`data-field="source.geolocation.cc"`, `data-field="raw"`, `data-field="classification.type"`} {
		if strings.Contains(r.body, gone) {
			t.Errorf("page shows %s after the choice", gone)
		}
	}
	// A choice needs the form's CSRF token.
	if r := b.post("/events/columns", url.Values{"col": {"source.ip"}, "csrf": {""}}); r.status != http.StatusForbidden {
		t.Errorf("columns without the CSRF token: %d", r.status)
	}
}

func TestEventTableColumnsPerUser(t *testing.T) {
	env, b := tableEnv(t)
	b.post("/events/columns", url.Values{"col": {"classification.identifier"}})
	env.addUser("other", auth.RoleAnalyst, "the other's passphrase")
	o := env.browser()
	o.login("other", "the other's passphrase")
	if r := o.get("/events"); strings.Contains(r.body, `data-field="classification.identifier"`) || !strings.Contains(r.body, `data-field="source.geolocation.cc"`) {
		t.Fatal("one analyst's columns shown to another")
	}
	if r := b.get("/events"); !strings.Contains(r.body, `data-field="classification.identifier"`) {
		t.Fatal("the choice was not kept")
	}
}

func TestEventDetailSections(t *testing.T) {
	env := newEnv(t, nil)
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	e := makeEvent(t, "feed-a", "192.0.2.1", time.Now(), "source.asn", "64500", "destination.ip", "198.51.100.2",
		"malware.hash.sha256", strings.Repeat("ab", 32), "source.fqdn", "host.example.be")
	e.SetExtra("tag", "openresolver")
	for k, v := range map[string]string{"extra.ports": `[53, 123]`, "extra.nested": `{"a": 1}`} {
		if err := e.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	e.SetTrusted(store.ConstituencyField, `["uni-a"]`)
	e.SetRaw([]byte("time,ip,tag,port\n2025-03-01 12:00:00,192.0.2.1,\"a, b\",53"))
	e.Seal()
	env.insert(e)
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	r := b.get("/events/" + e.Hash().String() + "?back=" + url.QueryEscape("feed=feed-a&sort=source.ip&dir=asc"))
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	order := []string{`id="section-classification"`, `id="section-source"`, `id="section-destination"`, `id="section-malware"`,
		`id="section-feed"`, `id="section-extra"`, `id="section-time"`, `id="raw"`}
	last := -1
	for _, s := range order {
		i := strings.Index(r.body, s)
		if i < last {
			t.Fatalf("%s missing or out of order", s)
		}
		last = i
	}
	mustContain(t, r.body,
		`href="/events?feed=feed-a&amp;dir=asc&amp;sort=source.ip" id="back"`,
		`data-field="extra.tag">openresolver</td>`, `data-field="extra.ports">53, 123</td>`, `data-field="extra.nested">{&#34;a&#34;:1}</td>`,
		`href="/events?org=uni-a" class="value-link">uni-a</a>`,
		`href="/events?ip=198.51.100.2" class="value-link"`, `href="/events?asn=64500" class="value-link"`,
		`href="/events?fqdn=host.example.be" class="value-link"`, `href="/events?hash=`+strings.Repeat("ab", 32)+`" class="value-link"`,
		`<th scope="row" class="mono">tag</th><td class="mono">a, b</td>`)
	// The hash once, in lower case: not again as event_hash.
	if strings.Contains(r.body, "event_hash") || strings.Contains(r.body, strings.ToUpper(e.Hash().String())) {
		t.Error("the event's hash is shown twice")
	}
}

// TestPortalTable: the portal's table counts, groups and links within the
// organisation, and offers nothing that names another one.
func TestPortalTable(t *testing.T) {
	env := newPortalEnv(t)
	b := env.browser()
	b.login("ca", portalPassword)
	r := b.get("/portal/?group=feed")
	if m := countLine.FindStringSubmatch(r.body); m == nil || !strings.HasPrefix(m[1], "63 events match") {
		t.Fatalf("count line %q", m)
	}
	var got []string
	for _, m := range groupLine.FindAllStringSubmatch(r.body, -1) {
		got = append(got, html.UnescapeString(m[1])+" "+m[2]+"="+m[3])
	}
	if want := []string{"/portal/?feed=feed-a feed-a=60", "/portal/?feed=feed-both feed-both=3"}; !slices.Equal(got, want) {
		t.Fatalf("groups %q, want %q", got, want)
	}
	for _, path := range []string{"/portal/?group=org", "/portal/?group=source.ip", "/portal/?group=type", "/portal/?group=source.asn"} {
		body := b.get(path).body
		for _, other := range []string{"uni-b", "10.2.0.", "feed-b<", `feed-b"`, "feed-none", "10.3.0."} {
			if strings.Contains(body, other) {
				t.Errorf("%s shows %q", path, other)
			}
		}
	}
	if strings.Contains(b.get("/portal/?group=org").body, `id="groups"`) {
		t.Error("the portal groups by organisation")
	}
	mustContain(t, r.body, `href="/portal/?ip=10.1.0.59" class="value-link"`, `href="/portal/?feed=feed-a" class="value-link"`)
	if strings.Contains(r.body, `value="extra.constituency"`) || strings.Contains(r.body, "?org=") {
		t.Error("the portal offers the organisation column or search")
	}
	// Columns asked for by a constituent: the organisation column is
	// not among them, whatever the form says.
	b.post("/portal/columns", url.Values{"col": {"extra.constituency", "source.ip"}})
	if body := b.get("/portal/").body; strings.Contains(body, `data-field="extra.constituency"`) || !strings.Contains(body, `data-field="source.ip"`) {
		t.Error("portal column choice")
	}
}
