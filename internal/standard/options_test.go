package standard

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// TestModuleOptionProblemsInEveryLanguage: what a module's own check of
// its options finds (an option it needs that is missing, a value it
// cannot take, options that do not go together, a file it cannot read)
// is said in the reader's language: the English as the log shows it,
// and in Dutch, French and German a sentence without the English's words
// that still quotes what was given.
func TestModuleOptionProblemsInEveryLanguage(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "vigil.db"), sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	env := pipeline.Env{Store: st, DataDir: dir, Constituency: nobody{}}
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	missing := filepath.Join(dir, "missing")
	emptyTable := file("empty.pfx2as", "# nothing\nnot a line\n")
	notMMDB := file("not.mmdb", "not a database")
	emptySecret := file("empty-secret", "\n")
	t.Setenv("VIGIL_TEST_EMPTY", "")
	shadowserver := func(extra pipeline.Options) pipeline.Options {
		opts := pipeline.Options{"api_key": "k", "secret": "s"}
		for k, v := range extra {
			opts[k] = v
		}
		return opts
	}
	csv := func(extra pipeline.Options) pipeline.Options {
		opts := pipeline.Options{"columns": map[string]any{"ip": "source.ip"}, "constant_fields": map[string]any{"classification.type": "scanner"}}
		for k, v := range extra {
			opts[k] = v
		}
		return opts
	}

	for _, tt := range []struct {
		name, kind, id string
		opts           pipeline.Options
		// en is the English error; given is what every language quotes
		// ("" for nothing); words are the English's, in no other language.
		en, given string
		words     []string
	}{
		{"asn without file", "enricher", "asn", pipeline.Options{},
			"asn: option file (a pfx2as routing table) is required", "file", []string{"required", "routing table"}},
		{"asn missing file", "enricher", "asn", pipeline.Options{"file": missing},
			"asn: option file: " + missing + " does not exist.", missing, []string{"does not exist"}},
		{"asn empty table", "enricher", "asn", pipeline.Options{"file": emptyTable},
			"asn: option file: " + emptyTable + " holds no prefix of a routing table (1 lines malformed)", emptyTable, []string{"holds no", "malformed"}},
		{"asn missing names", "enricher", "asn", pipeline.Options{"file": file("one.pfx2as", "192.0.2.0\t24\t64500\n"), "names_file": missing},
			"asn: option names_file: " + missing + " does not exist.", missing, []string{"does not exist"}},
		{"geoip without file", "enricher", "geoip", pipeline.Options{},
			"geoip: option file (a .mmdb database) is required", ".mmdb", []string{"required", "database"}},
		{"geoip missing file", "enricher", "geoip", pipeline.Options{"file": missing},
			"geoip: option file: " + missing + " does not exist.", missing, []string{"does not exist"}},
		{"geoip not mmdb", "enricher", "geoip", pipeline.Options{"file": notMMDB},
			"geoip: option file: " + notMMDB + " is not a MaxMind-format database (", notMMDB, []string{"is not a"}},
		{"constituency no sides", "enricher", "constituency", pipeline.Options{"sides": []any{}},
			"constituency: option sides: name source, destination or both", "sides", []string{"name source", " or both"}},
		{"constituency side", "enricher", "constituency", pipeline.Options{"sides": []any{"left"}},
			`constituency: option sides: want source and/or destination, got "left"`, "left", []string{"want", "got"}},
		{"rdns resolver", "enricher", "rdns", pipeline.Options{"resolver": "dns.example"},
			`rdns: option resolver: want host:port, got "dns.example" (address dns.example: missing port in address)`, "dns.example", []string{"want", "got"}},
		{"dedup window", "enricher", "dedup", pipeline.Options{"window": "500ms"},
			"dedup: option window: 500ms is shorter than a second", "500ms", []string{"shorter"}},
		{"dedup negative", "enricher", "dedup", pipeline.Options{"max_bytes": -1},
			"dedup: options max_bytes and max_keys cannot be negative", "max_keys", []string{"cannot", "negative"}},
		{"dedup both", "enricher", "dedup", pipeline.Options{"max_bytes": 1 << 20, "max_keys": 1000},
			"dedup: option max_keys is deprecated and replaced by max_bytes: give only max_bytes", "max_keys", []string{"deprecated", "give only"}},
		{"dedup max_bytes", "enricher", "dedup", pipeline.Options{"max_bytes": 1000},
			"dedup: option max_bytes: 1000 is less than the least, 65536", "65536", []string{"less than"}},
		{"dedup filter_keys", "enricher", "dedup", pipeline.Options{"filter_keys": []any{"source.ipp"}},
			`dedup: option filter_keys: "source.ipp" is not a harmonized field name`, "source.ipp", []string{"is not a", "harmonized"}},

		{"inbox dir", "collector", "inbox", pipeline.Options{"dir": ""},
			"inbox: option dir: name the directory to watch", "dir", []string{"name the", "watch"}},
		{"http url", "collector", "http", pipeline.Options{"url": "ftp://example.org/x"},
			`http collector f: option url: want an http or https URL, got "ftp://example.org/x"`, "ftp://example.org/x", []string{"want", "got"}},
		{"http url parse", "collector", "http", pipeline.Options{"url": "http://[::1"},
			`http collector f: option url: parse "http://[::1": missing ']' in host`, `parse "http://[::1"`, nil},
		{"shadowserver no key", "collector", "shadowserver_api", pipeline.Options{"secret": "s"},
			"shadowserver_api collector: option api_key is missing: set api_key, api_key_env or api_key_file", "api_key_env", []string{"missing", " or "}},
		{"shadowserver both", "collector", "shadowserver_api", shadowserver(pipeline.Options{"secret_env": "VIGIL_TEST_EMPTY"}),
			"shadowserver_api collector: set only one of the options secret, secret_env and secret_file", "secret_env", []string{"only one", " and "}},
		{"shadowserver empty variable", "collector", "shadowserver_api", pipeline.Options{"api_key": "k", "secret_env": "VIGIL_TEST_EMPTY"},
			"shadowserver_api collector: option secret_env: the environment variable VIGIL_TEST_EMPTY is empty or not set", "VIGIL_TEST_EMPTY", []string{"environment", "not set"}},
		{"shadowserver missing file", "collector", "shadowserver_api", pipeline.Options{"api_key": "k", "secret_file": missing},
			"shadowserver_api collector: option secret_file: " + missing + " does not exist.", missing, []string{"does not exist"}},
		{"shadowserver empty file", "collector", "shadowserver_api", pipeline.Options{"api_key": "k", "secret_file": emptySecret},
			"shadowserver_api collector: option secret_file: " + emptySecret + " is empty", emptySecret, []string{"is empty"}},
		{"shadowserver days", "collector", "shadowserver_api", shadowserver(pipeline.Options{"days": 61}),
			"shadowserver_api collector f: option days: want 1 to 60, got 61", "61", []string{"want", "got"}},
		{"shadowserver base_url", "collector", "shadowserver_api", shadowserver(pipeline.Options{"base_url": "ftp://example.org/"}),
			`shadowserver_api collector f: option base_url: want an http or https URL, got "ftp://example.org/"`, "ftp://example.org/", []string{"want", "got"}},
		{"shadowserver empty report", "collector", "shadowserver_api", shadowserver(pipeline.Options{"reports": []any{""}}),
			"shadowserver_api collector f: options reports and types may not hold an empty name", "reports", []string{"may not", "empty name"}},

		{"jsonl path", "output", "jsonl", pipeline.Options{},
			"jsonl output: option path is required", "path", []string{"required"}},
		{"webhook url", "output", "webhook", pipeline.Options{"url": "mailto:x@example.org"},
			`webhook output: option url: want an http or https URL, got "mailto:x@example.org"`, "mailto:x@example.org", []string{"want", "got"}},
		{"webhook format", "output", "webhook", pipeline.Options{"url": "https://example.org/", "format": "xml"},
			`webhook output: option format: want one of ndjson, json, got "xml"`, "xml", []string{"want", "got"}},

		{"list without type", "parser", "list", pipeline.Options{},
			"parser list: option type is required: the classification.type of every line", "classification.type", []string{"required", "every line"}},
		{"list type", "parser", "list", pipeline.Options{"type": "nonsense"},
			`parser list: option type: "nonsense" is not a classification type (known: `, "nonsense", []string{"is not a", "(known:"}},
		{"csv delimiter", "parser", "csv", csv(pipeline.Options{"delimiter": ";;"}),
			`parser csv: option delimiter: want one character other than a quote or line break, got ";;"`, ";;", []string{"want", "got"}},
		{"csv skip_lines", "parser", "csv", csv(pipeline.Options{"skip_lines": -2}),
			"parser csv: option skip_lines: want 0 or more, got -2", "-2", []string{"want", "got"}},
		{"csv no columns", "parser", "csv", pipeline.Options{"constant_fields": map[string]any{"classification.type": "scanner"}},
			"parser csv: option columns: map at least one column to a field", "columns", []string{"at least", "column to"}},
		{"csv raw", "parser", "csv", csv(pipeline.Options{"columns": map[string]any{"line": "raw"}}),
			"parser csv: option columns.line: raw is the source line and set by the parser", "columns.line", []string{"source line", "set by"}},
		{"csv unknown field", "parser", "csv", csv(pipeline.Options{"columns": map[string]any{"ip": "source.ipp"}}),
			`parser csv: option columns.ip: "source.ipp" is not a harmonized field name`, "source.ipp", []string{"is not a", "harmonized"}},
		{"csv mapped twice", "parser", "csv", csv(pipeline.Options{"columns": map[string]any{"a": "source.ip", "b": "source.ip"}}),
			`parser csv: option columns: field source.ip is mapped from both "a" and "b"`, "source.ip", []string{"mapped from", "both"}},
		{"csv negative index", "parser", "csv", csv(pipeline.Options{"columns": map[string]any{"-1": "source.ip"}}),
			"parser csv: option columns.-1: a column index starts at 0", "columns.-1", []string{"index", "starts at"}},
		{"csv name without header", "parser", "csv", csv(pipeline.Options{"has_header": false}),
			"parser csv: option columns.ip: a column name needs has_header: true; use a 0-based index", "has_header: true", []string{"needs", "use a"}},
		{"csv constant mapped", "parser", "csv", csv(pipeline.Options{"constant_fields": map[string]any{"classification.type": "scanner", "source.ip": "192.0.2.1"}}),
			`parser csv: option constant_fields.source.ip: the field is also mapped from column "ip"`, "source.ip", []string{"also mapped", "column"}},
		{"csv constant value", "parser", "csv", csv(pipeline.Options{"constant_fields": map[string]any{"classification.type": "scanner", "source.asn": "many"}}),
			`parser csv: option constant_fields.source.asn: "many" is not a value of this field (not an AS number (1-4294967295))`, "many",
			[]string{"is not a value", "not an AS number"}},
		{"csv constant host", "parser", "csv", csv(pipeline.Options{"constant_fields": map[string]any{"classification.type": "scanner", "source.fqdn": "a b.example"}}),
			`parser csv: option constant_fields.source.fqdn: "a b.example" is not a value of this field (character ' ' not allowed in a host name)`, "a b.example",
			[]string{"is not a value", "not allowed"}},
		{"csv constant time", "parser", "csv", csv(pipeline.Options{"constant_fields": map[string]any{"classification.type": "scanner", "time.source": "yesterday"}}),
			`parser csv: option constant_fields.time.source: "yesterday" is not a value of this field (not a recognised date-time)`, "yesterday",
			[]string{"is not a value", "recognised"}},
		{"csv no type", "parser", "csv", pipeline.Options{"columns": map[string]any{"0": "source.ip"}},
			"parser csv: option constant_fields: classification.type is required (or map a column to it)", "classification.type", []string{"required", "map a column"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			switch tt.kind {
			case "collector":
				_, err = pipeline.NewCollector(tt.id, env, "f", tt.opts)
			case "parser":
				_, err = pipeline.NewParser(tt.id, env, tt.opts)
			case "enricher":
				_, err = pipeline.NewEnricher(tt.id, env, tt.opts)
			case "output":
				_, err = pipeline.NewOutput(tt.id, env, tt.opts)
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.en) {
				t.Fatalf("err = %v\nwant it to start with %s", err, tt.en)
			}
			m, ok := i18n.Explain(err)
			if !ok {
				t.Fatalf("%v does not explain itself", err)
			}
			c := i18n.Embedded()
			for _, lang := range []string{"nl", "fr", "de"} {
				got := m.In(c, lang)
				if !strings.Contains(got, tt.given) {
					t.Errorf("in %s, %q does not quote %q", lang, got, tt.given)
				}
				for _, w := range append(tt.words, m.ID) {
					if strings.Contains(got, w) {
						t.Errorf("in %s, %q says %q, the English's or an ID", lang, got, w)
					}
				}
			}
		})
	}
}

// nobody is a constituency that owns nothing.
type nobody struct{}

func (nobody) OwnerOf(netip.Addr, uint32, string) (string, bool) { return "", false }
