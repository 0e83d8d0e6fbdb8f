package console

import (
	"go/ast"
	"go/parser"
	"go/token"
	"html/template"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestTemplateMessagesExist parses every template and checks that each
// {{t "id"}} and {{label "id"}} names a message of the English catalogue.
func TestTemplateMessagesExist(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	files, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("templates: %v %v", files, err)
	}
	total := 0
	for _, f := range files {
		tmpl, err := template.New("").Funcs(templateFuncs(cat, "en")).ParseFS(templateFiles, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tt := range tmpl.Templates() {
			if tt.Tree == nil {
				continue
			}
			for _, id := range messageIDs(tt.Tree.Root) {
				total++
				if !cat.Has(id) {
					t.Errorf("%s: message %q is not in the English catalogue", f, id)
				}
			}
		}
	}
	if total < 100 {
		t.Fatalf("found only %d t-calls: is the walk broken?", total)
	}
}

// messageIDs returns the string arguments of t-calls under n.
func messageIDs(n parse.Node) []string {
	var ids []string
	var walk func(parse.Node)
	walkPipe := func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			walk(c)
		}
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walkPipe(n.Pipe)
		case *parse.IfNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walkPipe(n.Pipe)
		case *parse.PipeNode:
			walkPipe(n)
		case *parse.CommandNode:
			if len(n.Args) >= 2 {
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && (id.Ident == "t" || id.Ident == "label") {
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						ids = append(ids, s.Text)
					}
				}
			}
			for _, a := range n.Args {
				if p, ok := a.(*parse.PipeNode); ok {
					walkPipe(p)
				}
			}
		}
	}
	walk(n)
	return ids
}

// TestCodeMessagesExist checks the message IDs the Go code picks (the msg
// constants) against the English catalogue.
func TestCodeMessagesExist(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(node ast.Node) bool {
			spec, ok := node.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range spec.Names {
				if !strings.HasPrefix(name.Name, "msg") || i >= len(spec.Values) {
					continue
				}
				lit, ok := spec.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				id, _ := strconv.Unquote(lit.Value)
				n++
				// A counted message exists as its plural forms.
				if !cat.Has(id) && !cat.Has(id+".other") {
					t.Errorf("%s: %s = %q is not in the English catalogue", f, name.Name, id)
				}
			}
			return true
		})
	}
	if n < 40 {
		t.Fatalf("found only %d msg constants", n)
	}
	for code, id := range flashes {
		if !cat.Has(id) {
			t.Errorf("flash %s: %q missing", code, id)
		}
	}
}

// TestLabelColon: a label before what it names takes its language's
// colon, which French writes after a no-break space.
func TestLabelColon(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{
		"en": "Show:", "nl": "Tonen:", "fr": "Afficher\u00a0:", "de": "Anzeigen:",
	} {
		label := templateFuncs(cat, lang)["label"].(func(string) string)
		if got := label("deadletters.filter"); got != want {
			t.Errorf("%s: label = %q, want %q", lang, got, want)
		}
	}
}
