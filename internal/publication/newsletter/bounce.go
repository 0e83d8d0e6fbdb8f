package newsletter

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/vigil-cert/vigil/internal/mailin"
)

// unsubscribeLink finds the unsubscribe link in a List-Unsubscribe field.
var unsubscribeLink = regexp.MustCompile(`<(https?://[^>\s]+)>`)

// BouncedSubscriber reads which subscriber a delivery status
// notification answers. A notification counts only when it returns the
// header of a newsletter mail whose List-Unsubscribe link carries a
// valid token (signed with secret): a forged bounce naming someone's
// address cannot stop their mail, as it would need the link only the
// subscriber received.
func BouncedSubscriber(secret []byte, b mailin.Bounce) (int64, bool) {
	if b.Returned == nil {
		return 0, false
	}
	for _, field := range b.Returned.Values("List-Unsubscribe") {
		for _, m := range unsubscribeLink.FindAllStringSubmatch(field, 4) {
			u, err := url.Parse(m[1])
			if err != nil || !strings.HasSuffix(u.Path, "/newsletter/unsubscribe") {
				continue
			}
			if id, err := CheckUnsubscribeToken(secret, u.Query().Get("t")); err == nil {
				return id, true
			}
		}
	}
	return 0, false
}
