package markdown

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestRender checks what an advisory's body uses comes out as the
// HTML a reader expects.
func TestRender(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // substrings of the output
		not       []string
	}{
		{"heading and emphasis", "## Impact\n\nA *remote* attacker can **run code**.",
			[]string{"<h4>Impact</h4>", "<em>remote</em>", "<strong>run code</strong>"}, nil},
		{"link", "[the vendor's advisory](https://example.org/sa-1 \"SA-1\")",
			[]string{`<a href="https://example.org/sa-1" title="SA-1" rel="nofollow noopener noreferrer">the vendor&#39;s advisory</a>`}, nil},
		{"relative link", "[our guide](/guides/patching)",
			[]string{`<a href="/guides/patching" rel="nofollow noopener noreferrer">our guide</a>`}, nil},
		{"mail link", "[write to us](mailto:cert@example.org)",
			[]string{`<a href="mailto:cert@example.org" rel="nofollow noopener noreferrer">`}, nil},
		{"autolink", "See https://example.org/x and www.example.com.",
			[]string{`<a href="https://example.org/x" rel="nofollow noopener noreferrer">https://example.org/x</a>`, `<a href="http://www.example.com" rel="nofollow noopener noreferrer">www.example.com</a>`}, nil},
		{"table", "| Product | Fixed in |\n|:--|--:|\n| Gateway | 4.2.1 |",
			[]string{"<table>", `<th align="left">Product</th>`, `<td align="right">4.2.1</td>`}, nil},
		{"strikethrough", "~~version 4.1~~ version 4.2", []string{"<del>version 4.1</del>"}, nil},
		{"code", "Run `apt upgrade`:\n\n```sh\nsudo apt upgrade <pkg>\n```",
			[]string{"<code>apt upgrade</code>", "<pre><code>sudo apt upgrade &lt;pkg&gt;\n</code></pre>"}, []string{"class="}},
		{"lists and quotes", "1. patch\n2. reboot\n\n> quoted",
			[]string{"<ol>", "<li>patch</li>", "<blockquote>"}, nil},
		{"https image", "![diagram](https://example.org/d.png)", []string{`<img src="https://example.org/d.png" alt="diagram">`}, nil},
		{"relative image", "![diagram](/static/d.png)", []string{`<img src="/static/d.png" alt="diagram">`}, nil},
		{"http image becomes its alt text", "![tracker](http://example.org/t.gif)", []string{"<p>tracker</p>"}, []string{"<img"}},
		{"scheme-relative image becomes its alt text", "![other site](//example.org/t.gif)", []string{"<p>other site</p>"}, []string{"<img"}},
		{"raw HTML is dropped", "<div class=\"x\">kept?</div>\n\nafter", []string{"<p>after</p>"}, []string{"<div", "kept?"}},
		{"entities", "AT&amp;T &lt;b&gt;", []string{"AT&amp;T &lt;b&gt;"}, []string{"<b>"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := string(Render(tc.src))
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("%q in\n%s", n, out)
				}
			}
			checkSafe(t, tc.src, out)
		})
	}
}

func TestPlain(t *testing.T) {
	body := "## Impact\n\nA *remote* attacker can [run code](https://example.org) on the **gateway**.\n" +
		"<script>alert(1)</script>\n\n- patch to 4.2\n- restrict access\n\n![diagram](https://example.org/d.png)\n\n" +
		"`a && b` AT&amp;T \\*not emphasis\\* \\&amp;"
	for _, tc := range []struct {
		name, src string
		max       int
		want      string
	}{
		{"whole", body, 0,
			"Impact\n\nA remote attacker can run code on the gateway.\n\n- patch to 4.2\n- restrict access\n\ndiagram\n\na && b AT&T *not emphasis* &amp;"},
		{"cut at a word", body, 30, "Impact\n\nA remote attacker can…"},
		{"cut keeps whole text that fits", "short text", 10, "short text"},
		{"cut inside one long word", "Supercalifragilistic", 8, "Superca…"},
		{"cut counts characters, not bytes", "Sécurité réseau éprouvée", 16, "Sécurité réseau…"},
		{"cut drops trailing punctuation", "Patch now, then reboot.", 12, "Patch now…"},
		{"raw HTML is dropped", "<p onclick=\"x\">kept?</p>\n\nafter <b>bold</b>", 0, "after bold"},
		{"autolink keeps its address", "see https://example.org/x", 0, "see https://example.org/x"},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", 0, "a b\n1 2"},
		{"code block", "```\nline 1\nline 2\n```", 0, "line 1\nline 2"},
		{"empty", "", 10, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Plain(tc.src, tc.max)
			if got != tc.want {
				t.Errorf("Plain(%q, %d) =\n%q\nwant\n%q", tc.src, tc.max, got, tc.want)
			}
			if tc.max > 0 && utf8.RuneCountInString(got) > tc.max {
				t.Errorf("%d characters, more than %d", utf8.RuneCountInString(got), tc.max)
			}
		})
	}
}

