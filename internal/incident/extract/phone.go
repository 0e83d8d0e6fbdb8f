package extract

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
	var digits [16]byte
	n := 0
	separated := false
	end := 0
	for j < len(s) {
		c := s[j]
		switch {
		case c >= '0' && c <= '9':
			if n == len(digits) {
				return 0
			}
			digits[n] = c
			n++
			j++
			end = j
			continue
		case c == '(':
			k := j + 1
			for k < len(s) && k-j <= 5 && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			if k == j+1 || k >= len(s) || s[k] != ')' {
				break
			}
			if s[j+1:k] != "0" {
				for _, d := range []byte(s[j+1 : k]) {
					if n == len(digits) {
						return 0
					}
					digits[n] = d
					n++
				}
			}
			separated = true
			j = k + 1
			end = j
			continue
		case c == ' ' || c == '-' || c == '.' || c == '/':
			if j+1 < len(s) && (isDigit(s[j+1]) || s[j+1] == '(') {
				separated = true
				j++
				continue
			}
		case c == 0xc2 && j+2 < len(s) && s[j+1] == 0xa0 && isDigit(s[j+2]): // no-break space
			separated = true
			j += 2
			continue
		}
		break
	}
	if n < 8 || n > 15 || (s[i] == '0' && !separated) {
		return 0
	}
	if end < len(s) {
		c := s[end]
		if isWordByte(c) || (c == ':' || c == '.' || c == '-' || c == '/') && end+1 < len(s) && isDigit(s[end+1]) {
			return 0
		}
	}
	f.add(Phone, "+"+string(digits[:n]))
	return end
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
