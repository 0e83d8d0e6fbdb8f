package cli

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// savedSearchData is a data directory with the sample events and the
// given searches saved by alice, shared.
func savedSearchData(t *testing.T, searches ...savedsearch.Search) string {
	t.Helper()
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "peer.jsonl")
	os.WriteFile(file, []byte(sampleJSONL), 0o600)
	if code, _, errOut := run(t, "", "ingest", "--data", data, file); code > 1 {
		t.Fatalf("ingest: %s", errOut)
	}
	ctx := context.Background()
	raw, err := sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	st := database.On(raw)
	alice := auth.User{Name: "alice", Email: "alice@cert.example", Role: auth.RoleAnalyst, Language: "en", PasswordHash: "unused"}
	if err := st.CreateUser(ctx, &alice); err != nil {
		t.Fatal(err)
	}
	for _, s := range searches {
		s.UserID, s.Shared = alice.ID, true
		if err := st.CreateSavedSearch(ctx, &s); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// TestEventsSearchSavedView: --saved runs a search in its sort, prints
// its grouping's counts, and shows its columns in a table; flags given
// win over the saved view.
func TestEventsSearchSavedView(t *testing.T) {
	data := savedSearchData(t,
		savedsearch.Search{Name: "by address", Query: "dir=asc&sort=source.ip"},
		savedsearch.Search{Name: "by type", Query: "group=type"},
		savedsearch.Search{Name: "names", Query: "", Columns: []string{"classification.type", "source.fqdn"}},
	)
	search := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, "", append([]string{"events", "search", "--data", data}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	order := func(out string) string {
		first, second := strings.Index(out, "192.0.2.10"), strings.Index(out, "198.51.100.7")
		if first < 0 || second < 0 {
			t.Fatalf("an event is missing:\n%s", out)
		}
		if first < second {
			return "ascending"
		}
		return "newest first"
	}
	if got := order(search("--saved", "by address", "--format", "csv")); got != "ascending" {
		t.Errorf("the saved sort: %s", got)
	}
	if got := order(search("--saved", "by address", "--sort", "time", "--format", "csv")); got != "newest first" {
		t.Errorf("--sort time over the saved sort: %s", got)
	}
	if got := order(search("--saved", "names", "--format", "csv")); got != "newest first" {
		t.Errorf("a search without a sort: %s", got)
	}
	grouped := search("--saved", "by type")
	for _, line := range []string{"2 events", "TYPE", "phishing", "scanner"} {
		if !strings.Contains(grouped, line) {
			t.Errorf("the saved grouping lacks %q:\n%s", line, grouped)
		}
	}
	if got := search("--saved", "by type", "--count"); strings.Contains(got, "TYPE") {
		t.Errorf("--count prints the saved grouping:\n%s", got)
	}
	table := search("--saved", "names")
	header, _, _ := strings.Cut(table, "\n")
	if fields := strings.Fields(strings.ToLower(header)); strings.Join(fields, " ") != "time.source classification.type source.fqdn hash" {
		t.Errorf("the saved columns' table header %q", header)
	}
	if !strings.Contains(table, "www.example.net") {
		t.Errorf("the table lacks the fqdn:\n%s", table)
	}
	if header, _, _ := strings.Cut(search("--saved", "by address"), "\n"); !strings.Contains(strings.ToLower(header), "source.asn") {
		t.Errorf("a search without columns shows the default table: %q", header)
	}
}
