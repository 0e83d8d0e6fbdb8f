package extract

import "strings"

// phone recognises a telephone number in international form at i and
// returns its end, recording it in E.164 form ("+3221234567"). It takes
// "+32 2 123 45 67", "+31 (0)20 123 4567", "+1 (555) 123-4567" and
// "0032 2 123 45 67": a plus sign or 00, a country code that does not
// start with 0, then digits in groups separated by single spaces, hyphens,
// dots or slashes, or in brackets, 8 to 15 digits in all; a "(0)" (the
// national trunk prefix) is dropped. The 00 form must be written in
// groups, so that a long run of digits (an account or invoice number) is
// not taken. A number glued to a letter or digit ("UTC+1", "GMT+0100"), or
// followed by more digits after a colon, dot or hyphen, is not one.
func (f *finder) phone(i int) int {
	s := f.s
	if i > 0 && (isWordByte(s[i-1]) || s[i-1] == '+' || s[i-1] == '.') {
		return 0
	}
	j := i + 1
	if s[i] == '0' {
		j = i + 2
	}
	if j >= len(s) || s[j] < '1' || s[j] > '9' {
		return 0
	}
	var p phoneDigits
	end := p.read(s, j)
	if p.n < 8 || p.n > 15 || (s[i] == '0' && !p.separated) || !phoneEnds(s, end) || isDate(s[j:end]) {
		return 0
	}
	f.add(Phone, "+"+string(p.digits[:p.n]))
	return end
}

// nationalPhone recognises a telephone number in national form ("02 123
// 45 67", "0470/12.34.56", "020-123 4567") at i, in the country whose
// calling code the Finder was given, and returns its end. Such a number is
// taken only where it is unambiguous: written in groups, with a trunk 0
// and 8 to 11 digits after it, and after a word that says it is a phone
// number ("tel", "phone", "call", "bel", "gsm", ...) earlier on the same
// line and at most 24 bytes before it.
func (f *finder) nationalPhone(i int) int {
	s := f.s
	if f.country == "" || i+1 >= len(s) || s[i] != '0' || s[i+1] < '1' || s[i+1] > '9' ||
		(i > 0 && (isWordByte(s[i-1]) || s[i-1] == '+' || s[i-1] == '.')) || !phoneLabelBefore(s, i) {
		return 0
	}
	var p phoneDigits
	end := p.read(s, i+1)
	if p.n < 8 || p.n > 11 || len(f.country)+p.n > 15 || !p.separated || !phoneEnds(s, end) {
		return 0
	}
	f.add(Phone, "+"+f.country+string(p.digits[:p.n]))
	return end
}

// phoneLabels are the words (in lower case) that announce a phone number,
// in the languages of the reports.
var phoneLabels = []string{"tel", "phone", "call", "mobile", "gsm", "bel", "telefoon", "téléphone",
	"appel", "portable", "anruf", "ruf", "handy", "whatsapp", "sms", "fax"}

// phoneLabelBefore reports whether a phone label stands on the line
// before position i, at most 24 bytes back.
func phoneLabelBefore(s string, i int) bool {
	before := s[max(0, i-24):i]
	if nl := strings.LastIndexByte(before, '\n'); nl >= 0 {
		before = before[nl+1:]
	}
	before = strings.ToLower(before)
	for _, label := range phoneLabels {
		if strings.Contains(before, label) {
			return true
		}
	}
	return false
}

// phoneDigits collects the digits of a telephone number.
type phoneDigits struct {
	digits    [16]byte
	n         int // how many digits; more than 15 means too many
	separated bool
}

func (p *phoneDigits) push(d byte) {
	if p.n < len(p.digits) {
		p.digits[p.n] = d
	}
	p.n++
}

// read collects the digits from position j on (digits in groups separated
// by single spaces, hyphens, dots, slashes or no-break spaces, or in
// brackets, a "(0)" dropped) and returns where the number ends.
func (p *phoneDigits) read(s string, j int) int {
	end := j
	for j < len(s) && p.n <= 15 {
		c := s[j]
		switch {
		case isDigit(c):
			p.push(c)
			j++
			end = j
			continue
		case c == '(':
			k := j + 1
			for k < len(s) && k-j <= 5 && isDigit(s[k]) {
				k++
			}
			if k == j+1 || k >= len(s) || s[k] != ')' {
				break
			}
			if s[j+1:k] != "0" {
				for _, d := range []byte(s[j+1 : k]) {
					p.push(d)
				}
			}
			p.separated = true
			j = k + 1
			end = j
			continue
		case c == ' ' || c == '-' || c == '.' || c == '/':
			if j+1 < len(s) && (isDigit(s[j+1]) || s[j+1] == '(') {
				p.separated = true
				j++
				continue
			}
		case c == 0xc2 && j+2 < len(s) && s[j+1] == 0xa0 && isDigit(s[j+2]): // no-break space
			p.separated = true
			j += 2
			continue
		}
		break
	}
	return end
}

// phoneEnds reports whether a number may end at position end: not glued
// to a letter or digit, nor followed by more digits after a colon, dot,
// hyphen or slash (a time, a date, an address).
func phoneEnds(s string, end int) bool {
	if end >= len(s) {
		return true
	}
	c := s[end]
	return !isWordByte(c) && !((c == ':' || c == '.' || c == '-' || c == '/') && end+1 < len(s) && isDigit(s[end+1]))
}

// isDate reports whether t is written as a date, 2026-12-03 or
// 2026.12.03, rather than a number in groups.
func isDate(t string) bool {
	return len(t) == 10 && allDigits(t[:4]) && allDigits(t[5:7]) && allDigits(t[8:]) &&
		(t[4] == '-' || t[4] == '.' || t[4] == '/') && t[7] == t[4]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
