package mailin

import (
	"net/mail"
	"regexp"
	"strings"
)

// Inline forwards are messages a mail program wrote into the text of a
// new one: a marker line, then the forwarded message's headers in the
// program's language, then its text. The markers and header names are
// those of Gmail, Outlook, Thunderbird and Apple Mail in English, Dutch,
// French and German.

// forwardMarker matches a marker line, trimmed.
var forwardMarker = regexp.MustCompile(`(?i)^(?:-{2,}\s*(?:forwarded message|original message|doorgestuurd bericht|oorspronkelijk bericht|origineel bericht|message transféré|message d['’]origine|message original|weitergeleitete nachricht|ursprüngliche nachricht|originalnachricht)\s*-{2,}|(?:begin forwarded message|begin doorgestuurd bericht|doorgestuurd bericht|début du message réexpédié|début du message transféré|anfang der weitergeleiteten nachricht)\s*:)$`)

// maxForwardTries bounds the marker lines tried in one text, and
// maxForwardHeaderLines the lines of a forward's header block (blank
// lines before it included).
const (
	maxForwardTries       = 100
	maxForwardHeaderLines = 40
)

// outlookRule is the line Outlook writes above a forward's headers.
var outlookRule = regexp.MustCompile(`^_{10,}$`)

// forwardHeader matches a header line of an inline forward: "From: x",
// French "De : x", Gmail's bold "*From:* x".
var forwardHeader = regexp.MustCompile(`^\*?([\p{L} .'-]{1,30}?)\*?\s*:\*?\s*(.*)$`)

// forwardFields maps the header names of the four languages to the
// fields of a Message.
var forwardFields = map[string]string{
	"from": "from", "van": "from", "de": "from", "von": "from", "afzender": "from", "expéditeur": "from", "absender": "from",
	"to": "to", "aan": "to", "à": "to", "a": "to", "an": "to", "pour": "to", "destinataire": "to",
	"cc": "cc", "kopie": "cc", "copie": "cc", "copie à": "cc",
	"subject": "subject", "onderwerp": "subject", "objet": "subject", "betreff": "subject", "sujet": "subject",
	"date": "date", "sent": "date", "datum": "date", "verzonden": "date", "verstuurd": "date", "envoyé": "date",
	"envoyé le": "date", "gesendet": "date",
	"reply-to": "reply-to", "antwoord aan": "reply-to", "répondre à": "reply-to", "antwort an": "reply-to",
}

// quoted splits a line into its quotation level ("> > x" is 2) and the
// rest.
func quoted(line string) (int, string) {
	n := 0
	for {
		t := strings.TrimLeft(line, " \t")
		if !strings.HasPrefix(t, ">") {
			return n, line
		}
		n++
		line = strings.TrimPrefix(t[1:], " ")
	}
}

// unquote removes n quotation levels from each line.
func unquote(lines []string, n int) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		for range n {
			t := strings.TrimLeft(l, " \t")
			if !strings.HasPrefix(t, ">") {
				break
			}
			l = strings.TrimPrefix(t[1:], " ")
		}
		out[i] = l
	}
	return out
}

// inlineForwards finds the first inline forward in m's text and reads it
// as a message of m; the forwards inside it are found when its own text
// is read.
func (p *parser) inlineForwards(m *Message, depth int) {
	if m.Text == "" {
		return
	}
	lines := strings.Split(m.Text, "\n") // body() has made the line ends \n
	tries := 0
	for i, line := range lines {
		level, content := quoted(line)
		content = strings.TrimSpace(content)
		if !forwardMarker.MatchString(content) && !outlookRule.MatchString(content) {
			continue
		}
		// Each try reads only the header block after the marker; the
		// tries are bounded all the same, for a text of markers alone.
		if tries++; tries > maxForwardTries {
			m.note("more than %d forward markers without a forward: the rest is not looked at", maxForwardTries)
			return
		}
		fm, ok := parseInline(lines[i+1:], level)
		if !ok {
			continue
		}
		if depth+1 > p.limits.MaxDepth {
			m.note("forwarded messages nested more than %d deep: the inner one is left in the text", p.limits.MaxDepth)
			return
		}
		p.inlineForwards(fm, depth+1)
		m.Forwarded = append(m.Forwarded, fm)
		return
	}
}

// parseInline reads the headers and text of an inline forward, the lines
// after its marker; not a forward when neither a sender nor a subject is
// found in the header block.
func parseInline(lines []string, level int) (*Message, bool) {
	// Only the header block is unquoted before it is known to be one.
	end := min(len(lines), maxForwardHeaderLines)
	head := unquote(lines[:end], level)
	i := 0
	for i < len(head) && strings.TrimSpace(head[i]) == "" {
		i++
	}
	fields := map[string]string{}
	last := ""
	for ; i < len(head); i++ {
		l := strings.TrimRight(head[i], " \t\r")
		if strings.TrimSpace(l) == "" {
			break
		}
		if mm := forwardHeader.FindStringSubmatch(strings.TrimSpace(l)); mm != nil {
			if f, ok := forwardFields[strings.ToLower(strings.TrimSpace(mm[1]))]; ok {
				fields[f], last = strings.TrimSpace(mm[2]), f
				continue
			}
		}
		if last != "" && (l[0] == ' ' || l[0] == '\t') {
			fields[last] += " " + strings.TrimSpace(l)
			continue
		}
		break
	}
	if fields["from"] == "" && fields["subject"] == "" {
		return nil, false
	}
	lines = unquote(lines, level)
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	m := &Message{Inline: true, Subject: fields["subject"], DateText: fields["date"],
		From: inlineAddresses(fields["from"]), To: inlineAddresses(fields["to"]), Cc: inlineAddresses(fields["cc"]),
		ReplyTo: inlineAddresses(fields["reply-to"]), Text: strings.TrimRight(strings.Join(lines[i:], "\n"), "\n ")}
	if d, err := mail.ParseDate(m.DateText); err == nil {
		m.Date, m.DateText = d, ""
	}
	return m, true
}

// inlineAddresses reads an inline forward's address field: a list as in
// a header, or Outlook's "Name [mailto:x@y]", or a name alone.
func inlineAddresses(s string) []Address {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	if list, err := mail.ParseAddressList(s); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: a.Name, Address: a.Address})
		}
		return out
	}
	if strings.Contains(s, ";") {
		var out []Address
		for _, part := range strings.Split(s, ";") {
			out = append(out, looseAddresses(part)...)
		}
		return out
	}
	return looseAddresses(s)
}
