package pgpmime

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
)

// benchEntity is a notification entity of about 40 KB: a page of text
// and a CSV attachment of 150 rows, base64-encoded.
func benchEntity(tb testing.TB) []byte {
	tb.Helper()
	var csv strings.Builder
	csv.WriteString("time.source,classification.taxonomy,classification.type,classification.identifier,source.ip,source.port,source.asn,feed.name,tlp,extra.sequence,hash\r\n")
	for i := range 150 {
		fmt.Fprintf(&csv, "2026-11-19T%02d:%02d:%02d+00:00,vulnerable,ddos-amplifier,open-dns,11.0.%d.%d,53,64512,shadowserver-open-dns,AMBER,%d,%064x\r\n",
			i%24, i%60, i%60, i/254, 1+i%254, 1000+i, i*7919)
	}
	text := strings.Repeat("We observed a host on your network that answers DNS queries from anywhere.\n", 40)
	content, err := BuildContent(text, Attachment{Filename: "org-00001-20261120T0600.csv", ContentType: "text/csv; charset=utf-8", Data: []byte(csv.String())})
	if err != nil {
		tb.Fatal(err)
	}
	return content
}

func benchHeader() mail.Header {
	var h mail.Header
	h.SetDate(testNow)
	h.SetAddressList("From", []*mail.Address{{Name: "Example CERT", Address: "cert@example.org"}})
	h.SetAddressList("To", []*mail.Address{{Name: "Security team", Address: "security@org-00001.example"}})
	h.SetSubject("Example CERT: 150 security reports for Organisation 1")
	h.SetMessageID("0123456789abcdef0123456789abcdef@example.org")
	h.Set("Auto-Submitted", "auto-generated")
	return h
}

// BenchmarkSign signs one 40 KB notification.
func BenchmarkSign(b *testing.B) {
	team, _ := newTestIdentity(b, "CERT Test", "cert@example.org")
	content := benchEntity(b)
	header := benchHeader()
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(team, header, content); err != nil {
			b.Fatal(err)
		}
	}
}
