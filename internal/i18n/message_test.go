package i18n

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestMessage(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	m := M("constituency.error.network.hostbits", "192.0.2.0/24")
	if got := m.String(); got != "host bits are set; the network is 192.0.2.0/24" {
		t.Errorf("String = %q", got)
	}
	if got := m.In(c, "nl"); got != "er staan hostbits aan; het netwerk is 192.0.2.0/24" {
		t.Errorf("In(nl) = %q", got)
	}
	if m != M("constituency.error.network.hostbits", "192.0.2.0/24") || m == M("constituency.error.network.hostbits", "198.51.100.0/24") {
		t.Error("messages do not compare by ID and arguments")
	}
	if !(Message{}).IsZero() || (Message{}).String() != "" || m.IsZero() {
		t.Error("zero message")
	}
}

// TestMessageIDsExist finds every i18n.M("id", …) in Vigil's Go code and
// checks that the catalogue has id: a mistyped ID would show the ID
// itself to a person.
func TestMessageIDsExist(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(file, func(node ast.Node) bool {
			call, ok := node.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			// The position of the message ID among the arguments.
			at, ok := map[string]int{"M": 0, "NewError": 0, "Wrap": 1}[sel.Sel.Name]
			if !ok || len(call.Args) <= at {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "i18n" {
				return true
			}
			lit, ok := call.Args[at].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			id, _ := strconv.Unquote(lit.Value)
			n++
			if !c.Has(id) {
				t.Errorf("%s: i18n.%s(%q) is not in the catalogue", path, sel.Sel.Name, id)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 30 {
		t.Errorf("found only %d messages: is the walk looking in the right place?", n)
	}
}

// TestMessageQuotesMessage checks that a message quoting another is
// translated whole, the quoted one in the same language.
func TestMessageQuotesMessage(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	m := M("api.error.param.filter", "ip", M("search.error.ip"))
	if got, want := m.In(c, "nl"), c.T("nl", "api.error.param.filter", "ip", c.T("nl", "search.error.ip")); got != want {
		t.Errorf("In(nl) = %q, want %q", got, want)
	}
	if got := m.String(); !strings.Contains(got, "Not an IP address") {
		t.Errorf("String = %q", got)
	}
}

// TestTQuotesMessagesInItsLanguage: a Message given to T as an argument
// (a template quoting a feed's problem) is said in T's language, and the
// caller's arguments are left as they were.
func TestTQuotesMessagesInItsLanguage(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	inner := M("config.error.file.missing", "a.pem")
	args := []any{inner}
	got := c.T("de", "feedadmin.problem", args...)
	if want := "Die Version aus der Konsole ist unbrauchbar (a.pem existiert nicht.); stattdessen läuft die Version aus der Konfigurationsdatei."; got != want {
		t.Errorf("T = %q, want %q", got, want)
	}
	if args[0] != any(inner) {
		t.Errorf("T changed its caller's arguments: %v", args)
	}
}

// TestInOr: a reason kept twice is said by its message when the
// catalogue knows it, by its English text otherwise.
func TestInOr(t *testing.T) {
	c := Embedded()
	for _, tc := range []struct {
		m    Message
		want string
	}{
		{Message{}, "kept"},
		{M("no.such.message.id"), "kept"},
		{M("label.colon", "x"), "x\u00a0:"},
	} {
		if got := tc.m.InOr(c, "fr", "kept"); got != tc.want {
			t.Errorf("%v.InOr = %q, want %q", tc.m, got, tc.want)
		}
	}
}

// TestReplace: Replace reaches every text argument, in quoted messages
// too, and leaves numbers and the catalogue's words alone, so that no
// language's rendering nor the stored form keeps what it replaced.
func TestReplace(t *testing.T) {
	hide := func(s string) string { return strings.ReplaceAll(s, "s3cret", "[redacted]") }
	m := M("collector.http.toolarge", "https://a.test/?key=s3cret", 42)
	quoting := M("pipeline.deliver.failed", "s3cret.csv", "feed", M("collector.http.get", "u", errors.New("echo s3cret")))
	for _, tc := range []struct {
		m    Message
		want string
	}{
		{m.Replace(hide), "GET https://a.test/?key=[redacted]: 42 bytes: input exceeds the size limit"},
		{quoting.Replace(hide), "deliver [redacted].csv to feed feed: GET u: echo [redacted]"},
		{Message{}.Replace(hide), ""},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("English %q, want %q", got, tc.want)
		}
		for _, lang := range Codes {
			if got := tc.m.In(Embedded(), lang); strings.Contains(got, "s3cret") {
				t.Errorf("%s: %q", lang, got)
			}
		}
		if strings.Contains(tc.m.Encode(), "s3cret") {
			t.Errorf("stored %s", tc.m.Encode())
		}
	}
	if m.Args()[0] != "https://a.test/?key=s3cret" {
		t.Errorf("Replace changed its receiver: %v", m.Args())
	}
}
