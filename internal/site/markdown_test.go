package site

import (
	"strings"
	"testing"
)

func TestRenderMarkdown(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"paragraphs", "one\ntwo\n\nthree", "<p>one two</p>\n<p>three</p>\n"},
		{"headings start at h3", "# Top\n## Sub", "<h3>Top</h3>\n<h4>Sub</h4>\n"},
		{"list", "- a\n- *b*\n1. c", "<ul>\n<li>a</li>\n<li><em>b</em></li>\n</ul>\n<ol>\n<li>c</li>\n</ol>\n"},
		{"code", "```\n<b>x</b>\n```\nuse `rm -rf <dir>`", "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre>\n<p>use <code>rm -rf &lt;dir&gt;</code></p>\n"},
		{"link", "[fix](https://vendor.example/a?b=1&c=2)", `<p><a href="https://vendor.example/a?b=1&amp;c=2">fix</a></p>` + "\n"},
		{"javascript link", "[click](javascript:alert(1))", "<p>click)</p>\n"},
		{"data link", "[click](data:text/html,x)", "<p>click</p>\n"},
		{"script", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"},
		{"handler", `<img src=x onerror="alert(1)">`, "<p>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;</p>\n"},
		{"quote in link", `[x](https://a.example/"onmouseover="alert(1))`, `<p><a href="https://a.example/&#34;onmouseover=&#34;alert(1">x</a>)</p>` + "\n"},
		{"unclosed", "**bold and [link", "<p>**bold and [link</p>\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := string(renderMarkdown(c.in)); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// FuzzRenderMarkdown checks that no input yields an element or an
// attribute the renderer does not write itself.
func FuzzRenderMarkdown(f *testing.F) {
	for _, s := range []string{"# x", "[a](https://b.example)", "<script>", "**a *b* `c`**", "- [x](javascript:y)"} {
		f.Add(s)
	}
	allowed := []string{"<p>", "</p>", "<h3>", "</h3>", "<h4>", "</h4>", "<h5>", "</h5>", "<h6>", "</h6>", "<ul>", "</ul>",
		"<ol>", "</ol>", "<li>", "</li>", "<pre>", "</pre>", "<code>", "</code>", "<strong>", "</strong>", "<em>", "</em>", "</a>"}
	f.Fuzz(func(t *testing.T, in string) {
		out := string(renderMarkdown(in))
		for i := 0; i < len(out); i++ {
			if out[i] != '<' {
				continue
			}
			rest := out[i:]
			ok := strings.HasPrefix(rest, `<a href="http`) || strings.HasPrefix(rest, `<a href="mailto:`)
			for _, a := range allowed {
				ok = ok || strings.HasPrefix(rest, a)
			}
			if !ok {
				t.Fatalf("%q renders an element of its own: %q", in, rest[:min(len(rest), 40)])
			}
		}
	})
}
