package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestMain runs the package's tests in English whatever the locale of
// the machine running them, as their expected outputs are English; the
// tests of other languages set VIGIL_LANG themselves.
func TestMain(m *testing.M) {
	os.Setenv("VIGIL_LANG", "en")
	code := m.Run()
	removeSharedBuilds()
	os.Exit(code)
}

func TestCLILanguage(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "en"},
		{map[string]string{"VIGIL_LANG": "nl"}, "nl"},
		{map[string]string{"LANG": "nl_BE.UTF-8"}, "nl"},
		{map[string]string{"LANG": "fr_BE.UTF-8", "LC_MESSAGES": "de_DE.UTF-8@euro"}, "de"},
		{map[string]string{"LANG": "nl_BE.UTF-8", "LC_ALL": "fr_FR.UTF-8", "LC_MESSAGES": "de_DE"}, "fr"},
		{map[string]string{"LANG": "de", "VIGIL_LANG": "fr"}, "fr"},
		{map[string]string{"LANG": "C.UTF-8"}, "en"},
		{map[string]string{"LC_ALL": "POSIX", "LANG": "nl_NL.UTF-8"}, "en"},
		{map[string]string{"LANG": "ja_JP.UTF-8"}, "en"},
		{map[string]string{"VIGIL_LANG": "DE-ch"}, "de"},
	} {
		if got := cliLanguage(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.env, got, tc.want)
		}
	}
}

// TestCommandsSpeakTheLanguage runs commands the way a shell with
// VIGIL_LANG (or LANG) set would and checks that what they say to a
// person is in that language, from the catalogue, and that machine
// output (JSON Lines) is the same in every language.
func TestCommandsSpeakTheLanguage(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "peer.jsonl")
	if err := os.WriteFile(file, []byte(sampleJSONL), 0o600); err != nil {
		t.Fatal(err)
	}
	cat := i18n.Embedded()
	// Read once in English: the runs below all read the same lines again.
	if code, _, errOut := run(t, "", "ingest", "--data", data, file); code > 1 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	_, englishLines, _ := run(t, "", "deadletters", "--format", "jsonl", "--data", data)
	if !strings.Contains(englishLines, `"state":"pending"`) {
		t.Fatalf("no pending dead letter in English: %s", englishLines)
	}
	// A feed whose last download failed: vigil feeds says why in each
	// language.
	download := i18n.M("collector.http.status", "https://a.test", "503")
	st, err := sqlitestore.Open(t.Context(), filepath.Join(data, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	err = st.AddFeedCounters(t.Context(), store.FeedKey{Feed: "blocklist"}, store.FeedCounters{}, time.Now(), time.Time{}, download.String(), download)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"nl", "fr", "de"} {
		t.Run(lang, func(t *testing.T) {
			variable := "VIGIL_LANG"
			if lang == "fr" {
				// The locale speaks when VIGIL_LANG says nothing.
				variable, lang = "LANG", "fr_BE.UTF-8"
			}
			t.Setenv("VIGIL_LANG", "")
			t.Setenv(variable, lang)
			lang = localeLanguage(lang)
			says := func(out string, id string, args ...any) {
				t.Helper()
				want := cat.T(lang, id, args...)
				if want == cat.T(i18n.Source, id, args...) {
					t.Fatalf("%s: %s is the English %q", lang, id, want)
				}
				if !strings.Contains(out, want) {
					t.Errorf("output %q does not say %q (%s)", out, want, id)
				}
			}
			code, out, errOut := run(t, "", "ingest", "--data", data, file)
			if code > 1 {
				t.Fatalf("ingest: exit %d: %s", code, errOut)
			}
			for _, piece := range []string{cat.Plural(lang, "cli.ingest.lines", 3), cat.Plural(lang, "cli.ingest.events", 0),
				cat.Plural(lang, "cli.ingest.duplicates", 2)} {
				if !strings.Contains(out, piece) || piece == cat.Plural(i18n.Source, "cli.ingest.lines", 3) {
					t.Errorf("ingest summary %q does not say %q", out, piece)
				}
			}

			_, _, errOut = run(t, "", "deadletters", "bogus")
			says(errOut, "cli.deadletters.unknown", "bogus")
			_, _, errOut = run(t, "", "deadletters", "show", "999", "--data", data)
			says(errOut, "cli.deadletters.notfound", 999)
			_, _, errOut = run(t, "", "deadletters", "show", "--data", data)
			says(errOut, "cli.deadletters.show.single")
			code, out, _ = run(t, "", "deadletters", "--data", data)
			if code != 0 {
				t.Fatalf("deadletters: exit %d", code)
			}
			says(out, "deadletters.state.pending")
			if header := strings.Fields(strings.SplitN(out, "\n", 2)[0]); len(header) == 0 || header[1] != strings.ToUpper(cat.T(lang, "cli.column.time")) {
				t.Errorf("dead letters header %q", header)
			}
			if _, lines, _ := run(t, "", "deadletters", "--format", "jsonl", "--data", data); lines != englishLines {
				t.Errorf("JSON Lines changed with the language:\n%s", lines)
			}
			// Why the letter was refused, in the list (cut to its
			// column) and whole in show.
			reason := i18n.M("pipeline.reject.line", 3, i18n.M("event.field.error", "time.source", i18n.M("event.reason.time"), "not a time"))
			if said := reason.In(cat, lang); !strings.Contains(out, said[:40]) {
				t.Errorf("the list does not say %q:\n%s", said[:40], out)
			}
			_, out, _ = run(t, "", "deadletters", "show", "1", "--data", data)
			says(out, reason.ID, reason.Args()...)

			_, out, _ = run(t, "", "events", "search", "--count", "--data", data)
			says(out, "cli.events.count.other", "2")
			_, _, errOut = run(t, "", "events", "search", "--ip", "nope", "--data", data)
			says(errOut, "search.error.ip")
			_, _, errOut = run(t, "", "constituency", "list", "--data", data)
			says(errOut, "cli.constituency.empty")
			bad := writeTemp(t, "bad.csv", strings.SplitN(constituencyCSV, "\n", 2)[0]+"\nnewone,New One,,BEL,,192.0.2.0/24,,,,,,,,,\n")
			code, _, errOut = run(t, "", "constituency", "import", bad, "--data", data)
			if code != 1 {
				t.Errorf("import of a bad file: exit %d: %s", code, errOut)
			}
			says(errOut, "constituency.problem.line", 2)
			says(errOut, "constituency.error.country")
			says(errOut, "cli.constituency.import.errors.one", "1")
			_, _, errOut = run(t, "", "constituency", "lookup", "what?", "--data", data)
			says(errOut, "constituency.error.query")
			_, out, _ = run(t, "", "feeds", "--data", data)
			if header := strings.ToUpper(cat.T(lang, "cli.column.lastrun")); !strings.Contains(out, header) {
				t.Errorf("feeds %q: no %q in the header", out, header)
			}
			says(out, "collector.http.status", "https://a.test", "503")
			_, _, errOut = run(t, "", "feeds", "run", "nope", "--data", data)
			says(errOut, "cli.feeds.notfound", "nope")
			_, _, errOut = run(t, "", "events", "search", "--saved", "nothing", "--data", data)
			says(errOut, "saved.find.none", "nothing")
			badConfig := writeTemp(t, "bad.yml", "mail_in:\n  listen: 127.0.0.1:1\n  recipients: [\"@cert.example\"]\n")
			_, _, errOut = run(t, "", "serve", "--data", t.TempDir(), "--config", badConfig)
			if want := strings.TrimSpace(cat.T(lang, "config.error.at", "mail_in.recipients[0]", "")); !strings.Contains(errOut, want) ||
				strings.Contains(errOut, "want an address") {
				t.Errorf("serve with a bad config says %q, want %q and no English reason", errOut, want)
			}
			_, _, errOut = run(t, "", "user", "disable", "nobody", "--data", data)
			says(errOut, "cli.user.notfound", "nobody")
			_, _, errOut = run(t, "", "frobnicate")
			says(errOut, "cli.error.command", "frobnicate")
			_, out, _ = run(t, "", "help")
			says(out, "cli.summary.deadletters")
			says(out, "cli.help.commands")
			_, out, _ = run(t, "", "events", "--help")
			says(out, "cli.summary.events")
		})
	}
}

