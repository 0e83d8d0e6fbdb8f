// Package shadowserver parses Shadowserver's reports, in CSV and in the
// JSON of the Reports API, into harmonized events, driven by
// Shadowserver's report schema (the one IntelMQ uses), and generates
// synthetic reports for demos and benchmarks.
package shadowserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterParser("shadowserver",
		"Shadowserver reports in CSV or JSON (report type from the file name or the report option; format csv|json|auto; schema_file/schema_url load newer schemas)",
		newFromOptions)
	pipeline.RegisterNameDetector(detectName)
}

// builtin is the built-in schema, parsed once when first needed.
var builtin = sync.OnceValue(DefaultSchema)

// datedName is how Shadowserver names its report files: the date first.
var datedName = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}-`)

// detectName claims for this parser a JSON file named as Shadowserver
// names its reports ("2026-11-20-scan_rdp-belgium-geo.json", also .jsonl,
// .ndjson and .gz), which by its extension alone would go to the IntelMQ
// parser. The date in front keeps an IntelMQ export called
// "blocklist.jsonl" with IntelMQ. Only the built-in schema's report types
// are known here; CSV names go to this parser by their extension anyway.
func detectName(name string) string {
	if !IsJSONName(name) || !datedName.MatchString(inputFileName(name)) {
		return ""
	}
	if _, ok := builtin().Detect(name); ok {
		return "shadowserver"
	}
	return ""
}

// ErrUnknownReport is wrapped by the error for an input whose report type
// is not in the schema.
var ErrUnknownReport = errors.New("unknown Shadowserver report type")

// CacheFile is the name, inside the data directory, of the copy of the
// schema last fetched from schema_url.
const CacheFile = "shadowserver-schema.json"

// maxSchemaSize bounds a downloaded schema; Shadowserver's is under 1 MiB.
const maxSchemaSize = 32 << 20

// Parser turns Shadowserver CSV reports into events. It is safe for
// concurrent use: each Parse keeps its state to itself.
type Parser struct {
	schema *Schema
	report *Report // fixed report type; nil to detect it from the file name
	format format  // fixed format; formatAuto to tell it from each input
	// text is the feed's invalid_utf8 and epoch_seconds; the zero value
	// refuses bad text and numeric times.
	text   pipeline.TextOptions
	logger *slog.Logger
	// workers is how many goroutines parse the rows of one CSV input; 0
	// means GOMAXPROCS. Tests set it to compare 1 with more, and
	// chunkRecords (0: the default) to cut small inputs into many chunks.
	workers      int
	chunkRecords int
	// chunkPlans is what ParseChunk read of the last chunks' heads,
	// each for the parser that read it (a copy of a parser, with other
	// options, shares the cache, not its plans).
	chunkPlans *chunkPlans
}

// New returns a parser for schema. report, when not empty, fixes the report
// type (a type, file_name or feed_name of the schema) instead of reading it
// from each input's file name.
func New(schema *Schema, report string) (*Parser, error) {
	p := &Parser{schema: schema, chunkPlans: &chunkPlans{}}
	if report != "" {
		r, ok := schema.Report(report)
		if !ok {
			return nil, fmt.Errorf("shadowserver: report %q: %w", report, ErrUnknownReport)
		}
		p.report = r
	}
	return p, nil
}

// Schema returns the schema the parser uses.
func (p *Parser) Schema() *Schema { return p.schema }

// parserOptions are the options of the registered parser.
type parserOptions struct {
	Report     string `opt:"report"`
	Format     string `opt:"format"`
	SchemaFile string `opt:"schema_file"`
	SchemaURL  string `opt:"schema_url"`
	// KeepRaw is read by the runner; it is named so it is not refused.
	KeepRaw any `opt:"keep_raw"`
	pipeline.EpochOption
	pipeline.UTF8Option
}

func newFromOptions(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) {
	o := parserOptions{Format: "auto"}
	if err := opts.Decode(&o); err != nil {
		return nil, fmt.Errorf("shadowserver: %w", err)
	}
	text := o.Text(o.EpochOption)
	report, file, url, formatName := o.Report, o.SchemaFile, o.SchemaURL, o.Format
	format, err := parseFormat(formatName)
	if err != nil {
		return nil, fmt.Errorf("shadowserver: %w", err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	schema := DefaultSchema()
	if url != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		fetched, err := FetchSchema(ctx, env.HTTP, url, env.DataDir, logger)
		cancel()
		if err != nil {
			// What is wrong with the schema document, said as it is.
			return nil, &pipeline.OptionError{Message: i18n.M("pipeline.option.reason", "schema_url", err.Error()), Err: err}
		}
		schema = schema.Merge(fetched)
	}
	if file != "" {
		loaded, err := LoadSchemaFile(file)
		var pe *fs.PathError
		switch {
		case errors.As(err, &pe):
			return nil, pipeline.FileOptionError("schema_file", file, err)
		case err != nil:
			return nil, &pipeline.OptionError{Message: i18n.M("pipeline.option.reason", "schema_file", err.Error()), Err: err}
		}
		warnSkipped(logger, file, loaded)
		schema = schema.Merge(loaded)
	}
	p, err := New(schema, report)
	if err != nil {
		return nil, &pipeline.OptionError{Message: i18n.M("shadowserver.option.report", report), Err: err}
	}
	p.text, p.logger, p.format = text, logger, format
	return p, nil
}

func warnSkipped(logger *slog.Logger, source string, s *Schema) {
	for t, err := range s.skipped {
		logger.Warn("shadowserver schema: report left out", "source", source, "report", t, "err", err)
	}
}

// LoadSchemaFile reads a schema document from a file.
func LoadSchemaFile(name string) (*Schema, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("shadowserver schema: %w", err)
	}
	s, err := ParseSchema(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// FetchSchema downloads a schema document from url and keeps a copy in
// dataDir/shadowserver-schema.json. When the download fails, the copy from
// an earlier run is used, so a restart while Shadowserver is unreachable
// keeps the schema it had; only with neither is it an error.
func FetchSchema(ctx context.Context, client *http.Client, url, dataDir string, logger *slog.Logger) (*Schema, error) {
	if client == nil {
		client = &http.Client{Timeout: time.Minute}
	}
	cache := ""
	if dataDir != "" {
		cache = filepath.Join(dataDir, CacheFile)
	}
	data, fetchErr := download(ctx, client, url)
	var s *Schema
	if fetchErr == nil {
		s, fetchErr = ParseSchema(data)
	}
	if fetchErr == nil {
		warnSkipped(logger, url, s)
		if cache != "" {
			if err := writeFileAtomic(cache, data); err != nil {
				logger.Warn("shadowserver schema: cannot keep a copy", "file", cache, "err", err)
			}
		}
		return s, nil
	}
	if cache != "" {
		cached, err := LoadSchemaFile(cache)
		if err == nil {
			logger.Warn("shadowserver schema: download failed, using the copy from an earlier run",
				"url", url, "file", cache, "err", fetchErr)
			return cached, nil
		}
	}
	return nil, fmt.Errorf("shadowserver schema from %s: %w", url, fetchErr)
}

func download(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP status %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSchemaSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSchemaSize {
		return nil, fmt.Errorf("schema larger than %d bytes", maxSchemaSize)
	}
	return data, nil
}

func writeFileAtomic(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(name), ".shadowserver-schema-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// utf8BOM starts some CSV files written on Windows.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Parse reads one report, in CSV or JSON (the format option, else the file
// name, else the first byte tells). Every row becomes an event or a reject
// naming its line, column and field.
func (p *Parser) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	report, br, isJSON, err := p.begin(in, sink)
	if err != nil {
		return err
	}
	if isJSON {
		return p.parseJSON(ctx, in, report, br, sink)
	}
	return p.parseCSV(ctx, in, report, br, sink)
}

// begin is what Parse and Split read of an input first: its report type
// (told to sink), a reader of its body, and whether it is JSON.
func (p *Parser) begin(in pipeline.Input, sink pipeline.Sink) (*Report, *bufio.Reader, bool, error) {
	report, err := p.reportOf(in)
	if err != nil {
		return nil, nil, false, err
	}
	pipeline.SetReport(sink, report.FeedName)
	br := bufio.NewReaderSize(in.Body, readBuffer)
	return report, br, p.formatOf(in.Name, br) == formatJSON, nil
}

// reportOf is the report type of in: the parser's own, else the one its
// name says.
func (p *Parser) reportOf(in pipeline.Input) (*Report, error) {
	if p.report != nil {
		return p.report, nil
	}
	r, ok := p.schema.Detect(in.Name)
	if !ok {
		if why, left := p.schema.leftOut(in.Name); left {
			return nil, &i18n.Error{Message: i18n.M("shadowserver.unknownreport.unusable", in.Name, i18n.Reason(why)), Err: errors.Join(ErrUnknownReport, why)}
		}
		return nil, &i18n.Error{Message: i18n.M("shadowserver.unknownreport", in.Name), Err: ErrUnknownReport}
	}
	return r, nil
}

// parseCSV reads a report in CSV: the header, then its rows in chunks on
// every core (parseCSVRows).
func (p *Parser) parseCSV(ctx context.Context, in pipeline.Input, report *Report, br *bufio.Reader, sink pipeline.Sink) error {
	rr := newRecordReader(br)
	if in.FirstLine > 1 {
		rr.line = in.FirstLine - 1
	}
	header, headerLine, plan, err := p.csvPlan(rr, in, report, sink)
	if errors.Is(err, io.EOF) {
		return nil // an empty report has nothing to say
	}
	if err != nil {
		return err
	}
	plan.leaveRoomFor(sink)
	if headerLine != nil {
		plan.rawHead = string(headerLine) + "\n"
	}
	defer p.reportReplaced(sink, in, plan)
	return p.parseCSVRows(ctx, in, report, rr, plan, header, sink)
}

// csvPlan reads a CSV report's header from rr, checks it and compiles the
// report's plan for it: what Parse and Split read of the input as a
// whole. It returns io.EOF for an input without a header.
func (p *Parser) csvPlan(rr *recordReader, in pipeline.Input, report *Report, sink pipeline.Sink) ([]string, []byte, *plan, error) {
	header, headerLine, err := readCSVHeader(rr, sink)
	if errors.Is(err, io.EOF) {
		return nil, nil, nil, err
	}
	if err == nil {
		header, err = p.checkHeader(header)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("shadowserver %s %q: header: %w", report.Type, in.Name, err)
	}
	rr.width = len(header)
	pl, err := report.compile(header, inputFileName(in.Name))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("shadowserver %q: %w", in.Name, err)
	}
	pl.text = p.text
	pl.row.epochSeconds = p.text.EpochSeconds
	return header, headerLine, pl, nil
}

// readCSVHeader reads records up to the header, which it returns split
// and as it came; blank lines before it and the header carry no data. At
// the end of an input without a header it returns io.EOF.
func readCSVHeader(rr *recordReader, sink pipeline.Sink) ([]string, []byte, error) {
	for {
		rec, _, err := rr.next()
		if err != nil {
			return nil, nil, err
		}
		rec = bytes.TrimPrefix(rec, utf8BOM)
		pipeline.NotData(sink, 1+bytes.Count(rec, []byte{'\n'}))
		if len(bytes.TrimSpace(rec)) == 0 {
			continue
		}
		header, _, err := splitRecord(nil, string(rec))
		if err != nil {
			return nil, nil, err
		}
		return header, bytes.Clone(rec), nil
	}
}

var _ pipeline.Parser = (*Parser)(nil)
