package cli

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestDeadLetterCommands works the dead letters of a file ingested twice
// from the command line: listed once with their source and line, shown one
// by one, discarded with a reason, edited and re-run; unknown words and bad
// ids are refused with a usage error.
func TestDeadLetterCommands(t *testing.T) {
	data, newer, older := ingestTwoDeadLetters(t)

	t.Run("show shows exactly that letter", func(t *testing.T) {
		code, out, errOut := run(t, "", "deadletters", "show", older, "--data", data)
		if code != 0 || !regexp.MustCompile(`(?m)^id +`+older+`$`).MatchString(out) || !strings.Contains(out, "peer.jsonl") ||
			!strings.Contains(out, "not a time") || strings.Contains(out, "yesterday") {
			t.Fatalf("show %s: exit %d:\n%s%s", older, code, out, errOut)
		}
	})
	checkDeadLetterUsageErrors(t, data, older)
	t.Run("show a missing letter", func(t *testing.T) {
		code, _, errOut := run(t, "", "deadletters", "show", "999", "--data", data)
		if code != 1 || !strings.Contains(errOut, "no dead letter 999") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("a failed re-run says why", func(t *testing.T) {
		code, out, _ := run(t, "", "deadletters", "retry", "--data", data, newer)
		if code != 1 || !strings.Contains(out, newer+": still fails: ") || !strings.Contains(out, "yesterday") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
		_, out, _ = run(t, "", "deadletters", "show", newer, "--data", data)
		if !strings.Contains(out, "last re-run") || !regexp.MustCompile(`(?m)^state +pending$`).MatchString(out) {
			t.Errorf("show after a failed re-run:\n%s", out)
		}
	})
	t.Run("a huge edit is refused", func(t *testing.T) {
		huge := filepath.Join(t.TempDir(), "huge")
		os.WriteFile(huge, []byte(strings.Repeat("x", 70000)), 0o600)
		code, _, errOut := run(t, "", "deadletters", "edit", "--data", data, newer, huge)
		if code != 1 || !strings.Contains(errOut, "longer than 65536 bytes") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})
	t.Run("edit and re-run", func(t *testing.T) {
		fixed := `{"time.source": "2026-11-20T12:00:00+00:00", "source.ip": "192.0.2.12", "classification.type": "scanner"}` + "\n"
		code, out, errOut := run(t, fixed, "deadletters", "edit", "--data", data, newer, "-")
		if code != 0 || !strings.Contains(out, "1 of 1 dead letters re-run successfully") {
			t.Fatalf("exit %d: %s %s", code, out, errOut)
		}
		_, out, _ = run(t, "", "events", "search", "--data", data, "--ip", "192.0.2.12", "--format", "jsonl")
		if !strings.Contains(out, "192.0.2.12") {
			t.Errorf("no event from the edited line: %q", out)
		}
	})
	t.Run("discard", func(t *testing.T) { checkDeadLetterDiscard(t, data, older) })
}

// ingestTwoDeadLetters ingests a file with two bad lines twice into a new
// data directory, checks that this left exactly two dead letters, and
// returns the directory and the ids of the newer and the older letter.
func ingestTwoDeadLetters(t *testing.T) (data, newer, older string) {
	data = t.TempDir()
	file := filepath.Join(t.TempDir(), "peer.jsonl")
	bad := sampleJSONL + `{"time.source": "yesterday", "source.ip": "192.0.2.12"}` + "\n"
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 events stored, 0 duplicates, 2 dead letters", "0 events stored, 2 duplicates, 0 dead letters"} {
		code, out, errOut := run(t, "", "ingest", "--data", data, file)
		if code > 1 || !strings.Contains(out, want) {
			t.Fatalf("ingest exit %d: %s %s; want %q", code, out, errOut, want)
		}
	}
	code, out, errOut := run(t, "", "deadletters", "list", "--data", data, "--format", "jsonl")
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	var letters []map[string]any
	for line := range strings.Lines(out) {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("list line %q: %v", line, err)
		}
		letters = append(letters, l)
	}
	if len(letters) != 2 {
		t.Fatalf("%d letters after ingesting the file twice, want 2:\n%s", len(letters), out)
	}
	if letters[0]["source"] != "peer.jsonl" || letters[0]["line"] != 4.0 || letters[1]["line"] != 3.0 {
		t.Errorf("source and lines: %v:%v, %v:%v; want peer.jsonl:4 and :3", letters[0]["source"], letters[0]["line"], letters[1]["source"], letters[1]["line"])
	}
	newer = strconv.FormatInt(int64(letters[0]["id"].(float64)), 10)
	older = strconv.FormatInt(int64(letters[1]["id"].(float64)), 10)
	return data, newer, older
}

// checkDeadLetterUsageErrors runs one subtest per misuse of the
// deadletters command: each exits 2, says what is wrong, and shows no
// letter.
func checkDeadLetterUsageErrors(t *testing.T, data, older string) {
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown word", []string{"bogus"}, `unknown subcommand "bogus"`},
		{"show without id", []string{"show"}, "exactly one dead-letter id"},
		{"show two ids", []string{"show", "1", "2"}, "exactly one dead-letter id"},
		{"show a word", []string{"show", "three"}, `"three" is not a dead-letter id`},
		{"show zero", []string{"show", "0"}, `"0" is not a dead-letter id`},
		{"retry a word", []string{"retry", "1", "x"}, `"x" is not a dead-letter id`},
		{"retry nothing", []string{"retry"}, "retry needs dead-letter ids"},
		{"list with a word", []string{"list", "bogus"}, `list takes no arguments, got "bogus"`},
		{"bad state", []string{"list", "--state", "gone"}, "--state: want pending, discarded or all"},
		{"discard without reason", []string{"discard", older}, "discard needs --reason"},
		{"edit without file", []string{"edit", older}, "edit needs a dead-letter id and a file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"deadletters"}, tt.args...)
			if len(tt.args) > 0 && tt.args[0] != "bogus" {
				args = append(args[:2], append([]string{"--data", data}, args[2:]...)...)
			}
			code, out, errOut := run(t, "", args...)
			if code != 2 || !strings.Contains(errOut, tt.want) || strings.Contains(out, "peer.jsonl") {
				t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 saying %q", tt.args, code, errOut, out, tt.want)
			}
		})
	}
}

// checkDeadLetterDiscard discards the older letter and checks that it
// leaves the default list, shows under --state discarded, and is audited
// with its reason.
func checkDeadLetterDiscard(t *testing.T, data, older string) {
	code, out, errOut := run(t, "", "deadletters", "discard", "--data", data, "--reason", "test data of a peer", older)
	if code != 0 || !strings.Contains(out, "1 of 1 dead letters discarded") {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	_, out, _ = run(t, "", "deadletters", "--data", data)
	if strings.Contains(out, "peer.jsonl") {
		t.Errorf("a discarded letter is listed by default:\n%s", out)
	}
	_, out, _ = run(t, "", "deadletters", "list", "--data", data, "--state", "discarded")
	if !strings.Contains(out, "discarded") || !strings.Contains(out, "peer.jsonl:3") {
		t.Errorf("--state discarded:\n%s", out)
	}
	st, err := sqlitestore.Open(t.Context(), filepath.Join(data, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := database.On(st).ListAudit(t.Context(), auth.AuditQuery{Limit: 10})
	if err != nil || len(entries) == 0 || entries[0].Action != "deadletter.discard" ||
		entries[0].Target != "deadletters "+older || !strings.Contains(entries[0].Detail, "test data of a peer") {
		t.Errorf("audit log = %+v, %v", entries, err)
	}
}
