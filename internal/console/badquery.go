package console

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// Message IDs of the page for a malformed query string.
const (
	msgTitleBadQuery      = "title.badquery"
	msgBadQuerySemicolon  = "query.error.semicolon"
	msgBadQueryEscape     = "query.error.escape"
	msgBadQueryMalformed  = "query.error.malformed"
	maxBadQueryTextLength = 80
)

// badQueryPage is the data of the malformed query page.
type badQueryPage struct {
	Message string // message ID, with Text as its argument
	Text    string
}

// BadQuery answers a request whose query string is malformed with a 400
// page in the visitor's language. problem is "semicolon" or "escape" (the
// web package's decision); text is the part of the query at fault.
func (c *Console) BadQuery(w http.ResponseWriter, r *http.Request, problem, text string) {
	msg := msgBadQueryMalformed
	switch problem {
	case "semicolon":
		msg = msgBadQuerySemicolon
	case "escape":
		msg = msgBadQueryEscape
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	if utf8.RuneCountInString(text) > maxBadQueryTextLength {
		text = string([]rune(text)[:maxBadQueryTextLength]) + "…"
	}
	c.anonymous(func(w http.ResponseWriter, r *http.Request, v *visit) {
		c.render(w, r, v, http.StatusBadRequest, "badquery", msgTitleBadQuery, badQueryPage{Message: msg, Text: text}, "", "")
	})(w, r)
}
