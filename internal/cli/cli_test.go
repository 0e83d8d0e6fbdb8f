package cli

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// run calls Main like the shell would and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelp(t *testing.T) {
	code, out, _ := run(t, "", "help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range commands {
		if !strings.Contains(out, "  "+c.name) {
			t.Errorf("help does not list %s", c.name)
		}
	}
	for _, c := range commands {
		t.Run(c.name+" --help", func(t *testing.T) {
			code, out, _ := run(t, "", c.name, "--help")
			if code != 0 || !strings.Contains(out, "Usage: vigil "+c.name) || !strings.Contains(out, "-data") {
				t.Fatalf("exit %d, output:\n%s", code, out)
			}
		})
	}
}

func TestUnknownCommandAndFlag(t *testing.T) {
	if code, _, errOut := run(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "feeds", "--nope"); code != 2 || !strings.Contains(errOut, "unknown option --nope") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "vigil.yml")
	os.WriteFile(cfg, []byte("pipeline:\n  workers: 0\n"), 0o600)
	code, _, errOut := run(t, "", "feeds", "--config", cfg, "--data", t.TempDir())
	if code != 1 || !strings.Contains(errOut, "config: pipeline.workers: Give a number from 1 to 256 (got 0).") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// TestBadConfigInGerman: a reader who asked for German reads the
// configuration's problems in German, the keys, file and values as
// written.
func TestBadConfigInGerman(t *testing.T) {
	t.Setenv("VIGIL_LANG", "de")
	dir := t.TempDir()
	for _, tt := range []struct{ name, yaml, want string }{
		{"value", "notify:\n  gzip_above_bytes: -1\n",
			"vigil serve: Konfiguration: notify.gzip_above_bytes: Geben Sie 0 (nie komprimieren) oder eine Größe in Bytes an (erhalten: -1).\n"},
		{"yaml", "listen: [127.0.0.1:8080\n",
			"vigil serve: Konfiguration: %s, Zeile 1: Das ist kein gültiges YAML: did not find expected ',' or ']'\n"},
		{"unknown key", "lisen: 127.0.0.1:8080\n",
			"vigil serve: Konfiguration: %s, Zeile 1: Einen Schlüssel lisen gibt es hier nicht: Prüfen Sie Schreibweise und Einrückung.\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".bad.yml")
			os.WriteFile(cfg, []byte(tt.yaml), 0o600)
			code, _, errOut := run(t, "", "serve", "--config", cfg, "--data", t.TempDir())
			want := tt.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, cfg)
			}
			if code != 1 || errOut != want {
				t.Fatalf("exit %d:\n%s\nwant\n%s", code, errOut, want)
			}
		})
	}
	code, _, errOut := run(t, "", "serve", "--config", filepath.Join(dir, "none.yml"))
	if want := "vigil serve: Konfiguration: " + filepath.Join(dir, "none.yml") + ": Die Datei existiert nicht.\n"; code != 1 || errOut != want {
		t.Fatalf("exit %d:\n%s\nwant\n%s", code, errOut, want)
	}
}

const sampleJSONL = `{"time.source": "2026-11-20T10:00:00+00:00", "source.ip": "192.0.2.10", "source.asn": 64496, "classification.type": "scanner"}
{"time.source": "2026-11-20T11:00:00+00:00", "source.ip": "198.51.100.7", "source.fqdn": "www.example.net", "classification.type": "phishing"}
{"time.source": "not a time", "source.ip": "192.0.2.11"}
`

