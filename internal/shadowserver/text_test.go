package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// countingCollector also counts replaced bytes, as the runner's sink does.
type countingCollector struct {
	collector
	replaced int
}

func (c *countingCollector) InvalidUTF8Replaced(n int) { c.replaced += n }

func TestTextOptions(t *testing.T) {
	report := "timestamp,ip,port,city\n" +
		"2026-11-20 00:00:00,192.0.2.1,3389,Li\xe8ge\n" +
		"1763596800,192.0.2.2,3389,Gent\n" +
		"2026-11-20 00:00:02,192.0.2.3,3389,a\x00b\n"
	parseWith := func(t *testing.T, opts pipeline.Options) (*countingCollector, string) {
		t.Helper()
		var log bytes.Buffer
		opts["report"] = "scan_rdp"
		p, err := pipeline.NewParser("shadowserver", pipeline.Env{Logger: slog.New(slog.NewTextHandler(&log, nil))}, opts)
		if err != nil {
			t.Fatal(err)
		}
		var c countingCollector
		in := pipeline.Input{Feed: "shadowserver-rdp", Name: "rdp.csv", Body: strings.NewReader(report)}
		if err := p.Parse(context.Background(), in, &c); err != nil {
			t.Fatal(err)
		}
		return &c, log.String()
	}
	reasons := func(c *countingCollector) []string {
		var out []string
		for _, r := range c.rejects {
			out = append(out, r.reason.Error())
		}
		return out
	}

	t.Run("strict by default", func(t *testing.T) {
		c, log := parseWith(t, pipeline.Options{})
		want := []string{
			`line 2, column "city", field source.geolocation.city: invalid UTF-8 (byte 0xE8) at byte offset 2`,
			`line 3, column "timestamp", field time.source: add_UTC_to_timestamp: "1763596800": a number, not a date-time (a feed that sends seconds since 1970 needs the parser option epoch_seconds: true)`,
			`line 4, column "city", field source.geolocation.city: NUL character at byte offset 1`,
		}
		if got := reasons(c); len(c.events) != 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%d events, rejects:\n%s\nwant none and:\n%s", len(c.events), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if c.replaced != 0 || log != "" {
			t.Fatalf("replaced %d, log %q", c.replaced, log)
		}
	})

	t.Run("replace and epoch seconds", func(t *testing.T) {
		c, log := parseWith(t, pipeline.Options{"invalid_utf8": "replace", "epoch_seconds": true})
		if len(c.events) != 2 || len(c.rejects) != 1 {
			t.Fatalf("%d events, rejects %v; want 2 events and the NUL row refused", len(c.events), reasons(c))
		}
		if got := c.events[0].Value("source.geolocation.city"); got != "Li\uFFFDge" {
			t.Errorf("city = %q", got)
		}
		if got := string(c.events[0].Raw()); !strings.Contains(got, "Li\xe8ge") {
			t.Errorf("raw = %q, want the record as it came", got)
		}
		if got := c.events[1].Value("time.source"); got != "2025-11-20T00:00:00+00:00" {
			t.Errorf("time.source = %q, want the epoch seconds read", got)
		}
		var re *RowError
		if !errors.As(c.rejects[0].reason, &re) || !strings.Contains(re.Error(), "NUL character") {
			t.Errorf("reject %v, want the NUL named", c.rejects[0].reason)
		}
		if c.replaced != 1 || strings.Count(log, "\n") != 1 || !strings.Contains(log, "feed=shadowserver-rdp") || !strings.Contains(log, "bytes=1") {
			t.Errorf("replaced %d, log %q; want 1 byte counted and one log line", c.replaced, log)
		}
	})

	t.Run("column name that is not UTF-8", func(t *testing.T) {
		p, err := pipeline.NewParser("shadowserver", pipeline.Env{}, pipeline.Options{"report": "scan_rdp"})
		if err != nil {
			t.Fatal(err)
		}
		var c collector
		in := pipeline.Input{Name: "rdp.csv", Body: strings.NewReader("timestamp,ip,port,r\xe9gion\n2026-11-20 00:00:00,192.0.2.1,3389,x\n")}
		err = p.Parse(context.Background(), in, &c)
		if err == nil || !strings.Contains(err.Error(), "header: column 4: invalid UTF-8 (byte 0xE9) at byte offset 1") || len(c.events) != 0 {
			t.Fatalf("error %v, %d events; want the header refused", err, len(c.events))
		}
	})

	t.Run("unknown invalid_utf8 refused", func(t *testing.T) {
		_, err := pipeline.NewParser("shadowserver", pipeline.Env{}, pipeline.Options{"report": "scan_rdp", "invalid_utf8": "latin1"})
		if err == nil || !strings.Contains(err.Error(), "option invalid_utf8") {
			t.Fatalf("error %v", err)
		}
	})
}
