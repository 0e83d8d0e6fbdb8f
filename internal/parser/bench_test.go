package parser

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

const benchLines = 10000

// countSink counts what it is given and nothing more, so a benchmark
// measures the parser.
type countSink struct{ events, rejects int }

func (s *countSink) Event(*event.Event) error { s.events++; return nil }
func (s *countSink) Reject(_ []byte, _ error) { s.rejects++ }

// benchParser parses input (benchLines observation lines, made by line)
// b.N times and reports lines per second.
func benchParser(b *testing.B, id string, opts pipeline.Options, header string, line func(i int) string) {
	var buf bytes.Buffer
	buf.WriteString(header)
	for i := range benchLines {
		buf.WriteString(line(i))
		buf.WriteByte('\n')
	}
	input := buf.Bytes()
	p := newParser(b, id, opts)

	check := &countSink{}
	if err := p.Parse(context.Background(), pipeline.Input{Body: bytes.NewReader(input)}, check); err != nil || check.events != benchLines {
		b.Fatalf("benchmark input: err %v, %d events, %d rejects", err, check.events, check.rejects)
	}
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := p.Parse(context.Background(), pipeline.Input{Body: bytes.NewReader(input)}, &countSink{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func ip(i int) string { return fmt.Sprintf("192.0.2.%d", i%250+1) }

func BenchmarkCSV(b *testing.B) {
	benchParser(b, "csv", pipeline.Options{
		"columns":         map[string]any{"ip": "source.ip", "seen": "time.source", "port": "source.port", "note": "extra.note"},
		"constant_fields": map[string]any{"classification.type": "scanner"},
	}, "ip,seen,port,note\n", func(i int) string {
		return fmt.Sprintf("%s,2024-03-01 10:%02d:00,%d,\"note %d\"", ip(i), i%60, 1024+i%5000, i)
	})
}

func BenchmarkIntelMQ(b *testing.B) {
	benchParser(b, "intelmq", nil, "", func(i int) string {
		return fmt.Sprintf(`{"classification.type": "scanner", "source.ip": %q, "source.port": %d, "time.source": "2024-03-01T10:00:00+00:00", "feed.name": "bench", "extra.n": %d}`, ip(i), 1024+i%5000, i)
	})
}

func BenchmarkURLhaus(b *testing.B) {
	benchParser(b, "urlhaus", nil, "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n", func(i int) string {
		return fmt.Sprintf(`"%d","2024-03-01 10:00:00","http://host%d.example.com/bins/x86","online","2024-03-01 10:00:00","malware_download","elf,mips","https://urlhaus.example.net/url/%d/","reporter"`, i, i, i)
	})
}

func BenchmarkFeodo(b *testing.B) {
	benchParser(b, "feodo", nil, `"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"`+"\n", func(i int) string {
		return fmt.Sprintf(`"2024-01-17 07:44:46","%s","%d","online","2024-03-01","Dridex"`, ip(i), 443+i%1000)
	})
}

func BenchmarkSpamhausDROP(b *testing.B) {
	benchParser(b, "spamhaus-drop", nil, "; Last-Modified: Fri, 01 Mar 2024 12:38:23 GMT\n", func(i int) string {
		return fmt.Sprintf("198.51.%d.0/24 ; SBL%d", i%256, 900000+i)
	})
}

func BenchmarkPhishTank(b *testing.B) {
	benchParser(b, "phishtank", nil, "phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n", func(i int) string {
		return fmt.Sprintf("%d,https://login%d.example.com/,http://www.phishtank.example.net/phish_detail.php?phish_id=%d,2024-03-01T08:33:43+00:00,yes,2024-03-01T08:40:00+00:00,yes,Other", i, i, i)
	})
}

func BenchmarkOpenPhish(b *testing.B) {
	benchParser(b, "openphish", nil, "", func(i int) string {
		return fmt.Sprintf("https://login%d.example.com/verify/account.html", i)
	})
}

func BenchmarkList(b *testing.B) {
	benchParser(b, "list", pipeline.Options{"type": "scanner"}, "# list\n", ip)
}

func BenchmarkCowrie(b *testing.B) {
	benchParser(b, "cowrie", nil, "", func(i int) string {
		return fmt.Sprintf(`{"eventid":"cowrie.login.failed","username":"root","password":"pw%d","message":"login attempt failed","sensor":"honeypot-1","timestamp":"2024-03-01T10:00:01.000000Z","src_ip":%q,"session":"s%d"}`, i, ip(i), i)
	})
}
