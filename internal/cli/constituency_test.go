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
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

const constituencyCSV = `handle,name,sector,country,language,networks,asns,domains,notes,contact_name,contact_email,contact_phone,contact_role,contact_notify,contact_pgp_key
uliege,Université de Liège,education,BE,fr,192.0.2.0/24 2001:db8:10::/48,AS64496,uliege.be,,CSIRT,csirt@uliege.be,,security,true,
uliege,Université de Liège,education,BE,fr,192.0.2.0/24 2001:db8:10::/48,AS64496,uliege.be,,Abuse desk,abuse@uliege.be,,abuse,true,
chu-liege,CHU de Liège,health,BE,fr,192.0.2.128/25,,chu.uliege.be,,,,,,,
kuleuven,KU Leuven,education,BE,nl,198.51.100.0/24,64497,kuleuven.be,,Security team,security@kuleuven.be,,security,false,
`

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// constituencyCommandSteps is what the subtests of TestConstituencyCommand share.
type constituencyCommandSteps struct {
	data     string
	file     string
	exported string
}

func TestConstituencyCommand(t *testing.T) {
	data := t.TempDir()
	file := writeTemp(t, "organisations.csv", constituencyCSV)

	s := &constituencyCommandSteps{data: data, file: file}
	t.Run("empty list", s.emptyList)
	t.Run("dry run writes nothing", s.dryRunWritesNothing)
	t.Run("import", s.importFile)
	t.Run("import again changes nothing", s.importAgainChangesNothing)
	t.Run("list", s.list)
	for _, tt := range []struct{ query, want string }{
		{"192.0.2.200", "chu-liege CHU de Liège network 192.0.2.128/25"},
		{"192.0.2.200", "uliege Université de Liège network 192.0.2.0/24"},
		{"192.0.2.10", "uliege Université de Liège network 192.0.2.0/24"},
		{"192.0.2.10", "SHORT NAME ORGANISATION MATCHED BY MATCHING ENTRY"},
		{"AS64497", "kuleuven KU Leuven AS number AS64497"},
		{"www.chu.uliege.be", "chu-liege CHU de Liège domain chu.uliege.be"},
		{"203.0.113.1", "nobody in the constituency owns 203.0.113.1"},
	} {
		t.Run("lookup "+tt.query+" "+tt.want, func(t *testing.T) {
			code, out, errOut := run(t, "", "constituency", "lookup", tt.query, "--data", data)
			if code != 0 || !strings.Contains(strings.Join(strings.Fields(out), " "), tt.want) {
				t.Fatalf("exit %d:\n%s\n%s\nwant a line with %q", code, out, errOut, tt.want)
			}
		})
	}
	t.Run("lookup of a CIDR lists every owner", s.lookupOfCIDRListsEveryOwner)
	t.Run("lookup of nonsense", s.lookupOfNonsense)

	t.Run("export round-trips", s.exportRoundTrips)
	t.Run("errors: every problem, nothing written", s.errorsEveryProblemNothingWritten)
	t.Run("replace deletes", s.replaceDeletes)
	t.Run("writes are audited", s.writesAreAudited)
}

// emptyList is the subtest "empty list" of TestConstituencyCommand.
func (s *constituencyCommandSteps) emptyList(t *testing.T) {
	data := s.data
	// Listing reads a store, so it is made first (a directory without
	// one is refused: TestReadingCommandsNeedTheDatabase).
	if code, _, errOut := run(t, "", "migrate", "--data", data); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, errOut)
	}
	code, out, errOut := run(t, "", "constituency", "list", "--data", data)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(errOut, "the constituency is empty") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
}

// dryRunWritesNothing is the subtest "dry run writes nothing" of TestConstituencyCommand.
func (s *constituencyCommandSteps) dryRunWritesNothing(t *testing.T) {
	data := s.data
	file := s.file
	code, out, errOut := run(t, "", "constituency", "import", file, "--dry-run", "--data", data)
	if code != 0 || !strings.Contains(out, "create chu-liege\ncreate kuleuven\ncreate uliege\n") ||
		!strings.Contains(out, "dry run: 3 to create, 0 to update, 0 to delete, 0 unchanged; nothing was written") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	if _, out, _ := run(t, "", "constituency", "list", "--data", data); strings.Contains(out, "uliege") {
		t.Fatalf("the dry run wrote:\n%s", out)
	}
}

