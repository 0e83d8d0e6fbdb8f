package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// module is the import path every package below starts with.
const module = "github.com/vigil-cert/vigil"

// A layer is a group of packages, named by import path prefixes relative to
// the module. A package may import packages of its own layer and of the
// layers below it, never one above: data flows up from the event model
// through the store and the pipeline to the capabilities, the interfaces
// and the command line, and a lower package never learns of a higher one.
type layer struct {
	number   int
	name     string
	prefixes []string
}

// layers is the layering, lowest first. docs/ARCHITECTURE.md shows the same
// table (TestArchitectureDocumentShowsTheLayers keeps the two alike). A
// prefix covers the package of that path and every package below it, so
// internal/store covers internal/store/sqlitestore; the longest prefix that
// matches wins. A new package must be given a layer here.
var layers = []layer{
	{0, "base", []string{"internal/event", "internal/taxonomy", "internal/i18n", "internal/tlp", "internal/offheap", "internal/cputime", "internal/syncbuf"}},
	{1, "store", []string{"internal/store"}},
	{2, "pipeline", []string{"internal/pipeline"}},
	{3, "stages", []string{"internal/collector", "internal/parser", "internal/shadowserver",
		"internal/enricher", "internal/output", "internal/bus", "internal/standard"}},
	{4, "capabilities", []string{"internal/auth", "internal/constituency", "internal/export",
		"internal/feedadmin", "internal/incident", "internal/lease", "internal/mailin", "internal/notify", "internal/outbox", "internal/pgpmime", "internal/publication", "internal/savedsearch", "internal/sealed"}},
	{5, "assembly", []string{"internal/config", "internal/database", "internal/demo"}},
	{6, "interfaces", []string{"internal/api", "internal/console", "internal/site", "internal/web"}},
	{7, "command line", []string{"internal/cli"}},
	{8, "program", []string{"cmd"}},
}

// testSupport are the packages of test helpers: contract suites and
// throwaway databases of both kinds. Only tests import them
// (TestOnlyTestsImportTestSupport), so, like tests, they may import any
// package: the store's contract suite, for one, makes accounts to check
// that an organisation with users is not deleted.
var testSupport = []string{"internal/store/storetest", "internal/store/dbtest", "internal/auth/authdb/authtest",
	"internal/constituency/constituencydb/constituencytest", "internal/notify/notifydb/notifytest", "internal/outbox/outboxdb/outboxtest",
	"internal/savedsearch/savedsearchdb/savedsearchtest",
	"internal/feedadmin/feedadmindb/feedadmintest",
	"internal/incident/incidentdb/incidenttest", "internal/publication/pubdb/pubtest", "internal/mailin/mailindb/mailintest",
	"internal/notify/falsepositive/falsepositivetest",
	"internal/publication/newsletter/newsletterdb/newslettertest",
	"internal/publication/products/productsdb/productstest"}

// listedPackage is what `go list -json` tells of a package.
type listedPackage struct {
	ImportPath string
	Imports    []string
	Error      *struct{ Err string }
}

