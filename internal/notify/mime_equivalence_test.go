package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// quotedPrintableReference is textPart's body through mime/quotedprintable,
// the encoding appendQuotedPrintable must match byte for byte.
func quotedPrintableReference(text string) []byte {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(strings.ReplaceAll(text, "\r\n", "\n")))
	w.Close()
	body := b.Bytes()
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		body = append(body, '\r', '\n')
	}
	return body
}

// randomText strings together pieces that meet every rule of
// quoted-printable: line ends of all kinds, white space before them,
// bytes to encode, and runs that cross the line length.
func randomText(rng *rand.Rand) string {
	pieces := []string{"a", "word ", " ", "\t", "=", "\n", "\r", "\r\n", "\n\n", "é", "€", "ß", "\u00a0:", "\x00", "\x7f", "\xff",
		strings.Repeat("x", 70), strings.Repeat("y", 75), strings.Repeat("z", 76), strings.Repeat("w ", 40), "  - item", "----------"}
	var b strings.Builder
	for range rng.IntN(60) {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.String()
}

func TestQuotedPrintableMatchesStandardLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []string{"", "\n", "\r", "\r\n", "x", "x ", "x \n", "x\t\r\n", strings.Repeat("a", 75) + " \n", strings.Repeat("a", 74) + "é\n",
		strings.Repeat("a", 72) + "=\n", strings.Repeat("a", 73) + "=\n", "\r\xc3\xa9\n", "\r=\r\n", "a\r\r\nb"}
	for range 20000 {
		cases = append(cases, randomText(rng))
	}
	for _, text := range cases {
		if got, want := appendQuotedPrintable(nil, text), quotedPrintableReference(text); !bytes.Equal(got, want) {
			t.Fatalf("text %q:\n got %q\nwant %q", text, got, want)
		}
	}
}

// base64Reference is filePart's body as encoding all and cutting it.
func base64Reference(data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteString("\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc)
	b.WriteString("\r\n")
	return b.Bytes()
}

func TestBase64Lines(t *testing.T) {
	data := make([]byte, 400)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for n := range len(data) {
		p := filePart("text/csv", "x.csv", data[:n])
		if got, want := p.appendBody(nil), base64Reference(data[:n]); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes:\n got %q\nwant %q", n, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for range 300 {
		data := make([]byte, rng.IntN(20000))
		for i := range data {
			data[i] = byte(rng.IntN(256))
		}
		p := filePart("application/gzip", "x.gz", data)
		if got, want := p.appendBody(nil), base64Reference(data); !bytes.Equal(got, want) {
			t.Fatalf("%d random bytes differ", len(data))
		}
	}
}

// multipartReference joins encoded parts as multipartMixed does, copying
// them: the reference for the entity built in place.
func multipartReference(headers [][]string, bodies [][]byte) []byte {
	h := sha256.New()
	for i := range headers {
		for _, l := range headers[i] {
			h.Write([]byte(l))
			h.Write([]byte{'\n'})
		}
		var d [12]byte
		binary.BigEndian.PutUint64(d[:], uint64(len(bodies[i])))
		binary.BigEndian.PutUint32(d[8:], crc32.Checksum(bodies[i], crc32.MakeTable(crc32.Castagnoli)))
		h.Write(d[:])
	}
	boundary := "=_vigil_" + hex.EncodeToString(h.Sum(nil)[:12])
	var b bytes.Buffer
	b.WriteString("Content-Type: " + mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary}) + "\r\n\r\n")
	for i := range headers {
		b.WriteString("--" + boundary + "\r\n")
		for _, l := range headers[i] {
			b.WriteString(l)
			b.WriteString("\r\n")
		}
		b.WriteString("\r\n")
		b.Write(bodies[i])
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

func TestMultipartMixedInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 200 {
		parts := []mimePart{textPart(randomText(rng))}
		for range rng.IntN(4) {
			data := make([]byte, rng.IntN(5000))
			for i := range data {
				data[i] = byte(rng.IntN(256))
			}
			parts = append(parts, filePart("application/gzip", "é file.csv.gz", data))
		}
		var headers [][]string
		var bodies [][]byte
		for _, p := range parts {
			headers = append(headers, p.header)
			bodies = append(bodies, p.appendBody(nil))
		}
		if got, want := multipartMixed(parts), multipartReference(headers, bodies); !bytes.Equal(got, want) {
			t.Fatalf("got\n%q\nwant\n%q", got, want)
		}
	}
}
