package incident

import (
	"strings"
	"unicode/utf8"
)

// DownloadPolicy is the Content-Security-Policy an attachment is served
// with: a document opened anyway runs in a sandbox without scripts and
// loads nothing.
const DownloadPolicy = "default-src 'none'; sandbox"

// AttachmentDisposition returns the Content-Disposition an attachment is
// served with: always a download, never shown inline, with an ASCII
// filename (characters outside letters, digits, '.', '-' and '_' turned
// into '_') for old clients and the name itself in filename* (RFC 6266,
// RFC 8187).
func AttachmentDisposition(name string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	for len(name) > 200 {
		_, n := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-n]
	}
	if strings.Trim(name, ". ") == "" {
		name = "attachment"
	}
	var plain, ext strings.Builder
	for _, r := range name {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			plain.WriteRune(r)
		} else {
			plain.WriteByte('_')
		}
	}
	const hex = "0123456789ABCDEF"
	for _, b := range []byte(name) {
		if b < utf8.RuneSelf && (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '-' || b == '_' || b == '~') {
			ext.WriteByte(b)
		} else {
			ext.WriteByte('%')
			ext.WriteByte(hex[b>>4])
			ext.WriteByte(hex[b&15])
		}
	}
	return `attachment; filename="` + plain.String() + `"; filename*=UTF-8''` + ext.String()
}
