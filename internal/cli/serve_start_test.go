package cli

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestServeStartErrorsInEveryLanguage: what stops `vigil serve` on
// start-up (a data directory that cannot be made, a database that cannot
// be opened, a message bus that cannot be set up, a pipeline module that
// cannot be built, a social channel's secret that is not there), or a job
// of it that fails once it runs, is said in the operator's language: in
// English as the catalogue says it, and in Dutch, French and German a
// sentence of that language, neither the English nor a catalogue ID.
func TestServeStartErrorsInEveryLanguage(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dbIsADirectory := filepath.Join(dir, "db-is-a-directory")
	if err := os.MkdirAll(filepath.Join(dbIsADirectory, "vigil.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A database whose secrets' key file is lost.
	keyLost := filepath.Join(dir, "key-lost")
	if code, _, errOut := run(t, "", "migrate", "--data", keyLost); code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, errOut)
	}
	if err := os.Remove(filepath.Join(keyLost, "secrets.key")); err != nil {
		t.Fatal(err)
	}
	// A database whose table of state, where the secret key's check
	// is kept, is gone.
	noState := filepath.Join(dir, "no-state")
	if code, _, errOut := run(t, "", "migrate", "--data", noState); code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, errOut)
	}
	dropTable(t, filepath.Join(noState, "vigil.db"), "state")
	// A database without the console's changes to the feeds, and one
	// without their version, which serve polls once it runs.
	noOverrides, noVersion := filepath.Join(dir, "no-overrides"), filepath.Join(dir, "no-version")
	for path, table := range map[string]string{noOverrides: "feed_overrides", noVersion: "feed_overrides_version"} {
		if code, _, errOut := run(t, "", "migrate", "--data", path); code != 0 {
			t.Fatalf("migrate: exit %d\n%s", code, errOut)
		}
		dropTable(t, filepath.Join(path, "vigil.db"), table)
	}
	// A demo whose directory, or whose mailbox's, is a file.
	demoIsAFile, mailIsAFile := filepath.Join(dir, "demo-is-a-file"), filepath.Join(dir, "mail-is-a-file")
	for _, path := range []string{filepath.Join(demoIsAFile, "demo"), filepath.Join(mailIsAFile, "demo", "mail")} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A team key in the database that is no key: an earlier version's
	// plain text, sealed at start and then read.
	brokenKey := filepath.Join(dir, "broken-key")
	if code, _, errOut := run(t, "", "migrate", "--data", brokenKey); code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, errOut)
	}
	execSQL(t, filepath.Join(brokenKey, "vigil.db"), "INSERT INTO state (key, value) VALUES ('notify/identity', 'not a key')")
	// The embedded NATS server's address, held by another program.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	natsData := t.TempDir()
	config := func(name, yaml string) string {
		path := filepath.Join(dir, name+".yml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tt := range []struct {
		name string
		args []string
		// en is the whole English line; the other languages must not
		// contain words, the English sentence's own.
		en, words string
	}{
		{"data directory", []string{"--data", filepath.Join(file, "data")},
			fmt.Sprintf("vigil serve: the data directory %s cannot be created: not a directory\n", filepath.Join(file, "data")), "cannot be created"},
		{"database", []string{"--data", dbIsADirectory},
			"vigil serve: the SQLite database " + filepath.Join(dbIsADirectory, "vigil.db") + " cannot be opened: check that Vigil may write in the data directory (is a directory)\n", "cannot be opened"},
		{"secret key", []string{"--data", keyLost},
			"vigil serve: the database holds sealed secrets, but there is no secret key: restore " + filepath.Join(keyLost, "secrets.key") +
				" from the backup made with the database, or set VIGIL_SECRET_KEY\n", "no secret key"},
		{"secret key check", []string{"--data", noState},
			"vigil serve: the check of the secret key cannot be read from the database: SQL logic error: no such table: state (1)\n", "cannot be read"},
		{"feed overrides", []string{"--data", noOverrides, "--listen", "127.0.0.1:0"},
			"vigil serve: the changes made to the feeds in the console cannot be read from the database: SQL logic error: no such table: feed_overrides (1)\n", "cannot be read"},
		// A job that fails once serve runs stops it too.
		{"job", []string{"--data", noVersion, "--listen", "127.0.0.1:0"},
			`vigil serve: the job "feed changes from the console" stopped: SQL logic error: no such table: feed_overrides_version (1)` + "\n", "stopped"},
		{"demo", []string{"--demo", "--data", demoIsAFile, "--listen", "127.0.0.1:0"},
			"vigil serve: the demo's data set cannot be written to " + filepath.Join(demoIsAFile, "demo") + ": not a directory\n", "cannot be written"},
		{"demo mailbox", []string{"--demo", "--data", mailIsAFile, "--listen", "127.0.0.1:0"},
			"vigil serve: the demo's mailbox in " + filepath.Join(mailIsAFile, "demo", "mail") + " cannot be started: not a directory\n", "cannot be started"},
		{"team key", []string{"--data", brokenKey, "--listen", "127.0.0.1:0"},
			"vigil serve: the team's OpenPGP key kept in the database cannot be used: there is no armored OpenPGP block (want -----BEGIN PGP PRIVATE KEY BLOCK-----); import or generate it again under Notifications → Identity\n",
			"no armored"},
		{"nats address", []string{"--data", t.TempDir(), "--listen", "127.0.0.1:0", "--config", config("nats", "nats:\n  listen: "+held.Addr().String()+"\n")},
			"vigil serve: " + held.Addr().String() + " (nats.listen) is already in use by another program: stop it, or choose another address\n", "already in use"},
		// More than any disk holds: the embedded server refuses the stream.
		{"nats stream", []string{"--data", natsData, "--listen", "127.0.0.1:0", "--config", config("stream", "nats:\n  max_bytes: 1152921504606846976\n")},
			"vigil serve: the embedded NATS server cannot start with its data in " + filepath.Join(natsData, "jetstream") +
				": the stream VIGIL cannot be created or updated: insufficient storage resources available\n", "create"},
		{"enricher", []string{"--data", t.TempDir(), "--listen", "127.0.0.1:0", "--config", config("enricher", "pipeline:\n  enrichers:\n    - id: nope\n")},
			`vigil serve: config: pipeline.enrichers[0] (nope): This module cannot be built: unknown enricher "nope"`, "This module"},
		// A constant the csv parser cannot take: the field's own reason
		// in the operator's language too.
		{"csv constant", []string{"--data", t.TempDir(), "--listen", "127.0.0.1:0", "--config", config("constant",
			"feeds:\n  - name: scans\n    collector: inbox\n    parser: csv\n    parser_options:\n      columns:\n        ip: source.ip\n      constant_fields:\n        classification.type: scanner\n        source.asn: many\n")},
			`vigil serve: config: feeds[0] (scans).parser: This module cannot be built: option constant_fields.source.asn: "many" is not a value of this field (not an AS number (1-4294967295))`,
			"AS number"},
		{"social secret", []string{"--data", t.TempDir(), "--listen", "127.0.0.1:0", "--config", config("social",
			"social:\n  site_url: https://cert.example\n  mastodon:\n    instance: https://mastodon.example\n    token: env:VIGIL_TEST_NO_SUCH_TOKEN\n")},
			"vigil serve: config: social.mastodon.token: The environment variable VIGIL_TEST_NO_SUCH_TOKEN is empty or not set.\n", "environment variable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, lang := range []string{"en", "nl", "fr", "de"} {
				t.Setenv("VIGIL_LANG", lang)
				code, _, errOut := run(t, "", append([]string{"serve"}, tt.args...)...)
				if code != 1 {
					t.Errorf("%s: exit %d, want 1:\n%s", lang, code, errOut)
				}
				// The log's lines (the migrations, the embedded NATS
				// server) come before the error: its line is the last.
				lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
				last := lines[len(lines)-1] + "\n"
				switch {
				case lang == "en" && !strings.HasPrefix(last, tt.en):
					t.Errorf("in English:\n%s\nwant it to start with\n%s", last, tt.en)
				case lang != "en" && (strings.Contains(last, tt.words) || strings.Contains(last, "cli.start.") || strings.Contains(last, "channel.")):
					t.Errorf("in %s, English or an ID:\n%s", lang, last)
				case !strings.HasPrefix(last, "vigil serve: "):
					t.Errorf("in %s, not the error:\n%s", lang, errOut)
				}
			}
		})
	}
}

