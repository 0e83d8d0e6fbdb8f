package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandErrorsInEveryLanguage: what stops a command short of its
// work (an event or an account that is not there, a database that fails
// while it reads or writes) is said in the operator's language: in
// English as the catalogue says it, and in Dutch, French and German a
// sentence of that language, with the database's own reason last and no
// English context around it.
func TestCommandErrorsInEveryLanguage(t *testing.T) {
	migrated := func(name string, statements ...string) string {
		data := filepath.Join(t.TempDir(), name)
		if code, _, errOut := run(t, "", "migrate", "--data", data); code != 0 {
			t.Fatalf("migrate: exit %d\n%s", code, errOut)
		}
		for _, s := range statements {
			execSQL(t, filepath.Join(data, "vigil.db"), s)
		}
		return data
	}
	fail := func(table string) string {
		return "CREATE TRIGGER fail_" + table + " BEFORE INSERT ON " + table + " BEGIN SELECT RAISE(ABORT, 'disk is full'); END"
	}
	empty := migrated("empty")
	orgs := writeTemp(t, "organisations.csv", constituencyCSV)
	hash := strings.Repeat("ab", 32)
	for _, tt := range []struct {
		name string
		args []string
		// en is the English line; words are the English sentence's own,
		// in no other language.
		en    string
		words []string
	}{
		{"event not found", []string{"events", "show", "--data", empty, hash},
			"vigil events: no event is stored under the hash " + hash, []string{"no event", "stored"}},
		{"owner not found", []string{"events", "search", "--saved", "RDP", "--user", "nobody", "--data", empty},
			`vigil events: no user called "nobody" (see vigil user list)`, []string{"no user", "--user"}},
		{"saved searches unreadable", []string{"events", "search", "--saved", "RDP", "--data", migrated("no-saved", "DROP TABLE saved_searches")},
			"vigil events: the saved searches cannot be read from the database: SQL logic error: no such table: saved_searches (1)", []string{"cannot", "saved searches"}},
		{"import not written", []string{"constituency", "import", orgs, "--data", migrated("no-import", fail("organisations"))},
			"vigil constituency: the organisations of " + orgs + " cannot be written to the database: constraint failed: disk is full (1811)", []string{"cannot", "written", "import "}},
		{"import not audited", []string{"constituency", "import", orgs, "--data", migrated("no-audit", fail("audit"))},
			"vigil constituency: the organisations of " + orgs + " are imported, but the import cannot be recorded in the audit log: constraint failed: disk is full (1811)", []string{"cannot", "audit log"}},
		{"constituency unreadable", []string{"constituency", "lookup", "192.0.2.1", "--data", migrated("no-version", "DROP TABLE constituency_version")},
			"vigil constituency: the constituency cannot be loaded from the database: SQL logic error: no such table: constituency_version (1)", []string{"cannot", "load the"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, lang := range []string{"en", "nl", "fr", "de"} {
				t.Setenv("VIGIL_LANG", lang)
				code, _, errOut := run(t, "", tt.args...)
				if code != 1 {
					t.Errorf("%s: exit %d, want 1:\n%s", lang, code, errOut)
				}
				lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
				last := lines[len(lines)-1]
				if lang == "en" {
					if last != tt.en {
						t.Errorf("in English:\n%s\nwant\n%s", last, tt.en)
					}
					continue
				}
				if !strings.HasPrefix(last, strings.SplitN(tt.en, ":", 2)[0]+": ") {
					t.Errorf("in %s, not the error:\n%s", lang, errOut)
				}
				for _, english := range append(tt.words, "sqlitestore", "cli.") {
					if strings.Contains(last, english) {
						t.Errorf("in %s, %q is English or an ID:\n%s", lang, english, last)
					}
				}
			}
		})
	}
}