func TestIngestSearchDeadLetters(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "peer.jsonl")
	os.WriteFile(file, []byte(sampleJSONL), 0o600)
	code, out, errOut := run(t, "", "ingest", "--data", data, file)
	if code != 1 && code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "3 lines read, 2 events stored, 0 duplicates, 1 dead letter\n") {
		t.Fatalf("ingest summary: %q (stderr %s)", out, errOut)
	}

	t.Run("stdin", func(t *testing.T) {
		code, out, errOut := run(t, sampleJSONL, "ingest", "--data", data, "--name", "again.jsonl", "-")
		if code != 0 || !strings.Contains(out, "2 duplicates") {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
	})
	t.Run("search by CIDR as CSV", func(t *testing.T) {
		code, out, errOut := run(t, "", "events", "search", "--data", data, "--cidr", "192.0.2.0/24", "--format", "csv")
		if code != 0 || !strings.Contains(out, "192.0.2.10") || strings.Contains(out, "198.51.100.7") {
			t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("search by domain as JSON lines", func(t *testing.T) {
		code, out, _ := run(t, "", "events", "search", "--data", data, "--fqdn", "example.net", "--format", "jsonl")
		if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"source.fqdn": "www.example.net"`) {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("sort by source address, ascending", func(t *testing.T) {
		code, out, errOut := run(t, "", "events", "search", "--data", data, "--sort", "source.ip", "--asc", "--format", "jsonl")
		first, second := strings.Index(out, "192.0.2.10"), strings.Index(out, "198.51.100.7")
		if code != 0 || first < 0 || second < first {
			t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("count and group", func(t *testing.T) {
		code, out, errOut := run(t, "", "events", "search", "--data", data, "--count")
		if code != 0 || out != "2 events\n" {
			t.Fatalf("exit %d: %q %s", code, out, errOut)
		}
		code, out, errOut = run(t, "", "events", "search", "--data", data, "--group", "type")
		if code != 0 || !strings.Contains(out, "TYPE") || !strings.Contains(out, "phishing") || !strings.Contains(out, "scanner") {
			t.Fatalf("exit %d: %q %s", code, out, errOut)
		}
	})
	t.Run("bad sort or group", func(t *testing.T) {
		if code, _, errOut := run(t, "", "events", "search", "--data", data, "--sort", "colour"); code == 0 || !strings.Contains(errOut, "--sort") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if code, _, errOut := run(t, "", "events", "search", "--data", data, "--group", "colour"); code == 0 || !strings.Contains(errOut, "--group") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("bad filter", func(t *testing.T) {
		code, _, errOut := run(t, "", "events", "search", "--data", data, "--cidr", "192.0.2.0/33")
		if code != 1 || !strings.Contains(errOut, "--cidr") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("dead letters", func(t *testing.T) {
		code, out, _ := run(t, "", "deadletters", "--data", data, "--format", "jsonl")
		if code != 0 || !strings.Contains(out, "time.source") || !strings.Contains(out, `"feed":"inbox"`) {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
	t.Run("feeds", func(t *testing.T) {
		code, out, _ := run(t, "", "feeds", "--data", data)
		if code != 0 || !strings.Contains(out, "inbox") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}

func TestConstituentUserAdd(t *testing.T) {
	data := t.TempDir()
	orgs := filepath.Join(t.TempDir(), "orgs.json")
	if err := os.WriteFile(orgs, []byte(`[{"handle": "uni-a", "name": "University A", "networks": ["192.0.2.0/24"]}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "", "constituency", "import", orgs, "--data", data); code != 0 {
		t.Fatalf("import: exit %d: %s %s", code, out, errOut)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"carla", "--role", "constituent"}, "needs its organisation"},
		{[]string{"carla", "--role", "constituent", "--org", "uni-b"}, `no organisation "uni-b"`},
		{[]string{"ana", "--role", "analyst", "--org", "uni-a"}, "only constituent users"},
	} {
		args := append([]string{"user", "add"}, append(tt.args, "--password-stdin", "--data", data)...)
		if code, _, errOut := run(t, "a-long-enough-password\n", args...); code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d: %s, want %q", tt.args, code, errOut, tt.want)
		}
	}
	code, out, errOut := run(t, "a-long-enough-password\n", "user", "add", "carla", "--role", "constituent", "--org", "uni-a", "--password-stdin", "--data", data)
	if code != 0 || !strings.Contains(out, "user carla (constituent) created") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
}

func TestUserAdd(t *testing.T) {
	data := t.TempDir()
	code, out, errOut := run(t, "a-long-enough-password\n", "user", "add", "alice", "--role", "analyst", "--password-stdin", "--data", data)
	if code != 0 || !strings.Contains(out, "user alice (analyst) created") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	code, _, errOut = run(t, "a-long-enough-password\n", "user", "add", "alice", "--password-stdin", "--data", data)
	if code != 1 || !strings.Contains(errOut, "exists already") {
		t.Fatalf("duplicate user: exit %d: %s", code, errOut)
	}
	code, _, errOut = run(t, "pw\n", "user", "add", "bob", "--role", "root", "--password-stdin", "--data", data)
	if code != 1 || !strings.Contains(errOut, "--role") {
		t.Fatalf("bad role: exit %d: %s", code, errOut)
	}
	// A language the console does not speak is refused, not stored.
	code, _, errOut = run(t, "a-long-enough-password\n", "user", "add", "carol", "--language", "xx", "--password-stdin", "--data", data)
	if code != 2 || !strings.Contains(errOut, "--language") {
		t.Fatalf("unknown language: exit %d: %s", code, errOut)
	}
	code, out, _ = run(t, "a-long-enough-password\n", "user", "add", "dirk", "--language", "de", "--password-stdin", "--data", data)
	if code != 0 || !strings.Contains(out, "user dirk (analyst) created") {
		t.Fatalf("German user: exit %d: %s", code, out)
	}
	code, out, _ = run(t, "", "user", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "alice") || !strings.Contains(out, "analyst") {
		t.Fatalf("list: %s", out)
	}
}

// TestCommonFlagsBeforeSubcommand: the common flags may stand before a
// command's subcommand word ("deadletters --data DIR list"), as "Every
// command takes --data DIR" lets a person write them, in either form;
// any other flag there still reaches the command as it did, and a
// command without subcommands keeps its arguments' order.
func TestCommonFlagsBeforeSubcommand(t *testing.T) {
	for _, c := range []struct {
		in, want []string
	}{
		{[]string{"--data", "D", "list"}, []string{"list", "--data", "D"}},
		{[]string{"-data=D", "--config", "C", "show", "3", "--format", "json"}, []string{"show", "-data=D", "--config", "C", "3", "--format", "json"}},
		{[]string{"list", "--data", "D"}, []string{"list", "--data", "D"}},
		{[]string{"--feed", "x", "list"}, []string{"--feed", "x", "list"}},
		{[]string{"--data", "D"}, []string{"--data", "D"}},
		{[]string{"--data", "D", "--", "list"}, []string{"--data", "D", "--", "list"}},
		{[]string{"--data"}, []string{"--data"}},
	} {
		if got := commonFlagsAfterWord(c.in); !slices.Equal(got, c.want) {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
	data := t.TempDir()
	if code, _, errOut := run(t, "", "migrate", "--data", data); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut)
	}
	for _, args := range [][]string{
		{"deadletters", "--data", data, "list"},
		{"deadletters", "list", "--data", data},
		{"events", "--data", data, "search", "--cidr", "192.0.2.0/24"},
		{"feeds", "--data=" + data, "list"},
	} {
		if code, _, errOut := run(t, "", args...); code != 0 {
			t.Errorf("%q: exit %d: %s", args, code, errOut)
		}
	}
	// A subcommand's own flag before its word is still the command's
	// to judge: a usage error, not a crash or a silent list.
	if code, _, errOut := run(t, "", "events", "--data", data, "--cidr", "192.0.2.0/24", "search"); code != 2 || !strings.Contains(errOut, "search") {
		t.Errorf("events --cidr before search: exit %d: %s", code, errOut)
	}
}

// TestFlagErrorsInTheUsersLanguage: an unknown option, one without its
// value and a value it does not take are said in the command's language,
// the option named as the help writes it, with the usage after.
func TestFlagErrorsInTheUsersLanguage(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		lang string
		args []string
		want string
	}{
		{"en", []string{"events", "search", "--data", data, "--since", "x"}, "unknown option --since"},
		{"de", []string{"events", "search", "--data", data, "--since", "x"}, "unbekannte Option --since"},
		{"nl", []string{"events", "search", "--data", data, "--limit"}, "de optie --limit heeft een waarde nodig"},
		{"fr", []string{"events", "search", "--data", data, "--limit", "abc"}, `l'option --limit : "abc" n'est pas une valeur qu'elle accepte`},
		{"de", []string{"deadletters", "list", "--data", data, "--all=maybe"}, `die Option --all: "maybe" ist kein Wert`},
	} {
		t.Setenv("VIGIL_LANG", c.lang)
		code, _, errOut := run(t, "", c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%s %q: exit %d, want 2 and %q in:\n%s", c.lang, c.args, code, c.want, errOut)
		}
	}
}

// TestListenErrorSaysWhy: an address another program holds is said so,
// in the reader's language, naming the address and its setting.
func TestListenErrorSaysWhy(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	_, err = listen(addr, "listen")
	m, ok := i18n.Explain(err)
	if !ok || m.ID != "cli.listen.inuse" {
		t.Fatalf("listen on a held address: %v, explained %v as %q", err, ok, m.ID)
	}
	if got := m.In(i18n.Embedded(), "de"); !strings.Contains(got, addr+" (listen) wird schon von einem anderen Programm benutzt") {
		t.Errorf("in German: %q", got)
	}
}

// TestReadingCommandsNeedTheDatabase: a command that only reads what
// Vigil stored, pointed at a directory without a database (a mistyped
// --data), says so, and makes nothing there; one that stores (migrate)
// makes the database.
func TestReadingCommandsNeedTheDatabase(t *testing.T) {
	t.Setenv("VIGIL_LANG", "en")
	data := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"events", "search", "--cidr", "192.0.2.0/24"},
		{"deadletters", "list"},
		{"feeds", "list"},
		{"constituency", "list"},
		{"incident", "list"},
		{"publication", "list"},
	} {
		code, _, errOut := run(t, "", append(args, "--data", data)...)
		if code != 1 || !strings.Contains(errOut, "no Vigil database in "+data) {
			t.Errorf("%q: exit %d: %s", args, code, errOut)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the reading commands made %s: %v", data, err)
	}
	if code, _, errOut := run(t, "", "migrate", "--data", data); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut)
	}
	if code, out, errOut := run(t, "", "events", "search", "--data", data, "--count"); code != 0 || !strings.Contains(out, "0 events") {
		t.Errorf("search of the new store: exit %d: %s%s", code, out, errOut)
	}
}