// TestStartMessagesTranslated: every start-up sentence this package
// names (those the test above cannot bring about too: the PostgreSQL
// server, the message bus, the secrets' key) exists, with a Dutch, French
// and German text of its own.
func TestStartMessagesTranslated(t *testing.T) {
	ids := sourceMatches(t, `"(cli\.start\.[a-z.]+)"`)
	if len(ids) < 13 {
		t.Errorf("only %d start-up messages found: %v", len(ids), ids)
	}
	c := i18n.Embedded()
	for id := range ids {
		if !c.Has(id) {
			t.Errorf("%s is not in the catalogue", id)
			continue
		}
		for _, lang := range []string{"nl", "fr", "de"} {
			if c.Text(lang, id) == c.Text("en", id) {
				t.Errorf("%s in %s is the English", id, lang)
			}
		}
	}
}

// TestModuleErrorsInEveryLanguage: a module the configuration names and
// this binary does not have stops `vigil serve` (and `vigil ingest
// --parser`) with one sentence in the operator's language that names the
// module's kind, the ID given and the IDs there are; an option the module
// does not know is said alike. No English detail after a translated
// sentence.
func TestModuleErrorsInEveryLanguage(t *testing.T) {
	dir := t.TempDir()
	config := func(name, yaml string) string {
		path := filepath.Join(dir, name+".yml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	input := filepath.Join(dir, "input.csv")
	if err := os.WriteFile(input, []byte("a,b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := i18n.Embedded()
	for _, tt := range []struct {
		name string
		args []string
		kind string // of the module that is not there, "" for an option
		// en is the English line, up to the IDs there are for a module.
		en string
		// words are the English's own, in no other language.
		words []string
	}{
		{"enricher", []string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--config", config("enricher", "pipeline:\n  enrichers:\n    - id: nope\n")},
			"enricher", `vigil serve: config: pipeline.enrichers[0] (nope): This module cannot be built: unknown enricher "nope" (known: `, nil},
		{"output", []string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--config", config("output", "pipeline:\n  outputs:\n    - id: nope\n")},
			"output", `vigil serve: config: pipeline.outputs[0] (nope): This module cannot be built: unknown output "nope" (known: `, nil},
		{"collector", []string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--config", config("collector", "feeds:\n  - name: drop\n    collector: nope\n    parser: auto\n")},
			"collector", `vigil serve: config: feeds[0] (drop).collector: This module cannot be built: unknown collector "nope" (known: `, nil},
		{"parser", []string{"ingest", "--data", t.TempDir(), "--parser", "nope", input},
			"parser", `vigil ingest: config: feeds[1] (nope).parser: This module cannot be built: unknown parser "nope" (known: `, nil},
		{"option", []string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--config", config("option", "pipeline:\n  enrichers:\n    - id: asn\n      options:\n        fiel: routes.pfx2as\n")},
			"", `vigil serve: config: pipeline.enrichers[0] (asn): This module cannot be built: unknown option fiel (known: file, names_file, reload)`, nil},
		{"module's own check", []string{"serve", "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--config", config("asn", "pipeline:\n  enrichers:\n    - id: asn\n")},
			"", `vigil serve: config: pipeline.enrichers[0] (asn): This module cannot be built: option file (a pfx2as routing table) is required`, []string{"required", "routing table"}},
		{"parser's own check", []string{"ingest", "--data", t.TempDir(), "--parser", "list", input},
			"", `vigil ingest: config: feeds[1] (list).parser: This module cannot be built: option type is required: the classification.type of every line`, []string{"required", "every line"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, lang := range []string{"en", "nl", "fr", "de"} {
				t.Setenv("VIGIL_LANG", lang)
				code, _, errOut := run(t, "", tt.args...)
				lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
				last := lines[len(lines)-1]
				if code != 1 {
					t.Errorf("%s: exit %d, want 1:\n%s", lang, code, errOut)
				}
				if lang == "en" {
					if !strings.HasPrefix(last, tt.en) {
						t.Errorf("in English:\n%s\nwant it to start with\n%s", last, tt.en)
					}
					continue
				}
				if kind := c.T(lang, "pipeline.kind."+tt.kind); tt.kind != "" && (!strings.Contains(last, kind) || !strings.Contains(last, "nope")) {
					t.Errorf("in %s, not naming the %s (%s) nope:\n%s", lang, tt.kind, kind, last)
				}
				for _, english := range append([]string{"This module", "unknown", "known:", " " + tt.kind + " ", "pipeline.kind", "pipeline.option", "cli.start"}, tt.words...) {
					if strings.Contains(last, english) {
						t.Errorf("in %s, %q is English or an ID:\n%s", lang, english, last)
					}
				}
			}
		})
	}
}

// dropTable drops table from the SQLite database at path, as a damaged
// database would lack it.
func dropTable(t *testing.T, path, table string) {
	t.Helper()
	execSQL(t, path, "DROP TABLE "+table)
}

// execSQL runs statement on the SQLite database at path.
func execSQL(t *testing.T, path, statement string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(statement); err != nil {
		t.Fatal(err)
	}
}

// sourceMatches returns what the first group of pattern matches in this
// package's code (its .go files but the tests).
func sourceMatches(t *testing.T, pattern string) map[string]bool {
	t.Helper()
	re := regexp.MustCompile(pattern)
	found := map[string]bool{}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			found[m[1]] = true
		}
	}
	return found
}
