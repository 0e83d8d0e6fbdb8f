package parser

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterParser("csv", "generic CSV: a column→field mapping, constant fields, header, delimiter and comment options",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) { return NewCSV(env, opts) })
}

// CSV reads any delimited text whose columns are mapped to harmonized
// fields by configuration, for feeds that have no parser of their own.
//
// Options:
//
//	columns:         mapping of column → field. A column is a header name
//	                 or a 0-based index ("0", "3"); a field is a harmonized
//	                 name or extra.<name> (the cell is kept as a string).
//	constant_fields: mapping of field → value set on every event
//	                 (classification.type, classification.identifier, …).
//	delimiter:       one character, default ","; "tab" or "\t" for TSV.
//	has_header:      whether the first data line names the columns (default true).
//	skip_lines:      lines to skip before anything else (default 0).
//	comment:         prefix of lines to skip (default: none).
//	epoch_seconds:   read a bare number in a date-time column as seconds
//	                 since 1970 (default false: such a cell is refused).
//	invalid_utf8:    reject (default) or replace: read bytes that are not
//	                 UTF-8 as U+FFFD, counted and logged.
//
// Every event needs a classification.type, from constant_fields or from a
// column, so one of the two must provide it.
type CSV struct {
	delim     byte
	hasHeader bool
	skipLines int
	comment   string
	// byName and byIndex are the configured columns; byName is resolved to
	// indices once the header is read.
	byName    map[string]string
	byIndex   map[int]string
	constants []event.Field
	text      inputText
	// chunking sizes the parallel reading; tests set it.
	chunking chunking
}

// csvMapping is one resolved column.
type csvMapping struct {
	index  int
	column string // as configured, for reject reasons
	field  string
}

// csvOptions are the parser's options, described at CSV.
type csvOptions struct {
	Columns        map[string]string `opt:"columns"`
	ConstantFields map[string]string `opt:"constant_fields"`
	Delimiter      string            `opt:"delimiter"`
	HasHeader      bool              `opt:"has_header"`
	SkipLines      int               `opt:"skip_lines"`
	Comment        string            `opt:"comment"`
	utf8AndEpoch
}

// NewCSV checks the options and builds the parser; an error names the
// offending option.
func NewCSV(env pipeline.Env, opts pipeline.Options) (*CSV, error) {
	p := &CSV{byName: map[string]string{}, byIndex: map[int]string{}}
	o := csvOptions{Delimiter: ",", HasHeader: true}
	var err error
	if p.text, err = decodeOptions("csv", env, opts, &o); err != nil {
		return nil, err
	}
	delim := o.Delimiter
	switch delim {
	case "tab", `\t`:
		delim = "\t"
	}
	if len(delim) != 1 || delim == `"` || delim == "\n" || delim == "\r" {
		return nil, csvProblem("parser.csv.delimiter", delim)
	}
	p.delim = delim[0]
	p.hasHeader, p.skipLines, p.comment = o.HasHeader, o.SkipLines, o.Comment
	if p.skipLines < 0 {
		return nil, csvProblem("pipeline.option.atleast", "skip_lines", 0, p.skipLines)
	}
	columns := o.Columns
	if len(columns) == 0 {
		return nil, csvProblem("parser.csv.nocolumns")
	}
	mapped := map[string]string{} // field → column, to refuse a field mapped twice
	for _, column := range event.SortedKeys(columns) {
		field := strings.TrimSpace(columns[column])
		if err := checkField("columns."+column, field); err != nil {
			return nil, err
		}
		if other, dup := mapped[field]; dup {
			return nil, csvProblem("parser.csv.twice", field, other, column)
		}
		mapped[field] = column
		if i, err := strconv.Atoi(column); err == nil {
			if i < 0 {
				return nil, csvProblem("parser.csv.index", column)
			}
			p.byIndex[i] = field
			continue
		}
		if !p.hasHeader {
			return nil, csvProblem("parser.csv.name", column)
		}
		p.byName[strings.ToLower(strings.TrimSpace(column))] = field
	}

	constants := o.ConstantFields
	for _, field := range event.SortedKeys(constants) {
		if err := checkField("constant_fields."+field, field); err != nil {
			return nil, err
		}
		if column, dup := mapped[field]; dup {
			return nil, csvProblem("parser.csv.constantmapped", field, column)
		}
		var value string
		if event.IsExtra(field) {
			value = strconv.Quote(constants[field])
		} else if value, err = event.Normalize(field, constants[field]); err != nil {
			// The field's reason, in the reader's language.
			var reason any = err.Error()
			var fe *event.FieldError
			if errors.As(err, &fe) {
				reason = fe.ReasonMessage()
			}
			return nil, fmt.Errorf("parser csv: %w", &pipeline.OptionError{
				Message: i18n.M("parser.csv.constantvalue", field, constants[field], reason), Err: err})
		}
		p.constants = append(p.constants, event.Field{Key: field, Value: value})
	}
	if _, ok := constants["classification.type"]; !ok {
		if _, ok := mapped["classification.type"]; !ok {
			return nil, csvProblem("parser.csv.notype")
		}
	}
	return p, nil
}

