// Package markdown turns the Markdown a publication's body is written in
// into what readers get: sanitized HTML for the website, the portal and
// the console (Render), and plain text for feeds, social posts and mails
// (Plain).
//
// A body is written by the team, but it quotes what others wrote (a
// vendor's advisory, a CVE description, a proof of concept), and it is
// shown on the public site, so Render treats it as untrusted. Two layers
// make it inert:
//   - goldmark parses CommonMark with GitHub's tables, strikethrough and
//     autolinks, passes no raw HTML through (it is dropped, not escaped
//     into view), keeps only images whose address is https or relative
//     (others become their alt text), and gives every link
//     rel="nofollow noopener noreferrer";
//   - bluemonday's UGC policy then sanitizes the HTML goldmark wrote:
//     only http, https and mailto links, no style, no event handlers, no
//     javascript:, data: or vbscript: address, whatever the case or the
//     entity encoding of the address.
//
// A body built to make the parser slow (thousands of unclosed brackets,
// quotes nested hundreds deep) is shown as its text in paragraphs.
//
// The browser test renders many known attacks, serves them, clicks every
// link in headless Chromium and checks that no script ran.
package markdown

import (
	"bytes"
	"html/template"
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Rel is what every link Render writes has as its rel: search engines
// give it no weight, and the page it opens gets neither a handle on the
// site's window nor the address it came from.
const Rel = "nofollow noopener noreferrer"

// converter is goldmark set up for publications. Its renderer is not
// html.WithUnsafe: raw HTML is left out, and goldmark itself blanks
// links to dangerous addresses before bluemonday looks.
var converter = goldmark.New(
	goldmark.WithExtensions(
		extension.NewTable(extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)),
		extension.Strikethrough,
		extension.Linkify,
	),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(links{}, 100))),
)

// policy is bluemonday's UGC policy with what publications need on top.
var policy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + Rel + `$`)).OnElements("a")
	return p
}()

// Render returns src, Markdown, as sanitized HTML that is safe to put in
// any page. A source too large or too full of markup to parse in good
// time (tooComplex) is shown as its text, in paragraphs.
func Render(src string) template.HTML {
	if tooComplex(src) {
		return paragraphs(src)
	}
	var buf bytes.Buffer
	if err := converter.Convert([]byte(src), &buf); err != nil {
		// Converting into a bytes.Buffer does not fail; should it, the
		// text is shown escaped rather than lost.
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(policy.SanitizeBytes(buf.Bytes()))
}

// The bounds of what Render and Plain parse as Markdown. goldmark takes
// time that grows faster than the text with some constructs (thousands
// of unclosed brackets or emphasis marks, quotes and lists nested
// hundreds deep): a body beyond these bounds, which no advisory reaches,
// is shown as its text instead, so that one body cannot hold a server.
const (
	MaxSource       = 256 << 10 // bytes
	maxBrackets     = 2000      // [
	maxEmphasis     = 5000      // * _ ~
	maxAngles       = 2000      // <
	maxPipes        = 20000     // | (table cells)
	maxBacktickRuns = 2000      // runs of ` (code spans)
	maxQuoteDepth   = 16        // > at the start of a line
	maxIndent       = 160       // columns of indentation (nested lists)
)

// tooComplex reports whether src is beyond the bounds Markdown is
// parsed within.
func tooComplex(src string) bool {
	if len(src) > MaxSource ||
		strings.Count(src, "[") > maxBrackets ||
		strings.Count(src, "*")+strings.Count(src, "_")+strings.Count(src, "~") > maxEmphasis ||
		strings.Count(src, "<") > maxAngles ||
		strings.Count(src, "|") > maxPipes ||
		backtickRuns(src) > maxBacktickRuns {
		return true
	}
	for line := range strings.SplitSeq(src, "\n") {
		indent, quotes := 0, 0
	prefix:
		for _, c := range line {
			switch c {
			case ' ':
				indent++
			case '\t':
				indent += 4
			case '>':
				quotes++
			default:
				break prefix
			}
		}
		if indent > maxIndent || quotes > maxQuoteDepth {
			return true
		}
	}
	return false
}

// backtickRuns counts the runs of backticks in src: each may open or
// close a code span, and goldmark's search for the closing run of the
// same length grows with their number.
func backtickRuns(src string) int {
	n := 0
	for i := 0; i < len(src); i++ {
		if src[i] == '`' && (i == 0 || src[i-1] != '`') {
			n++
		}
	}
	return n
}

// paragraphs is src as escaped text: a paragraph per block of lines, the
// lines kept.
func paragraphs(src string) template.HTML {
	var b strings.Builder
	for para := range strings.SplitSeq(strings.ReplaceAll(src, "\r\n", "\n"), "\n\n") {
		if strings.TrimSpace(para) == "" {
			continue
		}
		lines := strings.Split(strings.TrimSpace(para), "\n")
		for i, l := range lines {
			lines[i] = template.HTMLEscapeString(l)
		}
		b.WriteString("<p>" + strings.Join(lines, "<br>\n") + "</p>\n")
	}
	return template.HTML(b.String())
}

// HeadingShift is how far a body's headings move down: every page shows
// a body below its own title (h1) and a section heading (h2), so the
// body's "# Impact" is an h3, and the page's outline stays whole.
const HeadingShift = 2

// links is the parser step that sets rel on every link, moves headings
// down by HeadingShift, and replaces an
// image from anywhere but an https or relative address by its alt text
// (a reader's browser fetching an image from http, or from a data:
// address, is a tracker or a payload, never an illustration).
type links struct{}

// Transform walks the document once.
func (links) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	var images []*ast.Image
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link, *ast.AutoLink:
			n.SetAttributeString("rel", []byte(Rel))
		case *ast.Heading:
			n.Level = min(n.Level+HeadingShift, 6)
		case *ast.Image:
			if !imageAllowed(string(n.Destination)) {
				images = append(images, n)
			}
		}
		return ast.WalkContinue, nil
	})
	for _, img := range images {
		parent := img.Parent()
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			parent.InsertBefore(parent, img, c)
			c = next
		}
		parent.RemoveChild(parent, img)
	}
}

// imageAllowed reports whether an image may be loaded from dest: an
// https address, or a relative one (on the site itself).
func imageAllowed(dest string) bool {
	u, err := url.Parse(strings.TrimSpace(dest))
	if err != nil {
		return false
	}
	if u.Scheme == "" {
		// "//host/x" is relative to the scheme only: another site.
		return u.Host == "" && u.Opaque == ""
	}
	return strings.EqualFold(u.Scheme, "https") && u.Host != ""
}
