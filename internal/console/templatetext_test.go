package console

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"text/template/parse"
	"time"
	"unicode"

	"golang.org/x/net/html"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// untranslatedAllowed is the whole allow-list of words a template may
// print without the catalogue: the product's name, which is the same in
// every language, and the names of the two file formats offered for
// download, which no language translates. Everything else with a letter in it goes through t.
var untranslatedAllowed = map[string]bool{"Vigil": true, "CSV": true, "JSON": true}

// visibleAttributes are the attributes a reader sees or hears (screen
// readers read aria-label and alt); value counts only where it is a
// button's caption, on an input of type submit, button or reset (a
// button element shows its content, not its value).
var visibleAttributes = map[string]bool{"placeholder": true, "title": true, "aria-label": true, "alt": true}

// TestTemplatesPrintOnlyCatalogueText fails when a template holds text a
// reader sees that does not come from the catalogue: a letter in a text
// node or in a visible attribute, outside the allow-list. The templates'
// text nodes are joined in tree order, with a marker where an action
// prints, and read with an HTML tokenizer so that tags split by actions
// still parse.
func TestTemplatesPrintOnlyCatalogueText(t *testing.T) {
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	funcs := templateFuncs(cat, "en")
	for _, f := range files {
		b, err := fs.ReadFile(templateFiles, f)
		if err != nil {
			t.Fatal(err)
		}
		trees, err := parse.Parse(f, string(b), "{{", "}}", map[string]any(funcs), builtins)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tree := range trees {
			var sb strings.Builder
			joinText(&sb, tree.Root)
			for _, word := range literalWords(sb.String()) {
				t.Errorf("%s (%s): %q is printed without the catalogue", f, tree.Name, word)
			}
		}
	}
}

// builtins are text/template's own functions, named so the parser knows them.
var builtins = map[string]any{}

func init() {
	for _, name := range strings.Fields("and or not eq ne lt le gt ge len index slice print printf println html js urlquery call") {
		builtins[name] = fmt.Sprint
	}
}

// actionMarker stands where a template action prints; it holds no letter.
const actionMarker = "\x01"

func joinText(sb *strings.Builder, n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			joinText(sb, c)
		}
	case *parse.TextNode:
		sb.Write(n.Text)
	case *parse.IfNode:
		joinText(sb, n.List)
		joinText(sb, n.ElseList)
	case *parse.RangeNode:
		joinText(sb, n.List)
		joinText(sb, n.ElseList)
	case *parse.WithNode:
		joinText(sb, n.List)
		joinText(sb, n.ElseList)
	default:
		sb.WriteString(actionMarker)
	}
}

// literalWords returns the words of markup that a reader would see.
func literalWords(markup string) []string {
	var words []string
	z := html.NewTokenizer(strings.NewReader(markup))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return words
		case html.TextToken:
			words = append(words, wordsOf(string(z.Text()))...)
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			button := false
			for _, a := range tok.Attr {
				if tok.Data == "input" && a.Key == "type" && (a.Val == "submit" || a.Val == "button" || a.Val == "reset") {
					button = true
				}
			}
			for _, a := range tok.Attr {
				if visibleAttributes[a.Key] || (a.Key == "value" && button) {
					words = append(words, wordsOf(a.Val)...)
				}
			}
		}
	}
}

func wordsOf(text string) []string {
	var words []string
	for _, w := range strings.FieldsFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || r == []rune(actionMarker)[0]
	}) {
		if strings.IndexFunc(w, unicode.IsLetter) >= 0 && !untranslatedAllowed[w] {
			words = append(words, w)
		}
	}
	return words
}

// TestLiteralWords checks the checker on markup it must refuse and markup
// it must accept.
func TestLiteralWords(t *testing.T) {
	for markup, want := range map[string]string{
		`<p>Time (UTC)</p>`:                                                "Time (UTC)",
		`<input placeholder="example.be">`:                                 "example.be",
		`<a title="Back` + actionMarker + `">x</a>`:                        "Back x",
		`<input type="submit" value="Save">`:                               "Save",
		`<p>` + actionMarker + ` · 12 | —</p>`:                             "",
		`<input type="hidden" name="csrf" value="a">`:                      "",
		`<button name="action" value="save">` + actionMarker + `</button>`: "",
		`<footer>Vigil ` + actionMarker + `</footer>`:                      "",
	} {
		if got := strings.Join(literalWords(markup), " "); got != want {
			t.Errorf("literalWords(%q) = %q, want %q", markup, got, want)
		}
	}
}

// TestKeyBadgeLanguage checks that why a contact's key cannot be used,
// which the pgpmime package finds, reaches the reader in their language.
func TestKeyBadgeLanguage(t *testing.T) {
	env := newEnv(t, nil)
	for lang, want := range map[string]string{
		"en": "not an OpenPGP public key (want a block",
		"nl": "geen publieke OpenPGP-sleutel (verwacht een blok",
		"fr": "pas une clé publique OpenPGP (un bloc",
		"de": "kein öffentlicher OpenPGP-Schlüssel (erwartet wird ein Block",
	} {
		b := env.console.keyBadge(&visit{lang: lang}, "not a key", time.Now())
		if b.Usable || !strings.Contains(b.Text, want) {
			t.Errorf("%s: badge %q, want it to contain %q", lang, b.Text, want)
		}
	}
}
