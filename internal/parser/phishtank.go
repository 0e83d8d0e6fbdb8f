package parser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterParser("phishtank", "PhishTank online-valid database, CSV or JSON: phishing URLs",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) {
			text, err := decodeOptions("phishtank", env, opts, &utf8Only{})
			if err != nil {
				return nil, err
			}
			return PhishTank{text: text}, nil
		})
}

// PhishTank reads PhishTank's online-valid database in its CSV form
// (phish_id,url,phish_detail_url,submission_time,verified,
// verification_time,online,target) or its JSON form (an array of objects
// with the same keys and a details list). The form is told by the first
// character. The JSON array is read entry by entry, never whole.
//
// Each entry is phishing: source.url and its host, time.source from
// submission_time, the PhishTank page as event_description.url, the
// impersonated brand as event_description.target, online as status
// (online/offline), and phish_id, verified and verification_time in extra.
// JSON entries add the first details record: source.ip, source.network,
// source.asn, source.registry and source.geolocation.cc.
//
// A JSON entry that is valid JSON but a bad event is rejected like a bad
// line, named by its position ("entry 7"). Broken JSON syntax cannot be
// resynchronised, so it ends the input with an error after the entries
// before it were delivered.
type PhishTank struct{ text inputText }

var phishtankColumns = newCSVColumns(strings.Split("phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target", ","))

// Parse implements pipeline.Parser.
func (p PhishTank) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	body := bufio.NewReaderSize(in.Body, 64<<10)
	text := p.text.forInput(in)
	if peekFirst(body) == '[' {
		defer text.report(sink)
		return p.parseJSON(ctx, body, sink, text)
	}
	cols := phishtankColumns
	var row []string
	return eachLine(ctx, body, sink, text, func(_ int, line []byte) (*event.Event, error) {
		var err error
		if row, err = splitCSV(row, string(line), ','); err != nil {
			return nil, err
		}
		if row[0] == "phish_id" {
			cols = newCSVColumns(row)
			return nil, nil
		}
		if err := cols.need(row, "phish_id", "url", "phish_detail_url", "submission_time", "verified", "verification_time", "online", "target"); err != nil {
			return nil, err
		}
		return phishtankEvent(func(key string) (string, error) { return cols.get(row, key), nil }, "column")
	})
}

// phishtankEvent builds an event from one entry of either form; get returns
// the entry's value for a key, and what names a key in reject reasons.
func phishtankEvent(get func(key string) (string, error), what string) (*event.Event, error) {
	values := map[string]string{}
	for _, key := range []string{"phish_id", "url", "phish_detail_url", "submission_time", "verified", "verification_time", "online", "target"} {
		v, err := get(key)
		if err != nil {
			return nil, err
		}
		values[key] = v
	}
	e := event.New(18 + event.PipelineRoom)
	classify(e, "phishing", "phishtank")
	if err := setURL(e, "source", "url", values["url"]); err != nil {
		return nil, named(what, "url", err)
	}
	for _, c := range []struct{ key, field string }{
		{"submission_time", "time.source"},
		{"phish_detail_url", "event_description.url"},
		{"target", "event_description.target"},
	} {
		if err := e.Set(c.field, values[c.key]); err != nil {
			return nil, named(what, c.key, err)
		}
	}
	switch strings.ToLower(values["online"]) {
	case "yes", "true":
		e.SetTrusted("status", "online")
	case "no", "false":
		e.SetTrusted("status", "offline")
	default:
		if err := e.Set("status", values["online"]); err != nil {
			return nil, named(what, "online", err)
		}
	}
	for _, c := range []struct{ key, name string }{{"phish_id", "phishtank_id"}, {"verification_time", "verification_time"}} {
		if err := e.SetExtra(c.name, values[c.key]); err != nil {
			return nil, named(what, c.key, err)
		}
	}
	switch strings.ToLower(values["verified"]) {
	case "yes", "true":
		e.SetTrusted("extra.verified", "true")
	case "no", "false":
		e.SetTrusted("extra.verified", "false")
	default:
		if err := e.SetExtra("verified", values["verified"]); err != nil {
			return nil, named(what, "verified", err)
		}
	}
	return e, nil
}

// maxEntryRead bounds how much a JSON array entry may read from the
// stream: MaxLineLength plus the decoder's read-ahead.
const maxEntryRead = MaxLineLength + 128<<10

// entryLimiter fails a read once one entry has read more than maxEntryRead
// bytes, so an endless entry cannot take all memory.
type entryLimiter struct {
	r    io.Reader
	read int
}

var errEntryTooLong error = i18n.NewError("parser.reason.entry.toolong", MaxLineLength)

func (l *entryLimiter) Read(p []byte) (int, error) {
	if l.read > maxEntryRead {
		return 0, errEntryTooLong
	}
	n, err := l.r.Read(p)
	l.read += n
	return n, err
}

func (PhishTank) parseJSON(ctx context.Context, body io.Reader, sink pipeline.Sink, text *textTally) error {
	limiter := &entryLimiter{r: body}
	dec := json.NewDecoder(limiter)
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("phishtank JSON: %w", err)
	}
	if tok != json.Delim('[') {
		return fmt.Errorf("phishtank JSON: want an array, got %v", tok)
	}
	for n := 1; dec.More(); n++ {
		if n%ctxCheckInterval == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		limiter.read = 0
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("phishtank JSON entry %d: %w", n, err)
		}
		entry, damage := text.check(raw)
		e, err := phishtankJSONEntry(entry)
		if err == nil {
			err = finish(e, raw)
		}
		if err == nil && !damage.IsZero() {
			err = i18n.NewError("parser.reason.entrydamage", damage)
		}
		if err != nil {
			sink.Reject(raw, i18n.Wrap(err, "parser.reason.entry", n))
			continue
		}
		if err := sink.Event(e); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("phishtank JSON: after the last entry: %w", err)
	}
	return nil
}

// named is err of the value of column or key name (what says which).
func named(what, name string, err error) error {
	if what == "column" {
		return i18n.Wrap(err, "parser.reason.column", name)
	}
	return i18n.Wrap(err, "parser.reason.key", name)
}

func phishtankJSONEntry(raw json.RawMessage) (*event.Event, error) {
	if len(raw) > MaxLineLength {
		return nil, errEntryTooLong
	}
	obj, err := jsonObject(raw)
	if err != nil {
		return nil, err
	}
	e, err := phishtankEvent(func(key string) (string, error) { return jsonText(obj, key) }, "key")
	if err != nil {
		return nil, err
	}
	details := obj["details"]
	if len(details) == 0 || string(details) == "null" {
		return e, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(details, &list); err != nil {
		return nil, i18n.NewError("parser.reason.details.list")
	}
	if len(list) == 0 || list[0] == nil {
		return e, nil
	}
	for _, c := range []struct{ key, field string }{
		{"ip_address", "source.ip"},
		{"cidr_block", "source.network"},
		{"announcing_network", "source.asn"},
		{"country", "source.geolocation.cc"},
	} {
		v, err := jsonText(list[0], c.key)
		if err != nil {
			return nil, i18n.Wrap(err, "parser.reason.details")
		}
		if err := e.Set(c.field, v); err != nil {
			return nil, i18n.Wrap(err, "parser.reason.details.key", c.key)
		}
	}
	rir, err := jsonText(list[0], "rir")
	if err != nil {
		return nil, i18n.Wrap(err, "parser.reason.details")
	}
	if err := setRegistry(e, rir); err != nil {
		return nil, i18n.Wrap(err, "parser.reason.details.key", "rir")
	}
	return e, nil
}

var _ pipeline.Parser = PhishTank{}