// FuzzPlain checks Plain never panics, never exceeds max, and returns
// valid text for valid text.
func FuzzPlain(f *testing.F) {
	f.Add("## Impact\n\nA *remote* attacker, see https://example.org", 20)
	f.Add("Sécurité réseau", 3)
	f.Fuzz(func(t *testing.T, src string, max int) {
		got := Plain(src, max)
		if max > 0 && utf8.RuneCountInString(got) > max {
			t.Fatalf("Plain(%q, %d) = %q: too long", src, max, got)
		}
		if utf8.ValidString(src) && !utf8.ValidString(got) {
			t.Fatalf("Plain(%q, %d) = %q: not UTF-8", src, max, got)
		}
	})
}

// TestTooComplex checks that bodies built to make the parser slow are
// shown as their text, and that real advisories, long ones included,
// are parsed.
func TestTooComplex(t *testing.T) {
	nested := func(levels int) string {
		var b strings.Builder
		for i := range levels {
			b.WriteString(strings.Repeat("  ", i) + "- x\n")
		}
		return b.String()
	}
	for name, src := range map[string]string{
		"unclosed links":  strings.Repeat("[a](", 50000),
		"brackets":        strings.Repeat("[", 200000),
		"emphasis":        strings.Repeat("*a", 100000),
		"quotes":          strings.Repeat(">", 10000) + " deep",
		"spaced quotes":   strings.Repeat("> ", 100) + "deep",
		"nested lists":    nested(500),
		"raw HTML":        strings.Repeat("<a href='x'>", 5000),
		"huge table":      "|a|b|\n|-|-|\n" + strings.Repeat("|x|y|\n", 30000),
		"over the bound":  strings.Repeat("word ", MaxSource/5+1),
		"script in a big": strings.Repeat("[", 3000) + "\n\n<script>alert(1)</script>",
		"code spans":      "`" + strings.Repeat("``a", 68000),
	} {
		t.Run(name, func(t *testing.T) {
			if !tooComplex(src) {
				t.Fatal("parsed as Markdown")
			}
			out := string(Render(src))
			if out != string(paragraphs(src)) {
				t.Errorf("not shown as text")
			}
			checkSafe(t, name, out)
			if strings.Contains(out, "<script") || strings.Contains(out, "<a ") {
				t.Errorf("markup in %.200q", out)
			}
			if got := Plain(src, 50); utf8.RuneCountInString(got) > 50 {
				t.Errorf("Plain: %q", got)
			}
		})
	}
	var long strings.Builder
	long.WriteString("## Affected versions\n\n| product | versions | fixed |\n|---|---|---|\n")
	for i := range 300 {
		long.WriteString("| gateway_" + strings.Repeat("x", i%7) + " | < 4.2.1 | 4.2.1 |\n")
	}
	for range 150 {
		long.WriteString("\n- see [the *vendor's* advice](https://example.org/a_b) and `snake_case_name`\n")
	}
	long.WriteString("\n```json\n" + nestedJSON(30) + "\n```\n\n> > > quoted thrice\n")
	if tooComplex(long.String()) {
		t.Error("a long advisory is not parsed")
	}
	if out := string(Render(long.String())); !strings.Contains(out, "<table>") || !strings.Contains(out, "<blockquote>") {
		t.Errorf("a long advisory renders without its table or quotes")
	}
}

// nestedJSON is a JSON object nested depth deep and indented by two
// spaces a level, as a proof of concept in an advisory may be.
func nestedJSON(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat("  ", i) + "{\"a\":\n")
	}
	for i := depth - 1; i >= 0; i-- {
		b.WriteString(strings.Repeat("  ", i) + "}\n")
	}
	return b.String()
}

// TestRenderConcurrently renders from many goroutines at once, as the
// site's handlers do (run with -race).
func TestRenderConcurrently(t *testing.T) {
	src := "## Title\n\n[link](https://example.org) ![i](https://example.org/i.png) ![t](http://example.org/t.gif)"
	want := Render(src)
	done := make(chan string)
	for range 8 {
		go func() {
			got := ""
			for range 50 {
				if r := Render(src); r != want {
					got = string(r)
				}
				_ = Plain(src, 20)
			}
			done <- got
		}()
	}
	for range 8 {
		if got := <-done; got != "" {
			t.Errorf("concurrent render %q, want %q", got, want)
		}
	}
}

// TestHeadingsBelowThePage: a body's headings sit below the page's title
// and section heading, and never beyond h6.
func TestHeadingsBelowThePage(t *testing.T) {
	got := string(Render("# Impact\n\n## Details\n\n##### Deep\n\n###### Deepest"))
	for _, want := range []string{"<h3>Impact</h3>", "<h4>Details</h4>", "<h6>Deep</h6>", "<h6>Deepest</h6>"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %s in %s", want, got)
		}
	}
	if strings.Contains(got, "<h1>") || strings.Contains(got, "<h2>") {
		t.Errorf("a body heading at the page's level: %s", got)
	}
}
