package extract

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// FromHTML returns the observables of an HTML mail body or page, as Find
// does for text: those of its text (entities decoded, inline elements run
// together as a browser shows them, block elements apart, style sheets and
// comments left out) and those of the targets of its links, images, forms
// and frames (href, src, action, formaction, background, poster, cite, a
// meta refresh's URL), in document order. A phishing mail's link text
// often differs from its target: both count. Nothing is run or rendered:
// the HTML is only tokenized. It reads at most MaxInput bytes of html.
func FromHTML(body string) []Observable {
	return Finder{}.FromHTML(body)
}

// FromHTML returns the observables of an HTML body as the function
// FromHTML does, with x's settings.
func (x Finder) FromHTML(body string) []Observable {
	z := html.NewTokenizer(strings.NewReader(capInput(body, MaxInput)))
	z.SetMaxBuf(MaxInput)
	var text strings.Builder
	text.Grow(min(len(body), MaxInput))
	inStyle := false
	for text.Len() < MaxInput {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return x.Find(text.String())
		case html.TextToken:
			if !inStyle {
				text.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			a := tagAtom(z.Raw())
			if a == atom.Style {
				inStyle = tt == html.StartTagToken
			}
			if blockElements[a] {
				text.WriteByte('\n')
			}
			for more := mayHaveLink(z.Raw()); more; {
				var key, val []byte
				key, val, more = z.TagAttr()
				if linkAttributes[string(key)] || a == atom.Meta && string(key) == "content" {
					text.WriteByte('\n')
					text.Write(val)
					text.WriteByte('\n')
				}
			}
		}
	}
	return x.Find(text.String())
}

// tagAtom returns the atom of the element whose tag is raw ("<IMG
// src=...>", "</p>"), without the copy Tokenizer.TagName makes.
func tagAtom(raw []byte) atom.Atom {
	var name [16]byte
	n := 0
	for _, c := range raw {
		switch {
		case c == '<' && n == 0, c == '/' && n == 0:
			continue
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			return atom.Lookup(name[:n])
		}
		if n == len(name) {
			return 0
		}
		name[n] = c
		n++
	}
	return atom.Lookup(name[:n])
}

// mayHaveLink reports whether a raw tag may have one of linkAttributes or
// a content attribute: whether an attribute name before one of its '='
// is one. Reading the attributes themselves copies each of them.
func mayHaveLink(raw []byte) bool {
	for i, c := range raw {
		if c != '=' {
			continue
		}
		j := i
		for j > 0 && (raw[j-1] == ' ' || raw[j-1] == '\t' || raw[j-1] == '\n' || raw[j-1] == '\r') {
			j--
		}
		var name [10]byte
		n := 0
		for k := j - 1; k >= 0 && n < len(name); k-- {
			c := raw[k] | 0x20
			if c < 'a' || c > 'z' {
				break
			}
			n++
			name[len(name)-n] = c
		}
		if n > 0 && (linkAttributes[string(name[len(name)-n:])] || string(name[len(name)-n:]) == "content") {
			return true
		}
	}
	return false
}

// linkAttributes are the attributes whose value is a link's target.
var linkAttributes = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true,
	"background": true, "poster": true, "cite": true, "srcset": true,
}

// blockElements are the elements a browser shows apart from the text
// around them.
var blockElements = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Br: true, atom.Dd: true, atom.Div: true, atom.Dl: true, atom.Dt: true,
	atom.Fieldset: true, atom.Figcaption: true, atom.Figure: true, atom.Footer: true,
	atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Header: true, atom.Hr: true, atom.Li: true,
	atom.Main: true, atom.Nav: true, atom.Ol: true, atom.P: true, atom.Pre: true,
	atom.Section: true, atom.Table: true, atom.Tbody: true, atom.Td: true,
	atom.Tfoot: true, atom.Th: true, atom.Thead: true, atom.Title: true, atom.Tr: true,
	atom.Ul: true, atom.Body: true, atom.Head: true, atom.Html: true,
	atom.Script: true, atom.Style: true, atom.Textarea: true, atom.Select: true,
	atom.Option: true, atom.Iframe: true, atom.Img: true, atom.Input: true, atom.Button: true,
}
