package notify

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"mime"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/outbox"
)

// mimePart is one part of a multipart/mixed entity: its header lines
// (without line ends) and what appends its encoded body, lines ending in
// CRLF, with an estimate of the body's size.
type mimePart struct {
	header     []string
	appendBody func(dst []byte) []byte
	size       int
	// data is the raw bytes of a part that is encoded in base64
	// (filePart), not the encoding: the runs of the entity refer to it.
	data []byte
}

// textPart encodes text (lines ending in \n) as quoted-printable UTF-8:
// the text has accents in three of four languages, and a signed entity
// must be 7-bit so that no relay re-encodes it and breaks the signature.
func textPart(text string) mimePart {
	return mimePart{
		header: []string{
			"Content-Type: " + mime.FormatMediaType("text/plain", map[string]string{"charset": "utf-8"}),
			"Content-Transfer-Encoding: quoted-printable",
			"Content-Disposition: inline",
		},
		appendBody: func(dst []byte) []byte { return appendQuotedPrintable(dst, text) },
		size:       len(text) + len(text)/8,
	}
}

// qpLineMax is the longest quoted-printable line, without its CRLF.
const qpLineMax = 75

// qpLiteral are the bytes quoted-printable writes as they are (printable
// ASCII but "=", space and tab); qpLineEnd the line ends.
var qpLiteral, qpLineEnd = func() (lit, end [256]bool) {
	for b := '!'; b <= '~'; b++ {
		lit[b] = b != '='
	}
	lit[' '], lit['\t'] = true, true
	end['\r'], end['\n'] = true, true
	return
}()

const upperHex = "0123456789ABCDEF"

