package parser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func TestLongLine(t *testing.T) {
	long := strings.Repeat("a", 2*MaxLineLength)
	for _, tc := range []struct {
		name  string
		input string
	}{
		{"between lines", "http://a.example.com/\n" + long + "\nhttp://b.example.com/\n"},
		{"with CRLF", "http://a.example.com/\r\n" + long + "\r\nhttp://b.example.com/\r\n"},
		{"at the end without newline", "http://a.example.com/\nhttp://b.example.com/\n" + long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := parse(t, newParser(t, "openphish", nil), "feed.txt", []byte(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.events) != 2 || len(rec.rejects) != 1 {
				t.Fatalf("%d events, %d rejects; want 2 and 1", len(rec.events), len(rec.rejects))
			}
			r := rec.rejects[0]
			if !errors.Is(r.reason, ErrLineTooLong) || len(r.input) != rejectPrefix {
				t.Errorf("reject %v with %d bytes; want ErrLineTooLong with %d", r.reason, len(r.input), rejectPrefix)
			}
			// The dead letter keeps a prefix: its reason must say how long
			// the line really was (issue 8, finding 4).
			if want := fmt.Sprintf("%d bytes", len(long)); !strings.Contains(r.reason.Error(), want) {
				t.Errorf("reason %q does not give the line's length (%s)", r.reason, want)
			}
			if got := rec.events[1].Value("source.fqdn"); got != "b.example.com" {
				t.Errorf("line after the long one read as %q", got)
			}
		})
	}
	t.Run("just under the limit", func(t *testing.T) {
		line := "http://example.com/" + strings.Repeat("p", MaxLineLength-len("http://example.com/"))
		rec, err := parse(t, newParser(t, "openphish", nil), "feed.txt", []byte(line+"\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.events) != 1 {
			t.Fatalf("a line of exactly MaxLineLength bytes: %d events, rejects %v", len(rec.events), rec.rejects)
		}
	})
}

func TestSplitCSV(t *testing.T) {
	for _, tc := range []struct {
		line  string
		delim byte
		want  []string
		err   string
	}{
		{line: "a,b,c", delim: ',', want: []string{"a", "b", "c"}},
		{line: "a,,", delim: ',', want: []string{"a", "", ""}},
		{line: ` "a, b" , "say ""hi""",c `, delim: ',', want: []string{"a, b", `say "hi"`, "c"}},
		{line: `""`, delim: ',', want: []string{""}},
		{line: "a\t b\t", delim: '\t', want: []string{"a", "b", ""}},
		{line: `ab"c,d`, delim: ',', want: []string{`ab"c`, "d"}},
		{line: `"a,b`, delim: ',', err: "column 1: quoted value not closed"},
		{line: `a,"b"c`, delim: ',', err: "column 2: text after the closing quote"},
	} {
		got, err := splitCSV(nil, tc.line, tc.delim)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("splitCSV(%q) error %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitCSV(%q) = %q, %v; want %q", tc.line, got, err, tc.want)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	typ := map[string]any{"classification.type": "scanner"}
	for _, tc := range []struct {
		id   string
		opts pipeline.Options
		want string
	}{
		{"csv", pipeline.Options{"constant_fields": typ}, "option columns: map at least one column"},
		{"csv", pipeline.Options{"columns": map[string]any{"ip": "source.ip"}}, "classification.type is required"},
		{"csv", pipeline.Options{"columns": map[string]any{"ip": "source.nickname"}, "constant_fields": typ}, "option columns.ip"},
		{"csv", pipeline.Options{"columns": map[string]any{"ip": "raw"}, "constant_fields": typ}, "option columns.ip: raw"},
		{"csv", pipeline.Options{"columns": map[string]any{"ip": "source.ip", "addr": "source.ip"}, "constant_fields": typ}, "field source.ip is mapped from both"},
		{"csv", pipeline.Options{"columns": map[string]any{"ip": "source.ip"}, "has_header": false, "constant_fields": typ}, "option columns.ip: a column name needs has_header"},
		{"csv", pipeline.Options{"columns": map[string]any{"-1": "source.ip"}, "constant_fields": typ}, "option columns.-1"},
		{"csv", pipeline.Options{"columns": map[string]any{"0": "source.ip"}, "delimiter": ";;", "constant_fields": typ}, "option delimiter"},
		{"csv", pipeline.Options{"columns": map[string]any{"0": "source.ip"}, "skip_lines": -2, "constant_fields": typ}, "option skip_lines"},
		{"csv", pipeline.Options{"columns": map[string]any{"0": "source.ip"}, "has_header": "maybe", "constant_fields": typ}, "option has_header"},
		{"csv", pipeline.Options{"columns": map[string]any{"0": "source.ip"}, "constant_fields": map[string]any{"classification.type": "nonsense"}}, "option constant_fields.classification.type"},
		{"csv", pipeline.Options{"columns": map[string]any{"0": "source.ip"}, "constant_fields": typ, "delimeter": ";"}, "unknown option delimeter"},
		{"list", pipeline.Options{}, "option type is required"},
		{"list", pipeline.Options{"type": "evil"}, `option type: "evil" is not a classification type`},
		{"cowrie", pipeline.Options{"omit_passwords": "perhaps"}, "option omit_passwords"},
		{"urlhaus", pipeline.Options{"columns": "x"}, "unknown option columns (known: invalid_utf8)"},
		{"urlhaus", pipeline.Options{"epoch_seconds": true}, "unknown option epoch_seconds"},
		{"feodo", pipeline.Options{"invalid_utf8": "latin1"}, `option invalid_utf8: want one of reject, replace, got "latin1"`},
		{"intelmq", pipeline.Options{"epoch_seconds": "sometimes"}, "option epoch_seconds: want true or false"},
		{"csv", pipeline.Options{"columns": map[string]any{"0": "source.ip"}, "constant_fields": typ, "invalid_utf8": 1}, "option invalid_utf8"},
	} {
		_, err := pipeline.NewParser(tc.id, testEnv(), tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: error %v, want one containing %q", tc.id, tc.opts, err, tc.want)
		}
	}
}

func TestRegistered(t *testing.T) {
	have := map[string]bool{}
	for _, m := range pipeline.Modules() {
		have[m.ID] = true
	}
	for _, id := range []string{"csv", "intelmq", "urlhaus", "feodo", "spamhaus-drop", "phishtank", "openphish", "list", "cowrie"} {
		if !have["parser/"+id] {
			t.Errorf("parser %s not registered", id)
		}
	}
}

// stopSink refuses events after the first, as a failed downstream stage does.
type stopSink struct {
	recorder
	err error
}

func (s *stopSink) Event(e *event.Event) error {
	if len(s.events) > 0 {
		return s.err
	}
	return s.recorder.Event(e)
}

func TestSinkErrorStopsParsing(t *testing.T) {
	input := strings.Repeat("192.0.2.1\n", 10)
	sink := &stopSink{err: errors.New("bus down")}
	err := newParser(t, "list", pipeline.Options{"type": "scanner"}).
		Parse(context.Background(), pipeline.Input{Body: strings.NewReader(input)}, sink)
	if !errors.Is(err, sink.err) || len(sink.events) != 1 {
		t.Fatalf("err %v after %d events; want the sink's error after 1", err, len(sink.events))
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	input := strings.Repeat("192.0.2.1\n", 2*ctxCheckInterval)
	for _, id := range []string{"list", "phishtank"} {
		in := input
		if id == "phishtank" {
			in = "[" + strings.Repeat(`{"url": "http://a.example.com/"},`, 2*ctxCheckInterval) + "{}]"
		}
		opts := pipeline.Options{"type": "scanner"}
		if id != "list" {
			opts = nil
		}
		err := newParser(t, id, opts).Parse(ctx, pipeline.Input{Body: strings.NewReader(in)}, &recorder{})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", id, err)
		}
	}
}

func TestPhishTankJSONEntryTooLong(t *testing.T) {
	big := `[{"url": "http://a.example.com/"}, {"url": "http://b.example.com/", "target": "` + strings.Repeat("x", 3*MaxLineLength) + `"}]`
	rec, err := parse(t, newParser(t, "phishtank", nil), "online-valid.json", []byte(big))
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("error %v, want one about the entry's length", err)
	}
	if len(rec.events) != 1 {
		t.Errorf("%d events before the long entry, want 1", len(rec.events))
	}
}

func TestCowrieLogsSkipped(t *testing.T) {
	var log bytes.Buffer
	p, err := NewCowrie(pipeline.Env{Logger: slog.New(slog.NewTextHandler(&log, nil))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	input := `{"eventid":"cowrie.session.closed","src_ip":"192.0.2.1"}
{"eventid":"cowrie.client.kex","src_ip":"192.0.2.1"}
{"eventid":"cowrie.session.closed","src_ip":"192.0.2.2"}
`
	rec := &recorder{}
	if err := p.Parse(context.Background(), pipeline.Input{Feed: "honeypots", Body: strings.NewReader(input)}, rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.events)+len(rec.rejects) != 0 {
		t.Errorf("skipped eventids gave %d events and %d rejects", len(rec.events), len(rec.rejects))
	}
	if want := "cowrie.client.kex=1 cowrie.session.closed=2"; !strings.Contains(log.String(), want) {
		t.Errorf("log %q does not count the skipped events as %q", log.String(), want)
	}
}

func TestURLhausHeaderOrder(t *testing.T) {
	// A dump whose header comment orders the columns differently is read by name.
	input := "# url,id,dateadded,url_status,threat,tags,urlhaus_link,reporter\n" +
		`"http://192.0.2.5/x","1","2024-03-01 10:00:00","online","malware_download","","https://urlhaus.example.net/url/1/","r"` + "\n"
	rec, err := parse(t, newParser(t, "urlhaus", nil), "csv.txt", []byte(input))
	if err != nil || len(rec.events) != 1 {
		t.Fatalf("err %v, %d events, %d rejects", err, len(rec.events), len(rec.rejects))
	}
	if got := rec.events[0].Value("source.ip"); got != "192.0.2.5" {
		t.Errorf("source.ip %q", got)
	}
}

func ExampleNewList() {
	p, _ := NewList(pipeline.Env{}, pipeline.Options{"type": "scanner"})
	rec := &recorder{}
	_ = p.Parse(context.Background(), pipeline.Input{Body: strings.NewReader("# scanners\n192.0.2.7\n")}, rec)
	for _, e := range rec.events {
		fmt.Println(e.Value("source.ip"), e.Value("classification.taxonomy"))
	}
	// Output: 192.0.2.7 information-gathering
}
