package channel

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/publication"
)

func TestComposeShortText(t *testing.T) {
	p := advisory(42)
	post := Compose(&p, "nl", "https://cert.example/", MastodonLimit, Characters)
	want := "Beveiligingsadvies · Kritiek: Kritieke kwetsbaarheid in Ünïcode\nCVE-2026-12345, CVE-2026-23456\nhttps://cert.example/nl/p/VIGIL-2026-0042"
	if post.Text != want {
		t.Errorf("text:\n%s\nwant:\n%s", post.Text, want)
	}
	if got := post.Text[post.LinkStart:post.LinkEnd]; got != post.Link || post.Link != "https://cert.example/nl/p/VIGIL-2026-0042" {
		t.Errorf("link %q at [%d:%d] is %q", post.Link, post.LinkStart, post.LinkEnd, got)
	}
	// The offsets are bytes, not characters: Ü, ï and · take two.
	if post.LinkStart == utf8.RuneCountInString(post.Text[:post.LinkStart]) {
		t.Errorf("LinkStart %d counts characters, not bytes", post.LinkStart)
	}
	t.Run("a language without its text takes the primary one's, linking to the asked language", func(t *testing.T) {
		post := Compose(&p, "de", "https://cert.example", MastodonLimit, Characters)
		if !strings.HasPrefix(post.Text, "Sicherheitshinweis · Kritisch: Critical vulnerability") || !strings.HasSuffix(post.Text, "/de/p/VIGIL-2026-0042") {
			t.Errorf("text %q", post.Text)
		}
	})
	t.Run("news without severity or CVEs", func(t *testing.T) {
		n := p
		n.Kind, n.Severity, n.CVEs = publication.KindNews, "", nil
		post := Compose(&n, "fr", "https://cert.example", MastodonLimit, Characters)
		if want := "Actualité: Vulnérabilité critique dans « Ünïcode » 🔥\nhttps://cert.example/fr/p/VIGIL-2026-0042"; post.Text != want {
			t.Errorf("text %q, want %q", post.Text, want)
		}
	})
}

// TestComposeCuts: a long title is cut at a word boundary and the CVEs
// beyond a third of the room are counted; the link is whole and the text
// fits, counted as each network counts.
func TestComposeCuts(t *testing.T) {
	p := advisory(7)
	p.Texts[1].Title = strings.Repeat("Kritieke kwetsbaarheid in Ünïcode 👩‍👩‍👧 ", 30)
	for i := range 40 {
		p.CVEs = append(p.CVEs, "CVE-2026-"+strings.Repeat("9", 5)+string(rune('a'+i%26)))
	}
	for _, tc := range []struct {
		name  string
		limit int
		count Counter
	}{{"mastodon", MastodonLimit, Characters}, {"bluesky", BlueskyLimit, Graphemes}, {"tiny", 80, Graphemes}} {
		t.Run(tc.name, func(t *testing.T) {
			post := Compose(&p, "nl", "https://cert.example", tc.limit, tc.count)
			if n := tc.count(post.Text); n > tc.limit {
				t.Errorf("%d long, limit %d:\n%s", n, tc.limit, post.Text)
			}
			if !strings.HasSuffix(post.Text, "\nhttps://cert.example/nl/p/VIGIL-2026-0007") {
				t.Errorf("the link is not whole at the end:\n%s", post.Text)
			}
			if !utf8.ValidString(post.Text) {
				t.Errorf("invalid UTF-8")
			}
			first, _, _ := strings.Cut(post.Text, "\n")
			if !strings.HasSuffix(first, "…") {
				t.Errorf("first line not cut with an ellipsis: %q", first)
			}
			words := strings.Fields(strings.TrimSuffix(first, "…"))
			if last := words[len(words)-1]; !strings.Contains(p.Texts[1].Title, " "+last+" ") && last != "Kritiek" {
				t.Errorf("cut inside a word: %q", last)
			}
			if tc.name != "tiny" && !strings.Contains(post.Text, "en nog ") {
				t.Errorf("no count of the CVEs left out:\n%s", post.Text)
			}
		})
	}
}

func TestCutOneLongWord(t *testing.T) {
	s := strings.Repeat("é", 20) + strings.Repeat("👩‍👩‍👧", 20)
	got := cut(s, 25, Graphemes)
	if Graphemes(got) != 25 || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("cut = %q (%d graphemes)", got, Graphemes(got))
	}
	// The family emoji is one grapheme of five code points: never split.
	if strings.Count(got, "👩‍👩‍👧") != 4 {
		t.Errorf("split a grapheme: %q", got)
	}
}
