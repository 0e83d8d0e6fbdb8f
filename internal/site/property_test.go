package site

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
)

// TestOnlyPublicEver is the property every public channel keeps: given
// random publications of every kind, TLP and status (and published ones
// with an unpublished next revision, and revisions whose old content
// differs), a crawl of every page, list, filter, search and feed in
// every language finds no title, summary, body or ident of a publication
// that is not public, nor the content of an unpublished revision.
func TestOnlyPublicEver(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 13))
	src := &memSource{revisions: map[int64][]publication.Revision{}}
	var hidden, public []string
	langs := []string{"en", "nl", "fr", "de"}
	statuses, labels := map[publication.Status]bool{}, map[publication.TLP]bool{}
	for i := range 80 {
		p := publication.Publication{
			Ident:  fmt.Sprintf("VIGIL-2026-%05d", i),
			Kind:   publication.Kinds[rng.IntN(len(publication.Kinds))],
			Status: publication.Statuses[rng.IntN(len(publication.Statuses))],
			Content: publication.Content{TLP: publication.TLPs[rng.IntN(len(publication.TLPs))],
				Severity: publication.DefaultSeverities[rng.IntN(4)], CVEs: []string{fmt.Sprintf("CVE-2026-9%04d", i)}},
		}
		// Half are published and half TLP:CLEAR, so that about a quarter
		// are public; the rest take every other status and label.
		if rng.IntN(2) == 0 {
			p.Status = publication.StatusPublished
		}
		if rng.IntN(2) == 0 {
			p.TLP = publication.TLPClear
		}
		statuses[p.Status], labels[p.TLP] = true, true
		if p.Status == publication.StatusPublished || p.Status == publication.StatusWithdrawn || rng.IntN(3) == 0 {
			p.Published = testNow.Add(-time.Duration(rng.IntN(60*24)) * time.Hour)
			p.Updated = p.Published
			p.Revision = 1
		}
		for j, l := range rng.Perm(len(langs))[:1+rng.IntN(len(langs))] {
			tok := fmt.Sprintf("zq%03d%s", i, langs[l])
			p.Texts = append(p.Texts, publication.Text{Lang: langs[l], Title: "Title " + tok + "t", Summary: "Summary " + tok + "s",
				Body: "Body " + tok + "b\n\n- item " + tok + "i", Recommendations: []publication.Recommendation{{Kind: "patch", Text: "do " + tok + "r"}},
				Updated: p.Published.Add(time.Duration(j) * time.Minute)})
		}
		tokens := []string{p.Ident, p.CVEs[0]}
		for _, tx := range p.Texts {
			tokens = append(tokens, tx.Title, tx.Summary, tx.Body, tx.Recommendations[0].Text)
		}
		if p.Public() {
			public = append(public, p.Ident)
			// The coming revision and an old one are not public either.
			next := fmt.Sprintf("nx%03d", i)
			p.Next = &publication.Next{Status: publication.StatusReview, Note: "note " + next,
				Content: publication.Content{TLP: publication.TLPClear, Texts: []publication.Text{{Lang: "en", Title: "Next " + next + "t", Body: next + "b"}}}}
			hidden = append(hidden, next)
			old := fmt.Sprintf("od%03d", i)
			src.revisions[int64(i+1)] = []publication.Revision{{Number: 1, Published: p.Published, Note: "first",
				Content: publication.Content{Texts: []publication.Text{{Lang: "en", Title: old + "t", Body: old + "b"}}}}}
			hidden = append(hidden, old)
		} else {
			hidden = append(hidden, tokens...)
		}
		src.add(p)
	}
	if len(public) == 0 || len(hidden) == 0 || len(statuses) != len(publication.Statuses) || len(labels) != len(publication.TLPs) {
		t.Fatalf("seed %d gave %d public and %d hidden strings, %d statuses, %d labels: the property is not exercised", seed, len(public), len(hidden), len(statuses), len(labels))
	}
	s, err := New(Deps{Source: src, Catalog: catalog(t), BaseURL: "https://cert.example", Languages: langs, Now: (&clock{now: testNow}).Now})
	if err != nil {
		t.Fatal(err)
	}
	pages := crawl(t, s, langs, src)
	seen := 0
	for path, body := range pages {
		for _, h := range hidden {
			if strings.Contains(body, h) {
				t.Errorf("seed %d: %s shows %q, which is not public", seed, path, h)
			}
		}
		for _, id := range public {
			if strings.Contains(body, id) {
				seen++
				break
			}
		}
	}
	// The crawl must have reached the public ones: a site showing nothing
	// would pass the property.
	for _, id := range public {
		if _, ok := pages["/en/p/"+id]; !ok {
			t.Errorf("the crawl did not reach %s", id)
		}
	}
	t.Logf("%d pages and feeds crawled, %d show public publications; %d public, %d hidden strings", len(pages), seen, len(public), len(hidden))
}

var hrefs = regexp.MustCompile(`(?:href|src)="(/[^"]*)"`)

// crawl follows every link of the site from each language's home page,
// and also asks every detail page, every feed, and searches for every
// publication's ident and words, public or not. It returns each page's
// body by path.
func crawl(t *testing.T, s *Site, langs []string, src *memSource) map[string]string {
	t.Helper()
	var queue []string
	for _, l := range langs {
		queue = append(queue, "/"+l+"/", "/"+l+"/feed.rss", "/"+l+"/feed.atom", "/"+l+"/critical.rss", "/"+l+"/critical.atom")
		for _, k := range []string{"advisories", "warnings", "news", "digests"} {
			queue = append(queue, "/"+l+"/"+k+".rss", "/"+l+"/"+k+".atom")
			for _, sev := range publication.DefaultSeverities {
				queue = append(queue, "/"+l+"/"+k+"?severity="+sev, "/"+l+"/"+k+"?from=2026-10-01&to=2026-11-01")
			}
		}
		for _, p := range src.pubs {
			queue = append(queue, "/"+l+"/p/"+p.Ident)
			if l == "en" {
				// Searches echo the words asked, so they ask for words a
				// hidden publication holds by its parts, not whole.
				queue = append(queue, "/en/search?q="+p.Ident[:11]+"+"+p.Ident[11:], "/en/search?q=summary", "/en/search?q=body")
			}
		}
	}
	queue = append(queue, "/.well-known/security.txt")
	pages := map[string]string{}
	for len(queue) > 0 && len(pages) < 5000 {
		path := queue[0]
		queue = queue[1:]
		if _, done := pages[path]; done {
			continue
		}
		res, body := get(t, s, strings.ReplaceAll(path, "&amp;", "&"))
		pages[path] = body
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d", path, res.StatusCode)
		}
		for _, m := range hrefs.FindAllStringSubmatch(body, -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			if strings.HasPrefix(link, "/.well-known/csaf/") || strings.HasPrefix(link, "/report") || strings.HasPrefix(link, "/newsletter/") {
				continue // other handlers' pages
			}
			if _, done := pages[link]; !done {
				queue = append(queue, link)
			}
		}
	}
	return pages
}
