package markdown

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// payload is what every attack tries to run. The tests look for it in
// the rendered HTML's attributes, and the browser test for its effect
// (window.__pwned set, a dialog, a request for /pwned).
const payload = "window.__pwned=1;alert(1);location='/pwned'"

// xssVectors are known ways of running script through Markdown or the
// HTML inside it: raw HTML, event handlers, dangerous addresses in every
// spelling, and markup nested to confuse a sanitizer.
var xssVectors = []struct{ name, src string }{
	{"script tag", "<script>" + payload + "</script>"},
	{"script tag inline", "Hello <script>" + payload + "</script> world"},
	{"script in a list", "- <script>" + payload + "</script>"},
	{"img onerror", `<img src=x onerror="` + payload + `">`},
	{"img onerror inline", `text <img src=x onerror="` + payload + `"> text`},
	{"a href javascript", `<a href="javascript:` + payload + `">click</a>`},
	{"a onclick", `<a href="https://example.org" onclick="` + payload + `">click</a>`},
	{"markdown javascript link", "[click](javascript:" + payload + ")"},
	{"markdown javascript link mixed case", "[click](JaVaScRiPt:" + payload + ")"},
	{"markdown javascript link in angle brackets", "[click](<javascript:" + payload + ">)"},
	{"markdown javascript link decimal entity", "[click](&#106;avascript:" + payload + ")"},
	{"markdown javascript link hex entities", "[click](&#x6A;&#x61;&#x76;&#x61;script:" + payload + ")"},
	{"markdown javascript link colon entity", "[click](javascript&colon;" + payload + ")"},
	{"markdown javascript link tab entity", "[click](java&#x09;script:" + payload + ")"},
	{"markdown javascript link escaped", `[click](javascript\:` + payload + ")"},
	{"markdown javascript reference link", "[click][1]\n\n[1]: javascript:" + payload},
	{"markdown javascript autolink", "<javascript:" + payload + ">"},
	{"html javascript entity-encoded", `<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;` + payload + `">click</a>`},
	{"markdown vbscript link", "[click](vbscript:msgbox(1))"},
	{"markdown data link", "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"},
	{"markdown data image", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"},
	{"markdown javascript image", "![x](javascript:" + payload + ")"},
	{"html data link", `<a href="data:text/html,<script>` + payload + `</script>">click</a>`},
	{"svg onload", `<svg onload="` + payload + `"></svg>`},
	{"svg script", `<svg><script>` + payload + `</script></svg>`},
	{"svg animate href", `<svg><a><animate attributeName="href" values="javascript:` + payload + `"/><text x="20" y="20">click</text></a></svg>`},
	{"iframe javascript", `<iframe src="javascript:` + payload + `"></iframe>`},
	{"iframe srcdoc", `<iframe srcdoc="<script>` + payload + `</script>"></iframe>`},
	{"object data", `<object data="javascript:` + payload + `"></object>`},
	{"embed", `<embed src="javascript:` + payload + `">`},
	{"style attribute", `<p style="background:url(javascript:` + payload + `)">styled</p>`},
	{"style element", `<style>body{background:url("javascript:` + payload + `")}</style>`},
	{"div onmouseover", `<div onmouseover="` + payload + `">hover</div>`},
	{"details ontoggle", `<details open ontoggle="` + payload + `"><summary>x</summary></details>`},
	{"body onload", `<body onload="` + payload + `">`},
	{"meta refresh", `<meta http-equiv="refresh" content="0;url=javascript:` + payload + `">`},
	{"base href", `<base href="javascript:` + payload + `//">[rel](x)`},
	{"form action", `<form action="javascript:` + payload + `"><button>send</button></form>`},
	{"input autofocus", `<input autofocus onfocus="` + payload + `">`},
	{"math xlink", `<math><mi xlink:href="javascript:` + payload + `">click</mi></math>`},
	{"noscript mutation", `<noscript><p title="</noscript><img src=x onerror=` + payload + `>">`},
	{"markdown link with html in text", `[<img src=x onerror="` + payload + `">](https://example.org)`},
	{"markdown link title breaking out", `[click](https://example.org "a\" onmouseover=\"` + payload + `")`},
	{"markdown link address breaking out", `[click](https://example.org/"onmouseover="` + payload + `)`},
	{"markdown image alt breaking out", `![a" onerror="` + payload + `](https://example.org/a.png)`},
	{"image in a javascript link", "[![x](https://example.org/a.png)](javascript:" + payload + ")"},
	{"html around markdown", "<div>\n\n[click](javascript:" + payload + ")\n\n</div>"},
	{"markdown in html attribute", `<a href="[x](javascript:` + payload + `)">click</a>`},
	{"emphasis around html", "**<img src=x onerror=\"" + payload + "\">**"},
	{"blockquote script", "> <script>" + payload + "</script>"},
	{"table cell html", "| a |\n|---|\n| <img src=x onerror=\"" + payload + "\"> |"},
	{"code span is text", "`<script>" + payload + "</script>`"},
	{"unclosed tag", `<img src=x onerror="` + payload},
	{"comment trick", `<!--><img src=x onerror="` + payload + `">-->`},
	{"cdata trick", `<![CDATA[><img src=x onerror="` + payload + `">]]>`},
	{"linkified javascript", "www.example.org/?javascript:" + payload + " and javascript:" + payload},
}

// allowedElements are the elements Render may write.
var allowedElements = map[string]bool{
	"p": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"em": true, "strong": true, "del": true, "code": true, "pre": true, "blockquote": true,
	"ul": true, "ol": true, "li": true, "a": true, "img": true, "br": true, "hr": true,
	"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
}

// checkSafe fails the test for every problem unsafe finds in out.
func checkSafe(t *testing.T, src, out string) {
	t.Helper()
	for _, p := range unsafe(out) {
		t.Error(p)
	}
	if t.Failed() {
		t.Logf("source %q\nrendered %q", src, out)
	}
}

// unsafe parses out as HTML and lists every element, attribute or
// address that could run script or load from a place it should not.
func unsafe(out string) []string {
	nodes, err := html.ParseFragment(strings.NewReader(out), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			problems = append(problems, checkElement(n)...)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return problems
}

// checkElement checks one element and its attributes.
func checkElement(n *html.Node) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if !allowedElements[n.Data] {
		bad("element <%s> written", n.Data)
	}
	for _, a := range n.Attr {
		key := strings.ToLower(a.Key)
		switch {
		case strings.HasPrefix(key, "on"):
			bad("<%s> has the event handler %s=%q", n.Data, a.Key, a.Val)
		case key == "style":
			bad("<%s> has a style %q", n.Data, a.Val)
		case key == "href" && n.Data == "a":
			if !linkAllowed(a.Val) {
				bad("<a> links to %q", a.Val)
			}
		case key == "src" && n.Data == "img":
			if !imageAllowed(a.Val) {
				bad("<img> loads %q", a.Val)
			}
		case key == "rel" && n.Data == "a":
			if a.Val != Rel {
				bad("<a> has rel %q", a.Val)
			}
		case key == "title" || key == "alt" || key == "align" && (n.Data == "td" || n.Data == "th"):
		default:
			bad("<%s> has the attribute %s=%q", n.Data, a.Key, a.Val)
		}
	}
	if n.Data == "a" && attr(n, "href") != "" && attr(n, "rel") != Rel {
		bad("<a href=%q> lacks rel=%q", attr(n, "href"), Rel)
	}
	return problems
}

// TestUnsafeCatches shows the checker the tests rely on finds what it
// is meant to find, in HTML that did not go through Render.
func TestUnsafeCatches(t *testing.T) {
	for _, raw := range []string{
		`<script>x</script>`,
		`<img src="https://example.org/a.png" onerror="x">`,
		`<a href="javascript:x" rel="` + Rel + `">x</a>`,
		`<a href="JaVaScRiPt:x" rel="` + Rel + `">x</a>`,
		`<a href="data:text/html,x" rel="` + Rel + `">x</a>`,
		`<a href="https://example.org">no rel</a>`,
		`<img src="http://example.org/a.png">`,
		`<img src="//example.org/a.png">`,
		`<p style="color:red">x</p>`,
		`<iframe src="https://example.org"></iframe>`,
		`<svg></svg>`,
		`<p id="x">x</p>`,
	} {
		if len(unsafe(raw)) == 0 {
			t.Errorf("the checker finds nothing wrong in %s", raw)
		}
	}
}

// linkAllowed reports whether a link may point to href: http, https,
// mailto or a relative address.
func linkAllowed(href string) bool {
	u, err := url.Parse(href)
	if err != nil || strings.ContainsAny(href, " \t\n") {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "", "http", "https", "mailto":
		return true
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestRenderXSS renders every attack and checks the HTML is inert.
func TestRenderXSS(t *testing.T) {
	for _, v := range xssVectors {
		t.Run(v.name, func(t *testing.T) {
			out := string(Render(v.src))
			checkSafe(t, v.src, out)
			// checkSafe has checked every address's scheme; these are
			// the words of an attack that must not be markup at all.
			lower := strings.ToLower(out)
			for _, bad := range []string{"<script", "onerror", "onload", "onmouseover", "<iframe", "<svg", "<object", "<embed", "style="} {
				if strings.Contains(lower, bad) && !textOnly(out, bad) {
					t.Errorf("%q in markup: %q", bad, out)
				}
			}
		})
	}
}

// textOnly reports whether s is nowhere in out's element and attribute
// names: the words of an attack shown as text, or inside an address
// checkSafe has accepted, are harmless.
func textOnly(out, s string) bool {
	nodes, err := html.ParseFragment(strings.NewReader(out), &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return false
	}
	var markup strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			markup.WriteString("<" + n.Data)
			for _, a := range n.Attr {
				markup.WriteString(" " + a.Key + "=")
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	return !strings.Contains(strings.ToLower(markup.String()), s)
}

// FuzzRender checks that nothing Render writes, whatever the input, has
// an element, attribute or address that could run script.
func FuzzRender(f *testing.F) {
	for _, v := range xssVectors {
		f.Add(v.src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out := string(Render(src))
		checkSafe(t, src, out)
		_ = Plain(src, 50)
	})
}
