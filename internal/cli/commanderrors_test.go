package cli

import (
	"path/filepath"
	"slices"
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
		t.Run(tt.name, func(t *testing.T) { saidInEveryLanguage(t, "", tt.args, tt.en, tt.words) })
	}
}

// saidInEveryLanguage runs the command args (reading stdin) in each language and checks
// its error: in English the line en, and in Dutch, French and German a
// sentence of that language after the same "vigil NAME: ", with none of
// words (the English sentence's own), no English wrapper of the store
// and no catalogue ID in it.
func saidInEveryLanguage(t *testing.T, stdin string, args []string, en string, words []string) {
	t.Helper()
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		t.Setenv("VIGIL_LANG", lang)
		code, _, errOut := run(t, stdin, args...)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1:\n%s", lang, code, errOut)
		}
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		last := lines[len(lines)-1]
		if lang == "en" {
			if last != en {
				t.Errorf("in English:\n%s\nwant\n%s", last, en)
			}
			continue
		}
		if !strings.HasPrefix(last, strings.SplitN(en, ":", 2)[0]+": ") {
			t.Errorf("in %s, not the error:\n%s", lang, errOut)
		}
		for _, english := range append(slices.Clip(words), "sqlitestore", "cli.") {
			if strings.Contains(last, english) {
				t.Errorf("in %s, %q is English or an ID:\n%s", lang, english, last)
			}
		}
	}
}

