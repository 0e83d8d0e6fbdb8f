package pgpmime

import (
	"bytes"
	"crypto"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// canonicalReference is canonicalCRLF as three replacements, the reference
// for the one-pass form.
func canonicalReference(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// randomContent strings together line ends of every kind, white space,
// 8-bit bytes, NULs and long lines.
func randomContent(rng *rand.Rand) []byte {
	pieces := []string{"a", "text", " ", "\t", "\r\n", "\r", "\n", "\n\r", "\r\r\n", "é", "\x00", "\x7f", "\x80",
		strings.Repeat("x", 990), strings.Repeat("y", 8), "ok\r\n", " \r\n", "\t\r\n"}
	var b bytes.Buffer
	for range rng.IntN(30) {
		b.WriteString(pieces[rng.IntN(len(pieces))])
	}
	return b.Bytes()
}

func TestCanonicalCRLFMatchesReplacements(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for range 20000 {
		in := randomContent(rng)
		want := canonicalReference(bytes.Clone(in))
		if got := canonicalCRLF(in); !bytes.Equal(got, want) {
			t.Fatalf("canonicalCRLF(%q) = %q, want %q", in, got, want)
		}
		if got := canonical(in); !bytes.Equal(got, want) {
			t.Fatalf("canonical(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckSignableMatchesLineByLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	cases := [][]byte{nil, []byte("\r\n"), []byte(" "), []byte("x\r\n "), []byte(strings.Repeat("x", 998)), []byte(strings.Repeat("x", 999)),
		[]byte(strings.Repeat("x", 998) + "\r\n"), []byte(strings.Repeat("x", 998) + "\n"), []byte("a \r"), []byte("a\r\r\n"), []byte("a \n\r\n")}
	for range 20000 {
		c := randomContent(rng)
		cases = append(cases, c, canonicalReference(c))
	}
	for _, c := range cases {
		got, want := checkSignable(c), signableError(c)
		if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
			t.Fatalf("checkSignable(%q) = %v, want %v", c, got, want)
		}
	}
}

// TestSignableCRLFMatchesScans: signableCRLF's one pass says what
// scanLines and has8BitOrNUL say together, for content of every kind and
// for each of its prefixes (every length of a tail after the words of
// eight bytes).
func TestSignableCRLFMatchesScans(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	cases := [][]byte{nil, []byte("\r\n"), []byte("\r"), []byte("\n"), []byte(strings.Repeat("x", 998) + "\r\n"),
		[]byte(strings.Repeat("x", 999) + "\r\n"), []byte("abcdefg\r\nabcdefgh\r\n"), []byte("abcdef \r\n"), []byte("0123456\r")}
	for range 5000 {
		c := randomContent(rng)
		cases = append(cases, c, canonicalReference(c))
	}
	for _, c := range cases {
		for n := max(0, len(c)-9); n <= len(c); n++ {
			crlf, fit := scanLines(c[:n])
			if got, want := signableCRLF(c[:n]), crlf && fit && !has8BitOrNUL(c[:n]); got != want {
				t.Fatalf("signableCRLF(%q) = %v, want %v", c[:n], got, want)
			}
		}
	}
}

func TestSignatureHashMatchesPacket(t *testing.T) {
	team, _ := newTestIdentity(t, "CERT Test", "cert@example.org")
	for _, hash := range []crypto.Hash{crypto.SHA256, crypto.SHA512, crypto.SHA384} {
		var b bytes.Buffer
		config := &packet.Config{DefaultHash: hash, Time: func() time.Time { return testNow }}
		if err := openpgp.DetachSign(&b, team.Entity(), strings.NewReader("data"), config); err != nil {
			t.Fatal(err)
		}
		p, err := packet.Read(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		want := p.(*packet.Signature).Hash
		if got, ok := signatureHash(b.Bytes()); !ok || got != want {
			t.Errorf("signatureHash = %v, %v; want %v", got, ok, want)
		}
	}
	for _, bad := range [][]byte{nil, {0x88}, {0x01, 0x02}, {0xc2, 0x05, 0x03, 0, 0, 8}, {0xb4, 0x05, 4, 0, 22, 8}} {
		if h, ok := signatureHash(bad); ok {
			t.Errorf("signatureHash(%x) = %v", bad, h)
		}
	}
}