// importFile is the subtest "import" of TestConstituencyCommand.
func (s *constituencyCommandSteps) importFile(t *testing.T) {
	data := s.data
	file := s.file
	code, out, errOut := run(t, "", "constituency", "import", file, "--data", data)
	if code != 0 || !strings.Contains(out, "3 created, 0 updated, 0 deleted; the constituency has 3 organisations") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	// The hospital's network inside the university's is allowed, and said.
	if !strings.Contains(errOut, file+": note: line 4: chu-liege: networks \"192.0.2.128/25\": lies inside 192.0.2.0/24 of uliege") {
		t.Errorf("no note about the nested network:\n%s", errOut)
	}
}

// importAgainChangesNothing is the subtest "import again changes nothing" of TestConstituencyCommand.
func (s *constituencyCommandSteps) importAgainChangesNothing(t *testing.T) {
	data := s.data
	file := s.file
	code, out, errOut := run(t, "", "constituency", "import", file, "--data", data)
	if code != 0 || !strings.Contains(out, "0 created, 0 updated, 0 deleted") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
}

// list is the subtest "list" of TestConstituencyCommand.
func (s *constituencyCommandSteps) list(t *testing.T) {
	data := s.data
	code, out, _ := run(t, "", "constituency", "list", "--data", data)
	if code != 0 || !strings.Contains(out, "uliege") || !strings.Contains(out, "Université de Liège") || strings.Count(out, "\n") != 4 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	code, out, _ = run(t, "", "constituency", "list", "--search", "LEUVEN", "--data", data)
	if code != 0 || !strings.Contains(out, "kuleuven") || strings.Contains(out, "uliege") {
		t.Fatalf("search: exit %d:\n%s", code, out)
	}
}

// lookupOfCIDRListsEveryOwner is the subtest "lookup of a CIDR lists every owner" of TestConstituencyCommand.
func (s *constituencyCommandSteps) lookupOfCIDRListsEveryOwner(t *testing.T) {
	data := s.data
	_, out, _ := run(t, "", "constituency", "lookup", "192.0.2.0/23", "--data", data)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// The most specific first.
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "chu-liege ") || !strings.HasPrefix(lines[2], "uliege ") {
		t.Fatalf("%s", out)
	}
}

