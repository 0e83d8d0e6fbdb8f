package site

import (
	"html"
	"html/template"
	"regexp"
	"strings"
)

// renderMarkdown renders a publication's body: a small, safe part of
// Markdown (headings, paragraphs, lists, fenced code, code spans,
// emphasis and http, https and mailto links), every other character
// escaped, so markup, scripts and javascript: links come out as text.
// It stands in for internal/publication/markdown.Render until that
// package is on main.
func renderMarkdown(src string) template.HTML {
	var b strings.Builder
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	// The page's own headings are h1 and h2: the body's highest heading
	// becomes h3, and the others follow it.
	top := 6
	for _, l := range lines {
		if m := heading.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			top = min(top, len(m[1]))
		}
	}
	var para []string
	list := "" // "ul" or "ol" while in a list
	flushPara := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + inline(strings.Join(para, " ")) + "</p>\n")
			para = nil
		}
	}
	closeList := func() {
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t")
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			flushPara()
			closeList()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			b.WriteString("<pre><code>" + html.EscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case trimmed == "":
			flushPara()
			closeList()
		case heading.MatchString(trimmed):
			flushPara()
			closeList()
			m := heading.FindStringSubmatch(trimmed)
			level := string(rune('0' + min(len(m[1])-top+3, 6)))
			b.WriteString("<h" + level + ">" + inline(m[2]) + "</h" + level + ">\n")
		case bullet.MatchString(trimmed) || numbered.MatchString(trimmed):
			flushPara()
			kind, re := "ul", bullet
			if numbered.MatchString(trimmed) {
				kind, re = "ol", numbered
			}
			if list != kind {
				closeList()
				b.WriteString("<" + kind + ">\n")
				list = kind
			}
			b.WriteString("<li>" + inline(re.ReplaceAllString(trimmed, "")) + "</li>\n")
		default:
			if list != "" && strings.HasPrefix(line, "  ") {
				continue // a list item's continuation is kept short: dropped
			}
			closeList()
			para = append(para, trimmed)
		}
	}
	flushPara()
	closeList()
	return template.HTML(b.String()) //nolint:gosec // built from escaped text only
}

var (
	heading  = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*$`)
	bullet   = regexp.MustCompile(`^[-*+]\s+`)
	numbered = regexp.MustCompile(`^\d{1,9}[.)]\s+`)
)

// inline renders code spans, strong and emphasised text and links in
// one line, escaping everything else.
func inline(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		switch {
		case rest[0] == '`':
			if end := strings.IndexByte(rest[1:], '`'); end >= 0 {
				b.WriteString("<code>" + html.EscapeString(rest[1:1+end]) + "</code>")
				i += end + 2
				continue
			}
		case strings.HasPrefix(rest, "**"):
			if end := strings.Index(rest[2:], "**"); end > 0 {
				b.WriteString("<strong>" + inline(rest[2:2+end]) + "</strong>")
				i += end + 4
				continue
			}
		case rest[0] == '*' || rest[0] == '_':
			if end := strings.IndexByte(rest[1:], rest[0]); end > 0 {
				b.WriteString("<em>" + inline(rest[1:1+end]) + "</em>")
				i += end + 2
				continue
			}
		case rest[0] == '[':
			if text, target, n, ok := markdownLink(rest); ok {
				if safeURL(target) {
					b.WriteString(`<a href="` + html.EscapeString(target) + `">` + inline(text) + "</a>")
				} else {
					b.WriteString(inline(text))
				}
				i += n
				continue
			}
		}
		b.WriteString(html.EscapeString(rest[:1]))
		i++
	}
	return b.String()
}

// markdownLink reads [text](target) at the start of s and returns its
// parts and length.
func markdownLink(s string) (text, target string, n int, ok bool) {
	close := strings.Index(s, "](")
	if close < 0 {
		return "", "", 0, false
	}
	end := strings.IndexByte(s[close+2:], ')')
	if end < 0 {
		return "", "", 0, false
	}
	return s[1:close], strings.TrimSpace(s[close+2 : close+2+end]), close + 3 + end, true
}
