package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestIngestJunkGzipIsCapped is finding 4 of issue 8 as it was found: a
// gzip of about a kilobyte holding 500,000 junk lines became 500,000 dead
// letters and a database of 267 MB. Now it is 1,000 letters and one that
// refuses the rest, and the command says so.
func TestIngestJunkGzipIsCapped(t *testing.T) {
	data := t.TempDir()
	file := filepath.Join(t.TempDir(), "junk.jsonl.gz")
	gz := gzipped(t, bytes.Repeat([]byte("junk\n"), 500000))
	if err := os.WriteFile(file, gz, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "", "ingest", "--data", data, file)
	if code != 0 {
		t.Fatalf("ingest exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "1,000 lines read, 0 events stored, 0 duplicates, 1,001 dead letters") {
		t.Errorf("summary %q: want 1,000 lines read and 1,001 dead letters", out)
	}
	if !strings.Contains(errOut, "warning: junk.jsonl: input refused after 1000 dead letters") ||
		!strings.Contains(errOut, "(499000 lines)") || !strings.Contains(errOut, "pipeline.dead_letters.max_per_input") {
		t.Errorf("stderr %q does not explain the refusal", errOut)
	}
	info, err := os.Stat(filepath.Join(data, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > 16<<20 {
		t.Errorf("database of %d MiB after a junk file", info.Size()>>20)
	}
	// The warning in the operator's language; the letter itself keeps
	// the English.
	t.Setenv("VIGIL_LANG", "de")
	_, _, errOut = run(t, "", "ingest", "--data", t.TempDir(), file)
	if !strings.Contains(errOut, "junk.jsonl: Eingabe abgewiesen nach 1000 abgewiesenen Eingaben") || !strings.Contains(errOut, "(499000 Zeilen)") {
		t.Errorf("in German, stderr %q does not explain the refusal", errOut)
	}
}

// fuzzLimits are small, so that fuzzed inputs reach them.
var fuzzLimits = pipeline.DeadLetterLimits{MaxLetters: 20, MaxBytes: 64 << 10}

// fuzzNames are the input names tried: each leads the inbox's auto parser
// to a different parser, and the Shadowserver parser to a report type.
var fuzzNames = []string{
	"2026-11-20-scan_rdp-belgium-geo.csv", "2026-11-20-event4_sinkhole_http-be-geo.csv", "events.jsonl",
	"urlhaus.csv", "feodo-ipblocklist.csv", "online-valid.csv", "openphish.txt", "drop.txt",
	"cowrie.json", "list.txt", "unknown.bin",
}

// fuzzParsers is every registered parser, with the options it cannot do
// without.
func fuzzParsers() []config.Feed {
	needs := map[string]pipeline.Options{
		"csv": {"columns": map[string]any{"0": "source.ip", "1": "time.source", "2": "extra.note"},
			"constant_fields": map[string]any{"classification.type": "scanner"}},
		"list": {"type": "scanner"},
	}
	var feeds []config.Feed
	for _, m := range pipeline.Modules() {
		id, ok := strings.CutPrefix(m.ID, "parser/")
		if !ok {
			continue
		}
		opts := needs[id]
		if opts == nil {
			opts = pipeline.Options{}
		}
		feeds = append(feeds, config.Feed{Name: "fuzz-" + id, Parser: id, ParserOptions: opts})
	}
	return feeds
}

// FuzzIngest feeds arbitrary bytes through `vigil ingest`'s whole path:
// a file (gzipped or not) read by ingestOne, every registered parser, the
// configured enrichers and the store output into a real SQLite store. It
// checks that nothing panics, that one input never writes more dead
// letters (in number and in bytes) than the limits allow, and that the
// heap stays small whatever the input.
func FuzzIngest(f *testing.F) {
	parsers := fuzzParsers()
	for i := range parsers {
		f.Add(uint8(i), uint8(i), false, []byte("192.0.2.1,2026-11-20 00:00:00,x\n\"open,\njunk\n"))
	}
	f.Add(uint8(0), uint8(0), true, []byte("timestamp,ip,port\n2026-11-20 00:00:00,192.0.2.1,3389\n\"x\n"))
	f.Add(uint8(1), uint8(2), false, []byte(`{"source.ip": "192.0.2.1", "classification.type": "scanner"}`+"\n{\n"))
	f.Add(uint8(4), uint8(2), false, bytes.Repeat([]byte("\"\n"), 100)) // past the limits

	ctx := context.Background()
	cfg := config.Default()
	cfg.Data = f.TempDir()
	cfg.Log.Level = "error"
	cfg.SQLite.Synchronous = "OFF"
	cfg.Pipeline.DeadLetters = fuzzLimits
	cfg.Feeds = append(cfg.Feeds, parsers...)
	if err := cfg.Validate(); err != nil {
		f.Fatal(err)
	}
	ing, err := startIngestion(ctx, cfg, io.Discard, func(string) string { return "" })
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(ing.Close)
	inputs := f.TempDir()
	c := &cmdEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	newest := int64(0)

	f.Fuzz(func(t *testing.T, parser, name uint8, compress bool, data []byte) {
		feed := parsers[int(parser)%len(parsers)].Name
		file := fuzzNames[int(name)%len(fuzzNames)]
		body := data
		if compress {
			file += ".gz"
			body = gzipped(t, data)
		}
		path := filepath.Join(inputs, file)
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
		// An error is an input the parser cannot use at all; the limits
		// and the memory bound hold all the same.
		_ = ingestOne(ctx, c, ing.runner, feed, path, "", true)

		var letters, size int64
		q := store.DeadLetterQuery{Limit: 100}
	pages:
		for {
			page, err := ing.app.store.ListDeadLetters(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page {
				if l.ID <= newest {
					break pages
				}
				letters++
				size += int64(len(l.Input) + len(l.Error))
			}
			if len(page) < q.Limit {
				break
			}
			q.BeforeID = page[len(page)-1].ID
		}
		if page, _ := ing.app.store.ListDeadLetters(ctx, store.DeadLetterQuery{Limit: 1}); len(page) > 0 {
			newest = page[0].ID
		}
		// The limits, and one letter for the refusal (its input is at
		// most 4 KiB, its reason a few hundred bytes).
		if letters > int64(fuzzLimits.MaxLetters)+1 {
			t.Errorf("%d dead letters from one input, limit %d", letters, fuzzLimits.MaxLetters)
		}
		if size > fuzzLimits.MaxBytes+8<<10 {
			t.Errorf("%d bytes of dead letters from one input, limit %d", size, fuzzLimits.MaxBytes)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > 256<<20 {
			t.Errorf("%d MiB of heap in use after %s through %s", m.HeapInuse>>20, file, feed)
		}
	})
}

func TestFuzzCoversEveryParser(t *testing.T) {
	ids := map[string]bool{}
	for _, f := range fuzzParsers() {
		ids[f.Parser] = true
		if _, err := pipeline.NewParser(f.Parser, pipeline.Env{}, f.ParserOptions); err != nil {
			t.Errorf("parser %s cannot be built for the fuzz target: %v", f.Parser, err)
		}
	}
	for _, want := range []string{"auto", "csv", "intelmq", "urlhaus", "feodo", "spamhaus-drop", "phishtank", "openphish", "list", "cowrie", "shadowserver"} {
		if !ids[want] {
			t.Errorf("parser %s is not fuzzed (registered: %v)", want, fmt.Sprint(ids))
		}
	}
}

// TestIngestSaysWhyInTheUsersLanguage: an input that cannot be read (a
// missing file) or that names no known report is reported in the
// command's language, naming the file, and counted as failed; the other
// inputs are read all the same.
func TestIngestSaysWhyInTheUsersLanguage(t *testing.T) {
	dir := t.TempDir()
	unknown := filepath.Join(dir, "weird.csv")
	if err := os.WriteFile(unknown, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.csv")
	notGzip := filepath.Join(dir, "2026-11-20-scan_rdp-belgium-geo.csv.gz")
	if err := os.WriteFile(notGzip, []byte("timestamp,ip\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		lang, missing, unknown, notGzip, failed string
	}{
		{"en", "does not exist.", "not a Shadowserver report type Vigil knows", " cannot be ingested: gzip: invalid header", "3 of 3 inputs failed"},
		{"nl", "bestaat niet.", "geen Shadowserver-rapporttype dat Vigil kent", " kan niet ingelezen worden: gzip: invalid header", "3 van 3 invoerbestanden mislukt"},
		{"de", "existiert nicht.", "kein Shadowserver-Berichtstyp, den Vigil kennt", " kann nicht eingelesen werden: gzip: invalid header", "3 von 3 Eingaben fehlgeschlagen"},
	} {
		t.Setenv("VIGIL_LANG", c.lang)
		code, _, errOut := run(t, "", "ingest", "--data", filepath.Join(dir, "data"), missing, unknown, notGzip)
		for _, want := range []string{missing + " " + c.missing, unknown + ": " + c.unknown, notGzip + c.notGzip, c.failed} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: %q not in:\n%s", c.lang, want, errOut)
			}
		}
		if code != 1 {
			t.Errorf("%s: exit %d, want 1", c.lang, code)
		}
	}
}
