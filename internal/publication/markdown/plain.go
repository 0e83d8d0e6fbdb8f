package markdown

import (
	"bufio"
	"bytes"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
)

// Ellipsis ends a text Plain has cut.
const Ellipsis = "…"

// Plain returns src, Markdown, as plain text: the words without markup
// (a link becomes its text, an image its alt text, raw HTML nothing),
// blocks separated by a blank line, list items and table rows one a
// line. When max > 0 and the text is longer than max characters
// (runes), it is cut at the last word boundary that leaves room for
// Ellipsis, which ends it. The result is text, not HTML: whoever puts it
// in markup escapes it.
func Plain(src string, max int) string {
	if tooComplex(src) {
		return cut(tidy(src), max)
	}
	source := []byte(src)
	doc := converter.Parser().Parse(text.NewReader(source))
	var b strings.Builder
	var r resolver
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			return enter(&b, n, source, &r), nil
		}
		leave(&b, n)
		return ast.WalkContinue, nil
	})
	return cut(tidy(b.String()), max)
}

// enter writes the text a node starts with, and says whether its
// children are wanted.
func enter(b *strings.Builder, n ast.Node, source []byte, r *resolver) ast.WalkStatus {
	switch n := n.(type) {
	case *ast.Text:
		b.Write(r.resolve(n.Value(source)))
		if n.SoftLineBreak() {
			b.WriteByte(' ')
		}
		if n.HardLineBreak() {
			b.WriteByte('\n')
		}
	case *ast.String:
		if n.IsCode() || n.IsRaw() {
			b.Write(n.Value)
		} else {
			b.Write(r.resolve(n.Value))
		}
	case *ast.CodeSpan:
		// A code span's text is as written: no entities, no escapes.
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			if t, ok := c.(*ast.Text); ok {
				b.Write(t.Value(source))
			}
		}
		return ast.WalkSkipChildren
	case *ast.AutoLink:
		b.Write(n.Label(source))
		return ast.WalkSkipChildren
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		lines := n.Lines()
		for i := range lines.Len() {
			line := lines.At(i)
			b.Write(line.Value(source))
		}
		return ast.WalkSkipChildren
	case *ast.RawHTML, *ast.HTMLBlock:
		return ast.WalkSkipChildren
	case *ast.ListItem:
		b.WriteString("- ")
	}
	return ast.WalkContinue
}

// leave writes what separates a node from the next.
func leave(b *strings.Builder, n ast.Node) {
	switch n.(type) {
	case *east.TableCell:
		b.WriteString("  ")
	case *ast.ListItem, *east.TableRow, *east.TableHeader:
		b.WriteByte('\n')
	case *ast.Paragraph, *ast.Heading, *ast.CodeBlock, *ast.FencedCodeBlock,
		*ast.Blockquote, *ast.List, *ast.ThematicBreak, *east.Table:
		b.WriteString("\n\n")
	case *ast.TextBlock:
		// A tight list item's text: its item ends the line.
	}
}

// resolver turns a text's entities and backslash escapes into the
// characters they stand for, in one pass as goldmark's HTML writer does
// (so that \&amp; is "&amp;", not "&"), by unescaping what that writer
// writes. One resolver serves a whole document.
type resolver struct {
	buf bytes.Buffer
	w   *bufio.Writer
}

func (r *resolver) resolve(v []byte) []byte {
	if r.w == nil {
		r.w = bufio.NewWriter(&r.buf)
	}
	r.buf.Reset()
	gmhtml.DefaultWriter.Write(r.w, v)
	_ = r.w.Flush()
	return []byte(html.UnescapeString(r.buf.String()))
}

// tidy trims each line, collapses runs of spaces, and leaves at most one
// blank line between blocks and none at either end.
func tidy(s string) string {
	var out []string
	blank := false
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.Join(strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' }), " ")
		if line == "" {
			blank = len(out) > 0
			continue
		}
		if blank {
			out = append(out, "")
			blank = false
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// cut shortens s to at most max runes at a word boundary, ending it with
// Ellipsis; max <= 0 leaves s whole.
func cut(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	room := max - utf8.RuneCountInString(Ellipsis)
	if room <= 0 {
		return string([]rune(Ellipsis)[:max])
	}
	runes := []rune(s)
	// The last space at or before room: the word after it does not fit.
	end := -1
	for i := room; i > 0; i-- {
		if unicode.IsSpace(runes[i]) {
			end = i
			break
		}
	}
	if end < 0 {
		// One word longer than room: cut inside it.
		end = room
	}
	return strings.TrimRightFunc(string(runes[:end]), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsPunct(r) && r != ')' && r != '"'
	}) + Ellipsis
}
