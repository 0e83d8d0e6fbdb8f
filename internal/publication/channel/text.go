package channel

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// Post is a publication's short text in one language: the kind and
// severity, the title, the CVEs and, last, the link to its page.
type Post struct {
	Text string
	// Link is the page's URL, at the end of Text; LinkStart and LinkEnd
	// are its UTF-8 byte offsets in Text (Bluesky's facets count bytes).
	Link               string
	LinkStart, LinkEnd int
}

// Counter counts a text's length the way a network limits it.
type Counter func(string) int

// Characters counts Unicode code points: Mastodon's limit counts them
// (a count that is never below the grapheme count it uses now, so a
// text that fits here fits there).
func Characters(s string) int { return utf8.RuneCountInString(s) }

// Graphemes counts user-perceived characters (grapheme clusters), as
// Bluesky's limit on a post's text does.
func Graphemes(s string) int { return uniseg.GraphemeClusterCount(s) }

// PageURL is the address of p's page in lang on the public site at
// siteURL: {siteURL}/{lang}/p/{ident}.
func PageURL(siteURL, lang, ident string) string {
	return strings.TrimRight(siteURL, "/") + "/" + url.PathEscape(lang) + "/p/" + url.PathEscape(ident)
}

// Compose writes p's short text in lang (the primary language's text
// when lang has none; lang "" takes the primary language) for a network
// that allows limit by count. The link is never cut; the CVEs take at
// most a third of the room, the rest named by a count; the title is cut
// at a word boundary, with an ellipsis, to fit.
func Compose(p *publication.Publication, lang, siteURL string, limit int, count Counter) Post {
	text, _ := p.Text(lang)
	if lang == "" {
		lang = text.Lang
	}
	c := i18n.Embedded()
	link := PageURL(siteURL, lang, p.Ident)
	head := c.T(lang, "channel.post.kind."+string(p.Kind))
	if !c.Has("channel.post.kind." + string(p.Kind)) {
		head = string(p.Kind)
	}
	if sev := severityLabel(c, lang, p.Severity); sev != "" {
		head += " · " + sev
	}
	room := limit - count("\n"+link)
	cves := cveLine(c, lang, p.CVEs, room/3, count)
	if cves != "" {
		room -= count("\n" + cves)
	}
	title := strings.Join(strings.Fields(text.Title), " ")
	if title == "" {
		title = p.Ident
	}
	first := cut(head+": "+title, room, count)
	var b strings.Builder
	if first != "" {
		b.WriteString(first + "\n")
	}
	if cves != "" {
		b.WriteString(cves + "\n")
	}
	start := b.Len()
	b.WriteString(link)
	return Post{Text: b.String(), Link: link, LinkStart: start, LinkEnd: b.Len()}
}

// severityLabel is the severity's name in lang: from the catalogue for
// the default scale, as configured for any other.
func severityLabel(c *i18n.Catalog, lang, severity string) string {
	if severity == "" {
		return ""
	}
	if id := "channel.post.severity." + severity; c.Has(id) {
		return c.T(lang, id)
	}
	r, n := utf8.DecodeRuneInString(severity)
	return string(unicode.ToUpper(r)) + severity[n:]
}

// cveLine lists the CVEs that fit in room, and how many more there are.
func cveLine(c *i18n.Catalog, lang string, cves []string, room int, count Counter) string {
	if len(cves) == 0 {
		return ""
	}
	for n := len(cves); n > 0; n-- {
		line := strings.Join(cves[:n], ", ")
		if n < len(cves) {
			line += " " + c.Plural(lang, "channel.post.morecves", len(cves)-n)
		}
		if count(line) <= room {
			return line
		}
	}
	return ""
}

// cut returns s when it fits in room, or else its longest beginning that
// ends at a word boundary (a grapheme boundary for one long word) and an
// ellipsis that fit.
func cut(s string, room int, count Counter) string {
	if count(s) <= room {
		return s
	}
	const ellipsis = "…"
	room -= count(ellipsis)
	if room <= 0 {
		return ""
	}
	var b strings.Builder
	used, lastSpace := 0, -1
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		cluster := g.Str()
		n := count(cluster)
		if used+n > room {
			break
		}
		if strings.TrimSpace(cluster) == "" {
			lastSpace = b.Len()
		}
		b.WriteString(cluster)
		used += n
	}
	out := b.String()
	if lastSpace > 0 {
		out = out[:lastSpace]
	}
	return strings.TrimRightFunc(out, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + ellipsis
}