// messageCalls are the cmdEnv methods whose string arguments are
// catalogue IDs: t, fail and usageError take one first, header only
// IDs, tn a plural (ID.one and ID.other).
var messageCalls = map[string]bool{"t": true, "tn": true, "fail": true, "usageError": true, "header": true}

// TestCLIMessagesInEveryCatalogue finds every message ID the command line
// uses (the arguments of its message methods, and every "cli.…" string)
// and fails when a catalogue lacks it, so no language shows an ID or
// falls back to English.
func TestCLIMessagesInEveryCatalogue(t *testing.T) {
	cat := i18n.Embedded()
	have := map[string]map[string]bool{}
	for _, l := range cat.Languages() {
		have[l.Code] = map[string]bool{}
		for _, id := range cat.IDs(l.Code) {
			have[l.Code][id] = true
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	need := map[string]string{} // ID → where
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || !messageCalls[sel.Sel.Name] || len(n.Args) == 0 {
					return true
				}
				args := n.Args[:1]
				if sel.Sel.Name == "header" {
					args = n.Args
				}
				for _, a := range args {
					if lit, ok := a.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						id, _ := strconv.Unquote(lit.Value)
						if sel.Sel.Name == "tn" {
							need[id+".one"], need[id+".other"] = fset.Position(lit.Pos()).String(), fset.Position(lit.Pos()).String()
						} else {
							need[id] = fset.Position(lit.Pos()).String()
						}
					}
				}
			case *ast.BasicLit:
				if id, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && strings.HasPrefix(id, "cli.") &&
					!strings.ContainsAny(id, " %") && !strings.HasSuffix(id, ".") && !have[i18n.Source][id+".one"] {
					need[id] = fset.Position(n.Pos()).String()
				}
			}
			return true
		})
	}
	for _, c := range commands {
		need["cli.summary."+c.name] = "the command " + c.name
	}
	if len(need) < 100 {
		t.Fatalf("found only %d message IDs: is the walk looking in the right place?", len(need))
	}
	for id, where := range need {
		for lang := range have {
			if !have[lang][id] {
				t.Errorf("%s: %s is not in the %s catalogue", where, id, lang)
			}
		}
	}
}