// modulePackages lists the module's packages with the packages their
// non-test files import. Tests may import any package (most use
// sqlitestore as a fixture), so their imports are not looked at.
func modulePackages(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Error", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("read go list's answer: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

// layerOf returns the layer of a package path relative to the module, by
// its longest matching prefix; ok is false when no prefix matches.
func layerOf(path string) (l layer, prefix string, ok bool) {
	for _, candidate := range layers {
		for _, p := range candidate.prefixes {
			if (path == p || strings.HasPrefix(path, p+"/")) && len(p) > len(prefix) {
				l, prefix, ok = candidate, p, true
			}
		}
	}
	return l, prefix, ok
}

// inModule returns an import path relative to the module, or false for a
// package of the standard library or another module.
func inModule(importPath string) (string, bool) {
	rel, ok := strings.CutPrefix(importPath, module+"/")
	return rel, ok
}

func TestNoPackageImportsALayerAboveIt(t *testing.T) {
	used := map[string]bool{}
	for _, p := range modulePackages(t) {
		path, ok := inModule(p.ImportPath)
		if !ok || path == "internal/archtest" {
			continue // the module's root holds no package; this one has no code
		}
		from, prefix, ok := layerOf(path)
		if !ok {
			t.Errorf("%s is in no layer: give it one in internal/archtest/layers_test.go and docs/ARCHITECTURE.md", path)
			continue
		}
		used[prefix] = true
		if slices.Contains(testSupport, path) {
			continue
		}
		for _, imp := range p.Imports {
			target, ok := inModule(imp)
			if !ok {
				continue
			}
			to, _, ok := layerOf(target)
			if !ok {
				continue // reported when the imported package itself is checked
			}
			if to.number > from.number {
				t.Errorf("%s (layer %d, %s) imports %s (layer %d, %s): a package may import only its own layer and those below it",
					path, from.number, from.name, target, to.number, to.name)
			}
		}
	}
	// A prefix that matches no package is a layer table out of date.
	for _, l := range layers {
		for _, p := range l.prefixes {
			if !used[p] {
				t.Errorf("layer %d (%s) names %s, which holds no package: remove it from the table and from docs/ARCHITECTURE.md", l.number, l.name, p)
			}
		}
	}
}

func TestOnlyTestsImportTestSupport(t *testing.T) {
	found := map[string]bool{}
	for _, p := range modulePackages(t) {
		path, ok := inModule(p.ImportPath)
		if !ok {
			continue
		}
		found[path] = true
		if slices.Contains(testSupport, path) {
			continue
		}
		for _, imp := range p.Imports {
			if target, ok := inModule(imp); ok && slices.Contains(testSupport, target) {
				t.Errorf("%s imports %s, a package of test helpers: only tests and other test helpers may", path, target)
			}
		}
	}
	for _, p := range testSupport {
		if !found[p] {
			t.Errorf("test helper package %s does not exist: remove it from testSupport", p)
		}
	}
}

func TestLayerOf(t *testing.T) {
	seen := map[string]int{}
	for i, l := range layers {
		if l.number != i {
			t.Errorf("layer %q is numbered %d at position %d", l.name, l.number, i)
		}
		for _, p := range l.prefixes {
			if before, dup := seen[p]; dup {
				t.Errorf("%s is in layer %d and layer %d", p, before, l.number)
			}
			seen[p] = l.number
		}
	}
	for path, want := range map[string]int{
		"internal/store":                   1,
		"internal/store/sqlitestore":       1,
		"internal/notify":                  4,
		"internal/notify/notifystore":      4,
		"internal/web":                     6,
		"cmd/vigil":                        8,
		"internal/storefront/is/not/store": -1,
		"internal/eventual":                -1,
	} {
		l, _, ok := layerOf(path)
		got := l.number
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("layerOf(%q) = %d, want %d", path, got, want)
		}
	}
}

// layerRow is a row of the table in docs/ARCHITECTURE.md: "| 3 | stages |
// `internal/collector`, `internal/parser` |".
var layerRow = regexp.MustCompile(`^\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|([^|]*)\|`)

// backquoted is a package prefix in a table cell.
var backquoted = regexp.MustCompile("`([^`]+)`")

func TestArchitectureDocumentShowsTheLayers(t *testing.T) {
	doc, err := os.ReadFile("../../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	// The table is the first one under the heading "## Layers".
	_, section, found := strings.Cut(string(doc), "\n## Layers\n")
	if !found {
		t.Fatal(`docs/ARCHITECTURE.md has no "## Layers" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var documented []layer
	for line := range strings.Lines(section) {
		m := layerRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		l := layer{number: n, name: m[2]}
		for _, q := range backquoted.FindAllStringSubmatch(m[3], -1) {
			l.prefixes = append(l.prefixes, q[1])
		}
		documented = append(documented, l)
	}
	if len(documented) != len(layers) {
		t.Fatalf("docs/ARCHITECTURE.md shows %d layers, the test %d", len(documented), len(layers))
	}
	for i, want := range layers {
		got := documented[i]
		if got.number != want.number || got.name != want.name {
			t.Errorf("docs/ARCHITECTURE.md row %d is layer %d %q, the test's is %d %q", i+1, got.number, got.name, want.number, want.name)
		}
		g, w := slices.Sorted(slices.Values(got.prefixes)), slices.Sorted(slices.Values(want.prefixes))
		if !slices.Equal(g, w) {
			t.Errorf("docs/ARCHITECTURE.md puts %q in layer %d, the test %q", g, want.number, w)
		}
	}
}