// csvProblem is the csv parser's option problem id (with args): the
// English names the parser, as every error of NewCSV does.
func csvProblem(id string, args ...any) error {
	return fmt.Errorf("parser csv: %w", pipeline.OptionProblem(id, args...))
}

// checkField accepts the fields a CSV column or constant, the option at
// key, may fill.
func checkField(key, field string) error {
	if field == "raw" {
		return csvProblem("parser.csv.raw", key)
	}
	if _, ok := event.KindOf(field); !ok {
		return fmt.Errorf("parser csv: %w", &pipeline.OptionError{
			Message: i18n.M("parser.csv.unknownfield", key, field), Err: event.ErrUnknownField})
	}
	return nil
}

// Parse implements pipeline.Parser. The lines up to the header are read
// one by one, since the header decides how the rest is read; the rest is
// read in chunks on every core (eachLineInChunks).
func (p *CSV) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	r := &csvReader{p: p, rules: p.text.rules(), skipLines: p.skipLines}
	if !p.hasHeader {
		r.mappings = p.resolve(nil)
	}
	// A dead letter re-run starts at its header: the lines a file skips
	// before it were not kept.
	if in.DeadLetter {
		r.skipLines = 0
	}
	text := p.text.forInput(in)
	defer text.report(sink)
	header := &lineHeader{}
	lines := newLineReader(in.Body)
	err := eachLineOf(ctx, lines, sink, text, header, r.lineFunc(sink, header), func() bool { return r.mappings == nil })
	if err != nil || r.mappings == nil {
		return err
	}
	return eachLineInChunks(ctx, lines, sink, text, header, p.chunking, r.lineFunc)
}

// csvReader reads the lines of one input.
type csvReader struct {
	p         *CSV
	rules     event.InputRules
	skipLines int
	// mappings are the columns resolved against the header; nil until
	// the header is read, and only read after.
	mappings []csvMapping
}

// lineFunc returns the function reading one line, with scratch of its own;
// sink hears which lines carry no data.
func (r *csvReader) lineFunc(sink pipeline.Sink, header *lineHeader) lineFunc {
	p := r.p
	var fields []string
	return func(n int, line []byte) (*event.Event, error) {
		if n <= r.skipLines || isComment(line, p.comment) {
			pipeline.NotData(sink, 1)
			return nil, nil
		}
		var err error
		fields, err = splitCSV(fields, string(line), p.delim)
		if err != nil {
			if r.mappings == nil {
				return nil, &inputError{i18n.Wrap(err, "parser.reason.csv.header")}
			}
			return nil, err
		}
		if r.mappings == nil {
			columns := newCSVColumns(fields)
			var absent []string
			for name := range p.byName {
				if _, ok := columns[name]; !ok {
					absent = append(absent, name)
				}
			}
			if len(absent) > 0 {
				sort.Strings(absent)
				return nil, &inputError{i18n.NewError("parser.reason.csv.header.columns", strings.Join(absent, ", "), strings.Join(fields, ", "))}
			}
			r.mappings = p.resolve(columns)
			header.keep()
			pipeline.NotData(sink, 1)
			return nil, nil
		}
		mappings := r.mappings
		e := event.New(len(mappings) + len(p.constants) + 3 + event.PipelineRoom)
		for _, f := range p.constants {
			e.SetTrusted(f.Key, f.Value)
		}
		set := 0
		for _, m := range mappings {
			if m.index >= len(fields) {
				return nil, i18n.NewError("parser.reason.csv.missing", m.column, len(fields))
			}
			value := fields[m.index]
			if value == "" {
				continue
			}
			if event.IsExtra(m.field) {
				if err := e.SetExtra(strings.TrimPrefix(m.field, "extra."), value); err != nil {
					return nil, i18n.Wrap(err, "parser.reason.column", m.column)
				}
			} else if err := e.SetWith(r.rules, m.field, value); err != nil {
				return nil, i18n.Wrap(err, "parser.reason.column", m.column)
			}
			set++
		}
		if set == 0 {
			return nil, i18n.NewError("parser.reason.csv.novalue")
		}
		return e, nil
	}
}

// resolve turns the configured columns into positions, ordered so that
// rejects name the first bad column of a row.
func (p *CSV) resolve(header csvColumns) []csvMapping {
	var ms []csvMapping
	for i, field := range p.byIndex {
		ms = append(ms, csvMapping{index: i, column: strconv.Itoa(i), field: field})
	}
	for name, field := range p.byName {
		ms = append(ms, csvMapping{index: header[name], column: name, field: field})
	}
	sort.Slice(ms, func(a, b int) bool { return ms[a].index < ms[b].index })
	if ms == nil {
		ms = []csvMapping{}
	}
	return ms
}

var _ pipeline.Parser = (*CSV)(nil)
