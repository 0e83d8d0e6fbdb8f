package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
)

// Message IDs of the login throttles page and of a refused login.
const (
	msgTitleThrottles        = "title.throttles"
	msgLoginThrottledPair    = "login.error.throttled.pair"
	msgLoginThrottledAddress = "login.error.throttled.address"
	// msgLoginLocked answers a second-factor change refused while the
	// account is throttled from this address.
	msgLoginLocked  = "login.error.locked"
	msgDoneThrottle = "done.throttle"
	msgThrottleGone = "throttles.error.gone"
)

// throttlesPage is the data of the login throttles page.
type throttlesPage struct {
	Throttles []auth.Throttle
	Now       time.Time
}

func (c *Console) throttleRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /users/throttles", c.member(auth.ManageUsers, c.throttles))
	m.HandleFunc("POST /users/throttles/clear", c.member(auth.ManageUsers, c.clearThrottle))
}

func (c *Console) throttles(w http.ResponseWriter, r *http.Request, v *visit) {
	flash := flashOf(r)
	if r.URL.Query().Get("done") == "throttle" {
		flash = msgDoneThrottle
	}
	c.render(w, r, v, http.StatusOK, "throttles", msgTitleThrottles, throttlesPage{Throttles: c.logins.Throttles(), Now: c.now()}, flash, "")
}

// clearThrottle lets an account (or, with no account, anyone) try again
// at once from an address; the audit log names the administrator.
func (c *Console) clearThrottle(w http.ResponseWriter, r *http.Request, v *visit) {
	account := strings.TrimSpace(r.PostFormValue("account"))
	client := strings.TrimSpace(r.PostFormValue("client"))
	if !c.logins.ClearThrottle(r.Context(), v.user, account, client) {
		c.render(w, r, v, http.StatusNotFound, "throttles", msgTitleThrottles, throttlesPage{Throttles: c.logins.Throttles(), Now: c.now()}, "", msgThrottleGone)
		return
	}
	redirectDone(w, r, "/users/throttles", "throttle")
}
