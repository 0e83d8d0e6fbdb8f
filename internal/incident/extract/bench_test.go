package extract

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/cputime"
)

// mailBody returns a plain-text phishing forward of about size bytes:
// prose with the observables a real one carries, headers, a signature,
// and quoted replies.
func mailBody(size int) string {
	var b strings.Builder
	b.WriteString(`---------- Forwarded message ---------
From: "ING Belgie" <service@ing-be-veiligheid.com>
Date: Tue, 1 Dec 2026 at 09:14
Subject: Dringend: uw account wordt opgeschort (ref. 2026-12-01/88213)
To: <jan.peeters@telenet.be>

`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `Beste klant, we hebben op 01.12.2026 om 09:%02d ongebruikelijke activiteit vastgesteld op
uw rekening BE71 0961 2345 6769. Om uw account te beschermen moet u binnen 24 uur uw gegevens
bevestigen via https://ing-be-veiligheid.com/nl/verify.php?id=%d&session=8f3a2c4e9b (of kopieer de
link in uw browser). Bedrag in behandeling: EUR 1.299,00. Versie 4.12.1 van de app is vereist,
zie ook www.ing.be en hxxp://secure-ing[.]be/update voor meer info, e.g. de FAQ... Vragen?
Bel +32 2 464 60 %02d of mail naar support%d@ing-be-veiligheid.com. Bijlage: factuur_%d.pdf
(SHA256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08), server 185.220.101.%d.
> Op 30 nov. 2026 om 18:02 schreef Jan Peeters: dank u, ik bekijk het morgen.

`, i%60, i, i%100, i, i, i%250)
	}
	return b.String()
}

// htmlBody returns an HTML phishing mail of about size bytes: a table
// layout with styles, links whose text differs from their target, images
// and a tracking pixel.
func htmlBody(size int) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Uw account</title>
<style>body{font-family:Arial,sans-serif;color:#333}.btn{background:#ff6200;padding:10px 20px}td{font-size:14px}</style>
</head><body><table width="600" cellpadding="0" cellspacing="0" border="0" align="center">`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, `<tr><td style="padding:20px"><img src="https://cdn.ing-be-veiligheid.com/img/logo%d.png" alt="ING" width="120">
<p>Beste klant,</p><p>We hebben op <b>01.12.2026</b> ongebruikelijke activiteit vastgesteld. Bevestig uw gegevens
binnen 24 uur via <a href="https://ing-be-veiligheid.com/nl/verify.php?id=%d&amp;s=8f3a2c" class="btn">https://www.ing.be/nl/login</a>.</p>
<p style="font-size:11px;color:#999">Vragen? Bel +32 2 464 60 %02d of mail <a href="mailto:support@ing-be-veiligheid.com">support@ing.be</a>.
&copy; 2026 ING Belgi&euml; NV &ndash; Marnixlaan 24, 1000 Brussel</p></td></tr>
<tr><td><img src="http://track.mailer-stat.net/open.gif?u=%d" width="1" height="1"></td></tr>`, i, i, i%100, i)
	}
	b.WriteString("</table></body></html>")
	return b.String()
}

func BenchmarkFind(b *testing.B) {
	body := mailBody(20 << 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	start := cputime.Process()
	for b.Loop() {
		Find(body)
	}
	cputime.ReportPerOp(b, start)
}

func BenchmarkFromHTML(b *testing.B) {
	body := htmlBody(20 << 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	start := cputime.Process()
	for b.Loop() {
		FromHTML(body)
	}
	cputime.ReportPerOp(b, start)
}

// BenchmarkFindHostile measures Find on a MaxInput text made of one short
// pattern repeated, the shapes that would cost most if a step of Find
// looked back or ahead without bound.
func BenchmarkFindHostile(b *testing.B) {
	for _, unit := range []string{"a_", "a+", "a@", "1:", "+1 ", "(dot)", "\xff", "x.com ", "http://a.com/("} {
		text := strings.Repeat(unit, MaxInput/len(unit))
		b.Run(fmt.Sprintf("%q", unit), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			start := cputime.Process()
			for b.Loop() {
				Find(text)
			}
			cputime.ReportPerOp(b, start)
		})
	}
}

// TestBenchmarkBodies checks that the benchmarks' bodies are what they
// say: about 20 KB, with the observables of a phishing mail in them.
func TestBenchmarkBodies(t *testing.T) {
	for name, body := range map[string]string{"text": mailBody(20 << 10), "html": htmlBody(20 << 10)} {
		if len(body) < 20<<10 || len(body) > 22<<10 {
			t.Errorf("%s body is %d bytes", name, len(body))
		}
		found := Find(body)
		if name == "html" {
			found = FromHTML(body)
		}
		kinds := map[Kind]int{}
		for _, o := range found {
			kinds[o.Kind]++
		}
		for _, k := range []Kind{URL, Domain, Email, Phone} {
			if kinds[k] == 0 {
				t.Errorf("%s body: no %s in %v", name, k, kinds)
			}
		}
	}
}

var baselineSink int

// BenchmarkScanBaseline walks the 20 KB body of BenchmarkFind once and
// only classifies each byte: the floor of any one-pass scanner, and on a
// shared machine a measure of how fast it is at the time.
func BenchmarkScanBaseline(b *testing.B) {
	body := mailBody(20 << 10)
	b.SetBytes(int64(len(body)))
	start := cputime.Process()
	for b.Loop() {
		n := 0
		for i := 0; i < len(body); i++ {
			if isWordByte(body[i]) {
				n++
			}
		}
		baselineSink = n
	}
	cputime.ReportPerOp(b, start)
}