// appendQuotedPrintable appends text encoded as mime/quotedprintable's
// Writer encodes it after CRLF became LF, ending in CRLF: line ends
// become CRLF, a space or tab before one is encoded, and lines are broken
// softly ("=" CRLF) before they pass 76 characters. It is that writer's
// output byte for byte, without its call and copy for every line.
func appendQuotedPrintable(dst []byte, text string) []byte {
	start := len(dst)
	n := 0      // characters on the current output line
	cr := false // the last line end was a CR, whose LF is then dropped
	soft := func() {
		dst = append(dst, '=', '\r', '\n')
		n = 0
	}
	encode := func(b byte) {
		if qpLineMax-n < 3 {
			soft()
		}
		dst = append(dst, '=', upperHex[b>>4], upperHex[b&0x0f])
		n += 3
	}
	// lastSpace encodes a space or tab that ends a line, which relays
	// may strip.
	lastSpace := func() {
		if n > 0 {
			if b := dst[len(dst)-1]; b == ' ' || b == '\t' {
				dst = dst[:len(dst)-1]
				n--
				encode(b)
			}
		}
	}
	for i := 0; i < len(text); {
		b := text[i]
		switch {
		case qpLiteral[b]:
			j := i + 1
			for j < len(text) && qpLiteral[text[j]] {
				j++
			}
			for run := text[i:j]; len(run) > 0; {
				if n == qpLineMax {
					soft()
				}
				k := min(qpLineMax-n, len(run))
				dst = append(dst, run[:k]...)
				n += k
				run = run[k:]
			}
			cr = false
			i = j
		case qpLineEnd[b]:
			i++
			if b == '\r' && i < len(text) && text[i] == '\n' {
				// CRLF is a line end like LF.
				continue
			}
			if cr && b == '\n' {
				cr = false
				continue
			}
			if b == '\r' {
				cr = true
			}
			lastSpace()
			dst = append(dst, '\r', '\n')
			n = 0
		default:
			encode(b)
			i++
		}
	}
	lastSpace()
	if body := dst[start:]; len(body) < 2 || body[len(body)-2] != '\r' || body[len(body)-1] != '\n' {
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// base64Line is how many bytes make one 76-character line of base64.
const base64Line = 57

// filePart encodes an attachment in base64, 76 characters a line.
func filePart(contentType, filename string, data []byte) mimePart {
	params := map[string]string{"name": filename}
	if strings.HasPrefix(contentType, "text/") {
		params["charset"] = "utf-8"
	}
	return mimePart{
		header: []string{
			"Content-Type: " + mime.FormatMediaType(contentType, params),
			"Content-Transfer-Encoding: base64",
			"Content-Disposition: " + mime.FormatMediaType("attachment", map[string]string{"filename": filename}),
		},
		appendBody: func(dst []byte) []byte {
			rest := data
			for len(rest) > base64Line {
				dst = appendBase64Line(dst, rest[:base64Line])
				dst = append(dst, '\r', '\n')
				rest = rest[base64Line:]
			}
			dst = base64.StdEncoding.AppendEncode(dst, rest)
			return append(dst, '\r', '\n')
		},
		size: (len(data)+base64Line-1)/base64Line*78 + 2,
		data: data,
	}
}

// base64Pairs holds the two base64 characters of every 12 bits, the
// first in the low byte: a line is encoded four characters a lookup
// instead of one, the same characters as encoding/base64's.
var base64Pairs = func() (pairs [1 << 12]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range pairs {
		pairs[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return
}()

// appendBase64Line appends the 76 characters of one base64Line bytes of
// line, six bytes (eight characters) at a time.
func appendBase64Line(dst, line []byte) []byte {
	var out [76]byte
	for i := 0; i < 9; i++ {
		// Read eight bytes (the line has them: 6*8+8 <= 57); the top
		// 48 bits are the six encoded.
		v := binary.BigEndian.Uint64(line[6*i:])
		binary.LittleEndian.PutUint64(out[8*i:], uint64(base64Pairs[v>>52&0xfff])|
			uint64(base64Pairs[v>>40&0xfff])<<16|
			uint64(base64Pairs[v>>28&0xfff])<<32|
			uint64(base64Pairs[v>>16&0xfff])<<48)
	}
	base64.StdEncoding.Encode(out[72:], line[54:57])
	return append(dst, out[:]...)
}

// boundaryPrefix starts every boundary; boundaryHex is the length of the
// content hash that follows it.
const (
	boundaryPrefix = "=_vigil_"
	boundaryHex    = 24
)

// bodyDigest is what the boundary's hash takes of a part's body: its
// length and CRC-32C (the CPU computes it at many bytes a cycle). The
// boundary needs only to be derived from the content, not to be hard to
// forge ("=_" keeps it out of every part), so the body need not go
// through SHA-256 (0.36 s of a pass's 12.6 s of CPU over a million events
// in bench notify's profile).
func bodyDigest(body []byte) []byte {
	var d [12]byte
	binary.BigEndian.PutUint64(d[:], uint64(len(body)))
	binary.BigEndian.PutUint32(d[8:], crc32.Checksum(body, castagnoli))
	return d[:]
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// multipartMixed joins parts into one multipart/mixed entity: its
// Content-Type header, an empty line and the body, in CRLF form. The
// boundary is derived from the content, so the same message renders to the
// same bytes, and starts with "=_", which neither quoted-printable nor
// base64 can produce, so it cannot occur inside a part.
//
// The parts are encoded in place, behind boundaries of the final length,
// which are filled in once the content they are derived from is known: a
// message is built without copying its attachments again.
func multipartMixed(parts []mimePart) []byte {
	out, _ := multipartMixedRuns(nil, parts)
	return out
}

// multipartPlaceholder is the boundary before it is known, and the
// Content-Type header of the entity that names it.
var (
	multipartPlaceholder = boundaryPrefix + strings.Repeat("0", boundaryHex)
	multipartHeader      = "Content-Type: " + mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": multipartPlaceholder}) + "\r\n\r\n"
)

// multipartSize is about the size of the entity of parts (exactly, when
// their sizes are).
func multipartSize(parts []mimePart) int {
	size := len(multipartHeader) + len(multipartPlaceholder) + 6
	for _, p := range parts {
		size += len(multipartPlaceholder) + 4 + p.size
		for _, l := range p.header {
			size += len(l) + 2
		}
		size += 2
	}
	return size
}

// multipartMixedRuns is multipartMixed, written in dst's array when it
// has the capacity, and says where in the entity the full base64 lines
// of its parts are, with the data they encode, so that packing the
// message need not decode them again (outbox.PackBodyRuns).
func multipartMixedRuns(dst []byte, parts []mimePart) ([]byte, []outbox.Base64Run) {
	placeholder, header := multipartPlaceholder, multipartHeader
	out := slices.Grow(dst[:0], multipartSize(parts))
	out = append(out, header...)
	var at []int // where the boundaries are in out
	bodies := make([][2]int, len(parts))
	for i, p := range parts {
		out = append(out, "--"...)
		at = append(at, len(out))
		out = append(out, placeholder...)
		out = append(out, '\r', '\n')
		for _, l := range p.header {
			out = append(out, l...)
			out = append(out, '\r', '\n')
		}
		out = append(out, '\r', '\n')
		bodies[i][0] = len(out)
		out = p.appendBody(out)
		bodies[i][1] = len(out)
	}
	out = append(out, "--"...)
	at = append(at, len(out))
	out = append(out, placeholder...)
	out = append(out, "--\r\n"...)

	h := sha256.New()
	for i, p := range parts {
		for _, l := range p.header {
			h.Write([]byte(l))
			h.Write([]byte{'\n'})
		}
		h.Write(bodyDigest(out[bodies[i][0]:bodies[i][1]]))
	}
	var sum [sha256.Size]byte
	boundary := boundaryPrefix + hex.EncodeToString(h.Sum(sum[:0])[:boundaryHex/2])
	for _, i := range at {
		copy(out[i:], boundary)
	}
	final := "Content-Type: " + mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary}) + "\r\n\r\n"
	shift := 0
	if len(final) != len(header) {
		// The placeholder is quoted as any boundary is, so this does
		// not happen; if it did, the header is put in front.
		out = append([]byte(final), out[len(header):]...)
		shift = len(final) - len(header)
	} else {
		copy(out, final)
	}
	var runs []outbox.Base64Run
	for i, p := range parts {
		// filePart writes every line but the last one full: those.
		if n := (len(p.data) - 1) / base64Line; n > 0 {
			runs = append(runs, outbox.Base64Run{Offset: bodies[i][0] + shift, Data: p.data[:n*base64Line]})
		}
	}
	return out, runs
}