// TestAdminCommandErrorsInEveryLanguage: the feeds, constituency, user,
// dead-letter, incident and publication commands say what failed when the database or a file
// fails them, in the operator's language, with the database's or the
// system's reason last.
func TestAdminCommandErrorsInEveryLanguage(t *testing.T) {
	const password = "a-long-enough-password\n"
	// prepared is a data directory in which the commands setup ran, then
	// the SQL statements.
	prepared := func(name string, setup [][]string, statements ...string) string {
		data := filepath.Join(t.TempDir(), name)
		for _, args := range append([][]string{{"migrate"}}, setup...) {
			if code, _, errOut := run(t, password, append(args, "--data", data)...); code != 0 {
				t.Fatalf("%v: exit %d\n%s", args, code, errOut)
			}
		}
		for _, s := range statements {
			execSQL(t, filepath.Join(data, "vigil.db"), s)
		}
		return data
	}
	fail := func(when, table string) string {
		return "CREATE TRIGGER fail_" + table + " BEFORE " + when + " ON " + table + " BEGIN SELECT RAISE(ABORT, 'disk is full'); END"
	}
	const full = "constraint failed: disk is full (1811)"
	orgs := writeTemp(t, "organisations.csv", constituencyCSV)
	imported := [][]string{{"constituency", "import", orgs}}
	withUser := [][]string{{"user", "add", "ana", "--role", "analyst", "--password-stdin"}}
	missingDir := filepath.Join(t.TempDir(), "gone", "organisations.csv")
	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		en    string
		words []string
	}{
		{"feeds unreadable", "", []string{"feeds", "list", "--data", prepared("no-feeds", nil, "DROP TABLE feeds")},
			"vigil feeds: the feeds' figures cannot be read from the database: SQL logic error: no such table: feeds (1)", []string{"cannot", "figures"}},
		{"feed not paused", "", []string{"feeds", "pause", "inbox", "--data", prepared("no-pause", nil, fail("INSERT", "feed_overrides"))},
			"vigil feeds: the feed inbox cannot be paused: " + full, []string{"cannot", "paused"}},
		{"feed pause not audited", "", []string{"feeds", "pause", "inbox", "--data", prepared("no-feed-audit", nil, fail("INSERT", "audit"))},
			"vigil feeds: the feed inbox is changed, but the change cannot be recorded in the audit log: " + full, []string{"cannot", "audit log", "change is made"}},
		{"organisations unreadable", "", []string{"constituency", "list", "--data", prepared("no-orgs", nil, "DROP TABLE organisations")},
			"vigil constituency: the organisations cannot be read from the database: SQL logic error: no such table: organisations (1)", []string{"cannot", "read"}},
		{"export unreadable", "", []string{"constituency", "export", "--data", prepared("no-export", nil, "DROP TABLE organisations")},
			"vigil constituency: the organisations cannot be read from the database: SQL logic error: no such table: organisations (1)", []string{"cannot", "read"}},
		{"export not written", "", []string{"constituency", "export", "--output", missingDir, "--data", prepared("export-nowhere", imported)},
			"vigil constituency: the export cannot be written to " + missingDir + ": no such file or directory", []string{"cannot", "written"}},
		{"organisation not disabled", "", []string{"constituency", "disable", "uliege", "--data", prepared("no-disable", imported, fail("UPDATE", "organisations"))},
			"vigil constituency: the organisation uliege cannot be disabled in the database: " + full, []string{"cannot", "disabled"}},
		{"products unreadable", "", []string{"constituency", "products", "export", "uliege", "--data", prepared("no-products", imported, "DROP TABLE product_declarations")},
			"vigil constituency: the products declared by uliege cannot be read from the database: SQL logic error: no such table: product_declarations (1)", []string{"cannot", "declared"}},
		{"account not created", password, []string{"user", "add", "bea", "--password-stdin", "--data", prepared("no-insert", nil, fail("INSERT", "users"))},
			"vigil user: the account bea cannot be written to the database: " + full, []string{"cannot", "written"}},
		{"bad user name", password, []string{"user", "add", "b\tea", "--password-stdin", "--data", prepared("bad-name", nil)},
			`vigil user: a user name is 1 to 64 characters without spaces, not "b\tea"`, []string{"characters without", "user name"}},
		{"account not disabled", "", []string{"user", "disable", "ana", "--data", prepared("no-update", withUser, fail("UPDATE", "users"))},
			"vigil user: the account ana cannot be written to the database: " + full, []string{"cannot", "written"}},
		{"recovery codes not removed", "", []string{"user", "totp-reset", "ana", "--data", prepared("no-codes", withUser, "DROP TABLE recovery_codes")},
			"vigil user: the account ana has no second factor now, but its recovery codes cannot be removed: SQL logic error: no such table: recovery_codes (1)",
			[]string{"cannot", "recovery codes"}},
		{"disable not audited", "", []string{"user", "disable", "ana", "--data", prepared("no-user-audit", withUser, fail("INSERT", "audit"))},
			"vigil user: the account ana is changed, but the change cannot be recorded in the audit log: " + full, []string{"cannot", "audit log"}},
		{"dead letters unreadable", "", []string{"deadletters", "list", "--data", prepared("no-letters", nil, "DROP TABLE dead_letters")},
			"vigil deadletters: the dead letters cannot be read from the database: SQL logic error: no such table: dead_letters (1)", []string{"cannot", "dead letters"}},
		{"dead letter unreadable", "", []string{"deadletters", "show", "7", "--data", prepared("no-letter", nil, "DROP TABLE dead_letters")},
			"vigil deadletters: the dead letter 7 cannot be read from the database: SQL logic error: no such table: dead_letters (1)", []string{"cannot", "dead letter"}},
		{"incidents unreadable", "", []string{"incident", "list", "--data", prepared("no-incidents", nil, "DROP TABLE incidents")},
			"vigil incident: the incidents cannot be read from the database: SQL logic error: no such table: incidents (1)", []string{"cannot", "the incidents"}},
		{"reports unreadable", "", []string{"incident", "reports", "--data", prepared("no-reports", nil, "DROP TABLE reports")},
			"vigil incident: the reports cannot be read from the database: SQL logic error: no such table: reports (1)", []string{"cannot", "the reports"}},
		{"publications unreadable", "", []string{"publication", "list", "--data", prepared("no-publications", nil, "DROP TABLE publications")},
			"vigil publication: the publications cannot be read from the database: SQL logic error: no such table: publications (1)", []string{"cannot", "read"}},
		{"CSAF file missing", "", []string{"publication", "import-csaf", missingDir, "--data", prepared("no-csaf", nil)},
			"vigil publication: " + missingDir + " does not exist.", []string{"does not exist", "open "}},
	} {
		t.Run(tt.name, func(t *testing.T) { saidInEveryLanguage(t, tt.stdin, tt.args, tt.en, tt.words) })
	}
}
