package parser

import (
	"context"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterParser("feodo", "abuse.ch Feodo Tracker IP blocklist CSV: botnet C2 servers",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) {
			text, err := decodeOptions("feodo", env, opts, &utf8Only{})
			if err != nil {
				return nil, err
			}
			return Feodo{text: text}, nil
		})
}

// Feodo reads the abuse.ch Feodo Tracker IP blocklist CSV
// (first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware). Each row
// is a botnet C2 server: classification c2-server with the malware family
// as malware.name and classification.identifier. Feodo names the server
// dst_ip because infected machines connect to it; the event is about the
// server, so it becomes source.ip and source.port, as in IntelMQ.
// c2_status goes to status; last_online to extra.last_online.
//
// The header row (quoted or not, commented or not) sets the column order;
// without one the documented order is used.
type Feodo struct{ text inputText }

var feodoColumns = newCSVColumns(strings.Split("first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware", ","))

// Parse implements pipeline.Parser.
func (p Feodo) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	cols := feodoColumns
	var row []string
	return eachLine(ctx, in.Body, sink, p.text.forInput(in), func(_ int, line []byte) (*event.Event, error) {
		if isComment(line, "#") {
			// Some versions of the file comment the header out.
			names := strings.TrimLeft(strings.TrimSpace(string(line)), "# ")
			if h, err := splitCSV(nil, names, ','); err == nil && len(h) > 1 && h[0] == "first_seen_utc" {
				cols = newCSVColumns(h)
			}
			return nil, nil
		}
		var err error
		if row, err = splitCSV(row, string(line), ','); err != nil {
			return nil, err
		}
		if row[0] == "first_seen_utc" {
			cols = newCSVColumns(row)
			return nil, nil
		}
		if err := cols.need(row, "first_seen_utc", "dst_ip", "dst_port", "c2_status", "last_online", "malware"); err != nil {
			return nil, err
		}
		e := event.New(14 + event.PipelineRoom)
		malware := strings.ToLower(cols.get(row, "malware"))
		classify(e, "c2-server", malware)
		if err := setRequired(e, "source.ip", "dst_ip", cols.get(row, "dst_ip")); err != nil {
			return nil, i18n.Wrap(err, "parser.reason.column", "dst_ip")
		}
		for _, c := range []struct{ column, field string }{
			{"dst_port", "source.port"},
			{"first_seen_utc", "time.source"},
			{"malware", "malware.name"},
			{"c2_status", "status"},
		} {
			if err := e.Set(c.field, cols.get(row, c.column)); err != nil {
				return nil, i18n.Wrap(err, "parser.reason.column", c.column)
			}
		}
		if err := e.SetExtra("last_online", cols.get(row, "last_online")); err != nil {
			return nil, i18n.Wrap(err, "parser.reason.column", "last_online")
		}
		return e, nil
	})
}

var _ pipeline.Parser = Feodo{}