// lookupOfNonsense is the subtest "lookup of nonsense" of TestConstituencyCommand.
func (s *constituencyCommandSteps) lookupOfNonsense(t *testing.T) {
	data := s.data
	code, _, errOut := run(t, "", "constituency", "lookup", "not a thing!", "--data", data)
	if code != 1 || !strings.Contains(errOut, "not an IP address, network, AS number or domain") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// exportRoundTrips is the subtest "export round-trips" of TestConstituencyCommand.
func (s *constituencyCommandSteps) exportRoundTrips(t *testing.T) {
	data := s.data
	code, out, errOut := run(t, "", "constituency", "export", "--data", data)
	if code != 0 || !strings.HasPrefix(out, "handle,name,sector,") || strings.Count(out, "\n") != 5 {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	s.exported = out
	jsonFile := filepath.Join(t.TempDir(), "orgs.json")
	if code, out, errOut := run(t, "", "constituency", "export", "--output", jsonFile, "--data", data); code != 0 ||
		!strings.Contains(out, "3 organisations written to "+jsonFile) {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	body, err := os.ReadFile(jsonFile)
	if err != nil || !strings.HasPrefix(string(body), "[\n  {\n    \"handle\": \"chu-liege\"") {
		t.Fatalf("%v:\n%s", err, body)
	}
	for _, f := range []string{jsonFile, writeTemp(t, "orgs.csv", s.exported)} {
		if code, out, errOut := run(t, "", "constituency", "import", f, "--replace", "--data", data); code != 0 ||
			!strings.Contains(out, "0 created, 0 updated, 0 deleted") {
			t.Fatalf("re-import of %s: exit %d:\n%s\n%s", f, code, out, errOut)
		}
	}
}

// errorsEveryProblemNothingWritten is the subtest "errors: every problem, nothing written" of TestConstituencyCommand.
func (s *constituencyCommandSteps) errorsEveryProblemNothingWritten(t *testing.T) {
	data := s.data
	bad := writeTemp(t, "bad.csv", constituencyCSV+
		"newone,New One,,BEL,,192.0.2.7/24,,,,,someone@,,,,\n"+
		"kuleuven,KU Leuven,education,BE,nl,198.51.100.0/24,64497,kuleuven.be,,Other,other@kuleuven.be,,boss,false,\n")
	code, out, errOut := run(t, "", "constituency", "import", bad, "--replace", "--data", data)
	if code != 1 {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		bad + `: line 6: newone: country "BEL": not a two-letter ISO 3166 country code`,
		bad + `: line 6: newone: networks "192.0.2.7/24": host bits are set; the network is 192.0.2.0/24`,
		bad + `: line 6: newone: contact_email "someone@": not an e-mail address`,
		bad + `: line 6: newone: contact_role: a contact needs a role`,
		bad + `: line 7: kuleuven: contact_role "boss": not a contact role`,
		"vigil constituency: " + bad + ": 5 errors; nothing was imported",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in:\n%s", want, errOut)
		}
	}
	if _, out, _ := run(t, "", "constituency", "export", "--data", data); out != s.exported {
		t.Errorf("a refused import changed the constituency:\n%s", out)
	}
}

// replaceDeletes is the subtest "replace deletes" of TestConstituencyCommand.
func (s *constituencyCommandSteps) replaceDeletes(t *testing.T) {
	data := s.data
	only := strings.Join(strings.Split(constituencyCSV, "\n")[:4], "\n") + "\n" // without kuleuven
	code, out, errOut := run(t, only, "constituency", "import", "-", "--format", "csv", "--replace", "--data", data)
	if code != 0 || !strings.Contains(out, "-: 0 created, 0 updated, 1 deleted (replace); the constituency has 2 organisations") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}
}

// writesAreAudited is the subtest "writes are audited" of TestConstituencyCommand.
func (s *constituencyCommandSteps) writesAreAudited(t *testing.T) {
	data := s.data
	file := s.file
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(data, "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries, err := database.On(st).ListAudit(ctx, auth.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var imports []string
	for _, e := range entries {
		if e.Action == "constituency.import" {
			imports = append(imports, e.Target+" "+e.Detail)
		}
	}
	// Newest first: the replace from standard input, the two
	// re-imports, the second and the first import; not the dry run
	// nor the refused file.
	if len(imports) != 5 || imports[0] != "- 0 created, 0 updated, 1 deleted (replace)" || imports[4] != file+" 3 created, 0 updated, 0 deleted" {
		t.Errorf("audit log:\n%s", strings.Join(imports, "\n"))
	}
}

func TestConstituencyCommandUsage(t *testing.T) {
	data := t.TempDir()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"constituency"}, 2, "want import, export, lookup, list, disable or enable"},
		{[]string{"constituency", "disable"}, 2, "disable needs the organisation's handle"},
		{[]string{"constituency", "enable", "nobody"}, 1, `no organisation with the handle "nobody"`},
		{[]string{"constituency", "frobnicate"}, 2, `unknown constituency command "frobnicate"`},
		{[]string{"constituency", "import"}, 2, "import needs a file"},
		{[]string{"constituency", "import", "orgs.xlsx"}, 2, `"xlsx" is not a constituency format Vigil reads`},
		{[]string{"constituency", "import", "-"}, 2, "standard input needs --format"},
		{[]string{"constituency", "lookup"}, 2, "lookup needs an IP address"},
		{[]string{"constituency", "import", filepath.Join(data, "missing.csv")}, 1, filepath.Join(data, "missing.csv") + " does not exist."},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := run(t, "", append(tt.args, "--data", data)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, tt.code, tt.want, errOut)
			}
		})
	}
}

// TestConstituencyImportProblemsTranslated: with VIGIL_LANG=fr, the
// problems of reading the file are in French, the decoder's own detail
// after a French sentence; the file is refused before any database is
// opened.
func TestConstituencyImportProblemsTranslated(t *testing.T) {
	t.Setenv("VIGIL_LANG", "fr")
	data := t.TempDir()
	tests := []struct {
		name, file, content string
		want                []string
	}{
		{"a network", "orgs.csv", "handle,name,networks\nacme,ACME,10.0.0.0/33\n", []string{
			`ligne 2 : acme: networks "10.0.0.0/33": pas une adresse IP ni un réseau (192.0.2.0/24, 2001:db8::/32)`,
		}},
		{"not an array", "orgs.json", `{"handle": "acme"}`, []string{
			`ligne 1 : en JSON, les bénéficiaires sont un tableau d'organisations : [{"handle": …}, …]`,
		}},
		{"not JSON", "orgs.json", "[{\"handle\": \"acme\",}]\n", []string{
			`ligne 1 : pas du JSON valide : invalid character '}'`,
		}},
		{"CSV columns", "orgs.csv", "handle,naam\nacme,ACME\n", []string{
			`ligne 1 : naam: colonne inconnue ; les colonnes sont handle,name,`,
			`ligne 1 : name: l'en-tête n'a pas de colonne name, qui est obligatoire`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(file, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := run(t, "", "constituency", "import", file, "--data", data)
			if code != 1 {
				t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
			}
			for _, want := range tt.want {
				if !strings.Contains(errOut, file+": "+want) {
					t.Errorf("missing %q in:\n%s", file+": "+want, errOut)
				}
			}
		})
	}
}