// TestDSNHasPassword: a password in a URL's user part or query, or in a
// password= word, is found; a URL without one, or an empty one, is not.
func TestDSNHasPassword(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://vigil:secret@127.0.0.1:5432/vigil":           true,
		"postgresql://vigil:s%40cret@db/vigil?sslmode=disable":   true,
		"postgres://vigil@127.0.0.1/vigil?password=secret":       true,
		"host=127.0.0.1 user=vigil password=secret dbname=vigil": true,
		"password = 'a b' host=db":                               true,
		"postgres://vigil@127.0.0.1:5432/vigil?sslmode=disable":  false,
		"postgres://vigil:@127.0.0.1/vigil":                      false,
		"host=127.0.0.1 user=vigil dbname=vigil":                 false,
		"host=127.0.0.1 user=vigil passfile=/root/.pgpass":       false,
		"": false,
	} {
		if got := dsnHasPassword(dsn); got != want {
			t.Errorf("dsnHasPassword(%q) = %v, want %v", dsn, got, want)
		}
	}
}

// TestPasswordOptionWarned: a database URL with its password given as
// --postgres or --database is warned about (it shows in ps), in the
// reader's language, and one without is not.
func TestPasswordOptionWarned(t *testing.T) {
	t.Setenv("VIGIL_LANG", "en")
	dir := t.TempDir()
	for _, args := range [][]string{
		{"bench", "notify", "--postgres", "postgres://vigil:secret@127.0.0.1:1/vigil?connect_timeout=1"},
		{"events", "search", "--data", dir, "--database", "postgres://vigil:secret@127.0.0.1:1/vigil?connect_timeout=1"},
	} {
		_, _, errOut := run(t, "", args...)
		if !strings.Contains(errOut, "warning: the password in --") || !strings.Contains(errOut, "PGPASSWORD") {
			t.Errorf("%v: no warning about the password:\n%s", args, errOut)
		}
		if strings.Contains(errOut, "secret") {
			t.Errorf("%v: the warning repeats the password:\n%s", args, errOut)
		}
	}
	// A command that parses its arguments in steps (words between the
	// options) warns once.
	_, _, errOut := run(t, "", "deadletters", "list", "--data", dir, "--database", "postgres://vigil:secret@127.0.0.1:1/vigil?connect_timeout=1", "x", "--limit", "5")
	if n := strings.Count(errOut, "warning: the password in --database"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, errOut)
	}
	t.Setenv("VIGIL_LANG", "nl")
	_, _, errOut = run(t, "", "bench", "notify", "--postgres", "postgres://vigil:secret@127.0.0.1:1/vigil?connect_timeout=1")
	if !strings.Contains(errOut, "waarschuwing: het wachtwoord in --postgres") {
		t.Errorf("no Dutch warning:\n%s", errOut)
	}
	_, _, errOut = run(t, "", "bench", "notify", "--postgres", "postgres://vigil@127.0.0.1:1/vigil?connect_timeout=1")
	if strings.Contains(errOut, "wachtwoord") {
		t.Errorf("a URL without a password was warned about:\n%s", errOut)
	}
}
