package cli

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestConstituencyDisable: 'vigil constituency disable HANDLE' disables an
// organisation (shown in the list, audited), says so when it is disabled
// already, and 'enable' undoes it.
func TestConstituencyDisable(t *testing.T) {
	data := t.TempDir()
	file := writeTemp(t, "organisations.csv", constituencyCSV)
	if code, out, errOut := run(t, "", "constituency", "import", file, "--data", data); code != 0 {
		t.Fatalf("import: exit %d:\n%s\n%s", code, out, errOut)
	}
	var actions []string
	disabled := func() bool {
		t.Helper()
		ctx := context.Background()
		raw, err := sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		db := database.On(raw)
		o, err := db.GetOrganisationByHandle(ctx, "uliege")
		if err != nil {
			t.Fatal(err)
		}
		entries, err := db.ListAudit(ctx, auth.AuditQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		actions = actions[:0]
		for _, e := range entries {
			actions = append(actions, e.Actor+" "+e.Action+" "+e.Target)
		}
		return o.Disabled
	}
	code, out, errOut := run(t, "", "constituency", "disable", "uliege", "--data", data)
	if code != 0 || !strings.Contains(out, "uliege (Université de Liège) disabled") || !disabled() {
		t.Fatalf("disable: exit %d:\n%s\n%s", code, out, errOut)
	}
	if !slices.Contains(actions, "cli organisation.disable uliege") {
		t.Errorf("audit after the disable: %q", actions)
	}
	if _, out, _ := run(t, "", "constituency", "list", "--data", data); !strings.Contains(out, "Université de Liège (disabled)") ||
		strings.Contains(out, "KU Leuven (disabled)") {
		t.Errorf("list after the disable:\n%s", out)
	}
	if _, out, _ := run(t, "", "constituency", "lookup", "192.0.2.10", "--data", data); !strings.Contains(out, "Université de Liège (disabled)") {
		t.Errorf("lookup after the disable:\n%s", out)
	}
	if code, out, _ := run(t, "", "constituency", "disable", "uliege", "--data", data); code != 0 || !strings.Contains(out, "is disabled already") {
		t.Errorf("disable again: exit %d:\n%s", code, out)
	}
	if code, out, errOut := run(t, "", "constituency", "enable", "uliege", "--data", data); code != 0 || !strings.Contains(out, "enabled") || disabled() {
		t.Fatalf("enable: exit %d:\n%s\n%s", code, out, errOut)
	}
}
