package publication

import (
	"strings"
)

// A digest lists the week's publications in its body, one Markdown line
// each, made by DigestItem. The digest is published once and kept as it
// was, but what it lists may be withdrawn or raised above TLP:CLEAR
// later: the public channels that show a digest after that (the site)
// pass it through RedactDigest, which finds the lines by their ident.

// DigestItem is a digest's line of one publication: its ident, its
// severity, its title (a Markdown link or plain text) and its summary
// when there is one.
func DigestItem(ident, severity, title, summary string) string {
	line := "- **" + ident + "** (" + oneLine(severity) + ") " + oneLine(title)
	if summary = oneLine(summary); summary != "" {
		line += ": " + summary
	}
	return line
}

// oneLine keeps a digest's item on its line: a line break in a title or
// a summary would carry text past RedactDigest, which reads by line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// DigestItemIdent returns the ident of a line DigestItem made; false for
// any other line.
func DigestItemIdent(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "- **")
	if !ok {
		return "", false
	}
	ident, _, ok := strings.Cut(rest, "** ")
	if !ok || ident == "" || strings.ContainsFunc(ident, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
	}) {
		return "", false
	}
	return ident, true
}

// SearchText is what Query.Text matches: the ident, the CVEs and every
// language's title, summary and body, lower-cased. A digest's item
// lines are left out: each item is found as the publication it is, and
// a digest found by an item would let a search spell out one withdrawn
// or raised above the reader's label since.
func SearchText(p *Publication) string {
	var b strings.Builder
	b.WriteString(p.Ident)
	for _, c := range p.CVEs {
		b.WriteString(" " + c)
	}
	for _, t := range p.Texts {
		body := t.Body
		if p.Kind == KindDigest {
			var kept []string
			for line := range strings.SplitSeq(body, "\n") {
				if _, item := DigestItemIdent(line); !item {
					kept = append(kept, line)
				}
			}
			body = strings.Join(kept, "\n")
		}
		b.WriteString("\n" + t.Title + "\n" + t.Summary + "\n" + body)
	}
	return strings.ToLower(b.String())
}

// DigestItemState is what a digest's item is now.
type DigestItemState int

const (
	// ItemPublic is still public: its line stays as it is.
	ItemPublic DigestItemState = iota
	// ItemWithdrawn was withdrawn: its line keeps the ident and says
	// so, without the title, the summary or the link (its page is gone).
	ItemWithdrawn
	// ItemHidden is no longer public for another reason (raised above
	// TLP:CLEAR, unknown): its line is left out.
	ItemHidden
)

// RedactDigest returns d with the lines of its texts' bodies that list a
// publication no longer public changed as state says; withdrawn gives
// the word for "withdrawn" in a text's language. A digest whose items
// are all public comes back as it is; the texts of d are not changed in
// place.
func RedactDigest(d Publication, state func(ident string) DigestItemState, withdrawn func(lang string) string) Publication {
	if d.Kind != KindDigest {
		return d
	}
	var texts []Text
	for i, t := range d.Texts {
		body, changed := redactBody(t.Body, state, func() string { return withdrawn(t.Lang) })
		if !changed {
			continue
		}
		if texts == nil {
			texts = append([]Text(nil), d.Texts...)
		}
		texts[i].Body = body
	}
	if texts != nil {
		d.Texts = texts
	}
	return d
}

// redactBody is RedactDigest on one body.
func redactBody(body string, state func(string) DigestItemState, withdrawn func() string) (string, bool) {
	var out strings.Builder
	changed := false
	for line := range strings.SplitAfterSeq(body, "\n") {
		ident, ok := DigestItemIdent(strings.TrimSuffix(line, "\n"))
		if !ok {
			out.WriteString(line)
			continue
		}
		switch state(ident) {
		case ItemPublic:
			out.WriteString(line)
		case ItemWithdrawn:
			changed = true
			out.WriteString("- **" + ident + "** *" + markdownText(withdrawn()) + "*")
			if strings.HasSuffix(line, "\n") {
				out.WriteString("\n")
			}
		default:
			changed = true
		}
	}
	return out.String(), changed
}

// markdownText escapes the characters that Markdown would take for
// emphasis or a link in a word of the catalogue.
func markdownText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, "\n", " ").Replace(s)
}
