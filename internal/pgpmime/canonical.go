package pgpmime

// What is signed is the content in canonical form: every line ended by
// CRLF, 7-bit, short lines, no trailing white space.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// bodyOffset finds where the body of an entity in CRLF form starts, after
// the blank line that ends its header.
func bodyOffset(c []byte) (int, error) {
	if bytes.HasPrefix(c, []byte("\r\n")) {
		return 2, nil
	}
	i := bytes.Index(c, []byte("\r\n\r\n"))
	if i < 0 {
		return 0, errors.New("no blank line after the header")
	}
	return i + 4, nil
}

// bodyStart is bodyOffset of content that has a body.
func bodyStart(c []byte) int {
	n, _ := bodyOffset(c)
	return n
}

// scanLines reports, in one pass, whether every CR and LF in c is part of
// a CRLF, and whether every line (between CRLFs) is short and does not
// end in white space.
func scanLines(c []byte) (crlf, fit bool) {
	crlf, fit = true, true
	lf, start := 0, 0
	for i := 0; ; {
		j := bytes.IndexByte(c[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		lf++
		if i < 2 || c[i-2] != '\r' {
			crlf = false
			continue
		}
		if fit && !signableLine(c[start:i-2]) {
			fit = false
		}
		start = i
	}
	fit = fit && signableLine(c[start:])
	return crlf && bytes.Count(c, []byte{'\r'}) == lf, fit
}

// signableCRLF reports, in one pass eight bytes at a time, what scanLines
// and has8BitOrNUL find together for content fit to be signed as it is:
// every CR and LF part of a CRLF, every line short and without trailing
// white space, and no byte of 0x80 or more, nor NUL. Rendered entities
// are (a line of base64 or quoted-printable in a word of eight bytes in
// ten holds no line end); for anything else it reports false at the
// first doubt, and the checks that say what is wrong follow.
func signableCRLF(c []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	const lfs, crs = '\n' * ones, '\r' * ones
	start := 0 // of the current line
	// lineEnd checks the byte at j, a CR or LF, and the line an LF ends.
	lineEnd := func(j int) bool {
		if c[j] == '\r' {
			return j+1 < len(c) && c[j+1] == '\n'
		}
		if j == 0 || c[j-1] != '\r' || !signableLine(c[start:j-1]) {
			return false
		}
		start = j + 1
		return true
	}
	i := 0
	for ; i+8 <= len(c); i += 8 {
		w := binary.LittleEndian.Uint64(c[i:])
		if w&highs != 0 || (w-ones)&^w&highs != 0 {
			return false // a high bit, or a zero byte
		}
		// Whether a byte is an LF or a CR: a zero byte of w^lfs or w^crs
		// (every byte is below 0x80, so the test is exact).
		lf, cr := w^lfs, w^crs
		if ((lf-ones)&^lf|(cr-ones)&^cr)&highs == 0 {
			continue
		}
		for j := i; j < i+8; j++ {
			if (c[j] == '\r' || c[j] == '\n') && !lineEnd(j) {
				return false
			}
		}
	}
	for j := i; j < len(c); j++ {
		switch b := c[j]; {
		case b >= 0x80 || b == 0:
			return false
		case (b == '\r' || b == '\n') && !lineEnd(j):
			return false
		}
	}
	return signableLine(c[start:])
}

// canonicalCRLF ends every line with CRLF, whatever it ended with, as RFC
// 3156 requires of what is signed. It returns a copy.
func canonicalCRLF(b []byte) []byte {
	if isCanonicalCRLF(b) {
		return bytes.Clone(b)
	}
	return toCRLF(b)
}

// canonical is canonicalCRLF without the copy when b is in CRLF form
// already, as the entities Vigil renders are: the result must only be
// read.
func canonical(b []byte) []byte {
	if isCanonicalCRLF(b) {
		return b
	}
	return toCRLF(b)
}

// isCanonicalCRLF reports whether every CR and LF in b is part of a
// CRLF: every LF follows a CR, and there are no more CRs than LFs.
func isCanonicalCRLF(b []byte) bool {
	lf := 0
	for i := 0; ; {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		if i == 0 || b[i-1] != '\r' {
			return false
		}
		lf++
		i++
	}
	return bytes.Count(b, []byte{'\r'}) == lf
}

// toCRLF turns CRLF, lone CR and lone LF alike into CRLF.
func toCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/32+2)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			out = append(out, '\r', '\n')
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// checkSignable refuses content that mail relays may alter: 8-bit bytes,
// NUL, lines over 998 characters and trailing white space. Content that
// passes is checked in a few passes over whole words; the error, with its
// line number, comes from signableError.
func checkSignable(c []byte) error {
	if has8BitOrNUL(c) {
		return signableError(c)
	}
	start := 0 // of the current line
	for i := 0; ; {
		j := bytes.IndexByte(c[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if i < 2 || c[i-2] != '\r' {
			// A lone LF is a character of its line.
			continue
		}
		if !signableLine(c[start : i-2]) {
			return signableError(c)
		}
		start = i
	}
	if !signableLine(c[start:]) {
		return signableError(c)
	}
	return nil
}

func signableLine(line []byte) bool {
	if len(line) > 998 {
		return false
	}
	return len(line) == 0 || (line[len(line)-1] != ' ' && line[len(line)-1] != '\t')
}

// has8BitOrNUL reports whether b has a byte of 0x80 or more, or a NUL,
// eight bytes at a time.
func has8BitOrNUL(b []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for len(b) >= 8 {
		w := binary.LittleEndian.Uint64(b)
		// w&highs finds high bits; (w-ones)&^w&highs a zero byte (or
		// is set by a high byte, which fails anyway).
		if w&highs != 0 || (w-ones)&^w&highs != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 || c == 0 {
			return true
		}
	}
	return false
}

// signableError is checkSignable line by line, naming the first line
// that is not fit to be signed.
func signableError(c []byte) error {
	for n, line := range bytes.Split(c, []byte("\r\n")) {
		if len(line) > 998 {
			return fmt.Errorf("content line %d is longer than 998 characters: encode it as quoted-printable or base64", n+1)
		}
		for _, b := range line {
			if b >= 0x80 || b == 0 {
				return fmt.Errorf("content line %d is not 7-bit: encode it as quoted-printable or base64", n+1)
			}
		}
		if len(line) > 0 && (line[len(line)-1] == ' ' || line[len(line)-1] == '\t') {
			return fmt.Errorf("content line %d ends in white space, which relays may strip: encode it as quoted-printable or base64", n+1)
		}
	}
	return nil
}
