package cli

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestEventsSearchSaved: `vigil events search --saved` runs a search
// saved in the console: a shared one by its name, an account's own with
// --user, never another's private one; refusals say why.
func TestEventsSearchSaved(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "peer.jsonl")
	os.WriteFile(file, []byte(sampleJSONL), 0o600)
	if code, _, errOut := run(t, "", "ingest", "--data", data, file); code > 1 {
		t.Fatalf("ingest: %s", errOut)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if code, _, errOut := run(t, "a long enough passphrase\n", "user", "add", u, "--role", "analyst", "--data", data, "--password-stdin"); code != 0 {
			t.Fatalf("user add %s: %s", u, errOut)
		}
	}
	ctx := context.Background()
	raw, err := sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st := database.On(raw)
	ids := map[string]int64{}
	users, err := st.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		ids[u.Name] = u.ID
	}
	for _, s := range []savedsearch.Search{
		{UserID: ids["alice"], Name: "scans", Query: "type=scanner&sort=source.ip", Shared: true},
		{UserID: ids["alice"], Name: "private", Query: "fqdn=example.net"},
		{UserID: ids["bob"], Name: "phish", Query: "type=phishing", Shared: true},
		{UserID: ids["carol"], Name: "phish", Query: "ip=192.0.2.10", Shared: true},
		{UserID: ids["carol"], Name: "mine", Query: "type=phishing"},
	} {
		if err := st.CreateSavedSearch(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	search := func(args ...string) (int, string, string) {
		return run(t, "", append([]string{"events", "search", "--data", data, "--format", "csv"}, args...)...)
	}
	if code, out, errOut := search("--saved", "scans"); code != 0 || !strings.Contains(out, "192.0.2.10") || strings.Contains(out, "198.51.100.7") {
		t.Errorf("shared search: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := search("--saved", "mine", "--user", "carol"); code != 0 || !strings.Contains(out, "198.51.100.7") || strings.Contains(out, "192.0.2.10") {
		t.Errorf("own search: exit %d\n%s\n%s", code, out, errOut)
	}
	// --user picks the account's own over the others' of the same name.
	if code, out, _ := search("--saved", "phish", "--user", "carol"); code != 0 || !strings.Contains(out, "192.0.2.10") {
		t.Errorf("carol's own phish: exit %d\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"--saved", "private"}, `no saved search named "private"`},
		{[]string{"--saved", "private", "--user", "bob"}, `no saved search named "private"`},
		{[]string{"--saved", "mine"}, `no saved search named "mine"`},
		{[]string{"--saved", "phish"}, "2 shared searches are named \"phish\" by bob, carol; add --user OWNER"},
		{[]string{"--saved", "scans", "--ip", "192.0.2.10"}, "--saved takes no filters (--ip given)"},
		{[]string{"--user", "alice"}, "--user names the owner of a --saved search"},
		{[]string{"--saved", "scans", "--user", "nobody"}, `no user called "nobody"`},
	} {
		if code, _, errOut := search(tc.args...); code == 0 || !strings.Contains(errOut, tc.says) {
			t.Errorf("%v: exit %d, %q, want it to say %q", tc.args, code, errOut, tc.says)
		}
	}
}
