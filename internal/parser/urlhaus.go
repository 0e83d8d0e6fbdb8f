package parser

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterParser("urlhaus", "abuse.ch URLhaus CSV dump: malware download URLs",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) {
			text, err := decodeOptions("urlhaus", env, opts, &utf8Only{})
			if err != nil {
				return nil, err
			}
			return URLhaus{text: text}, nil
		})
}

// URLhaus reads abuse.ch URLhaus CSV dumps (csv, csv_recent, csv_online).
// Each row is a URL that served malware: classification
// malware-distribution, source.url and the URL's host as source.ip or
// source.fqdn, time.source from dateadded, status from url_status
// (online/offline, IntelMQ's harmonized field for it), the threat as
// classification.identifier, and the rest in extra.
//
// The dump names its columns in a comment ("# id,dateadded,url,…"); rows
// are read by those names, and by the current layout when the comment is
// missing. Older dumps without last_online (8 columns) are recognised by
// their column count.
type URLhaus struct{ text inputText }

var (
	urlhausColumns    = newCSVColumns(strings.Split("id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter", ","))
	urlhausColumnsOld = newCSVColumns(strings.Split("id,dateadded,url,url_status,threat,tags,urlhaus_link,reporter", ","))
)

// Parse implements pipeline.Parser.
func (p URLhaus) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	var (
		header csvColumns // from the dump's comment, when it has one
		row    []string
	)
	return eachLine(ctx, in.Body, sink, p.text.forInput(in), func(_ int, line []byte) (*event.Event, error) {
		if isComment(line, "#") {
			names := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(string(line)), "#"))
			if h := newCSVColumns(strings.Split(names, ",")); h.has("url", "dateadded") {
				header = h
			}
			return nil, nil
		}
		var err error
		if row, err = splitCSV(row, string(line), ','); err != nil {
			return nil, err
		}
		cols := header
		if cols == nil {
			cols = urlhausColumns
			if len(row) == len(urlhausColumnsOld) {
				cols = urlhausColumnsOld
			}
		}
		if err := cols.need(row, "id", "dateadded", "url", "url_status", "threat", "tags", "urlhaus_link", "reporter"); err != nil {
			return nil, err
		}
		e := event.New(16 + event.PipelineRoom)
		identifier := strings.ToLower(cols.get(row, "threat"))
		if identifier == "" {
			identifier = "urlhaus"
		}
		classify(e, "malware-distribution", identifier)
		if err := setURL(e, "source", "url", cols.get(row, "url")); err != nil {
			return nil, i18n.Wrap(err, "parser.reason.column", "url")
		}
		if err := e.Set("time.source", cols.get(row, "dateadded")); err != nil {
			return nil, i18n.Wrap(err, "parser.reason.column", "dateadded")
		}
		if err := e.Set("status", strings.ToLower(cols.get(row, "url_status"))); err != nil {
			return nil, i18n.Wrap(err, "parser.reason.column", "url_status")
		}
		for _, c := range []struct{ column, name string }{
			{"id", "urlhaus_id"}, {"last_online", "last_online"}, {"urlhaus_link", "urlhaus_link"}, {"reporter", "reporter"},
		} {
			if err := e.SetExtra(c.name, cols.get(row, c.column)); err != nil {
				return nil, i18n.Wrap(err, "parser.reason.column", c.column)
			}
		}
		if tags := splitTags(cols.get(row, "tags")); len(tags) > 0 {
			b, _ := json.Marshal(tags)
			e.SetTrusted("extra.tags", string(b))
		}
		return e, nil
	})
}

// splitTags reads URLhaus's comma-separated tags; "None" means no tags.
func splitTags(s string) []string {
	if s == "" || s == "None" {
		return nil
	}
	var tags []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}

var _ pipeline.Parser = URLhaus{}
