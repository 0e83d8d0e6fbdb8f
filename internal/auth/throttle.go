package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// ClientAddress is the address login throttles count against, as text:
// the web layer's decision (ClientAddr: a trusted proxy's forwarded
// address, else the connection's peer), or RemoteAddr's host when that is
// not an address. Forwarding headers from anyone else are not believed.
func ClientAddress(r *http.Request) string {
	if addr := ClientAddr(r); addr.IsValid() {
		return addr.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// WithClientAddress returns r carrying addr as its client address, keeping
// what was decided about HTTPS; for tests and middleware.
func WithClientAddress(r *http.Request, addr string) *http.Request {
	c := ClientOf(r)
	c.Addr, _ = netip.ParseAddr(addr)
	return r.WithContext(WithClient(r.Context(), c))
}

// Audit actions of login throttles.
const (
	// AuditThrottled is a wait begun or lengthened by a failed login.
	AuditThrottled = "login.throttled"
	// AuditTargeted is an account that failed logins from any
	// addresses have reached LimitPolicy.AccountSignal: a campaign
	// against it, reported but delaying no one.
	AuditTargeted = "login.targeted"
	// AuditThrottleCleared is an administrator clearing a wait.
	AuditThrottleCleared = "login.throttle.cleared"
)

func throttleAudit(t Throttle) AuditEntry {
	wait := t.Until.Sub(t.Last).Round(time.Second)
	if t.Client == "" {
		return AuditEntry{Actor: t.Account, Action: AuditTargeted, Target: t.Account,
			Detail: fmt.Sprintf("%d failed logins from any addresses; each address is slowed on its own, the account is not locked", t.Failures)}
	}
	if t.Account == "" {
		return AuditEntry{Actor: "", Action: AuditThrottled, Target: t.Client,
			Detail: fmt.Sprintf("%d failed logins from %s under any name; next attempt from it after %s (%s)", t.Failures, t.Client, wait, t.Until.UTC().Format(time.RFC3339))}
	}
	return AuditEntry{Actor: t.Account, Action: AuditThrottled, Target: t.Account,
		Detail: fmt.Sprintf("%d failed logins from %s; next attempt from it after %s (%s)", t.Failures, t.Client, wait, t.Until.UTC().Format(time.RFC3339))}
}

// Throttles lists the running login throttles, for administrators.
func (l *Logins) Throttles() []Throttle { return l.limiter.Throttles() }

// ClearThrottle lets account (empty: anyone) try again from client at
// once, or with client empty forgets the account's failures from all
// addresses; it is audited under the administrator admin. It reports
// whether there was such a throttle.
func (l *Logins) ClearThrottle(ctx context.Context, admin User, account, client string) bool {
	if !l.limiter.Clear(account, client) {
		return false
	}
	target, detail := account, "failed logins from "+client+" forgotten"
	switch {
	case account == "":
		target, detail = client, "failed logins from "+client+" under any name forgotten"
	case client == "":
		detail = "failed logins from any addresses forgotten"
	}
	l.audit(ctx, AuditEntry{UserID: admin.ID, Actor: admin.Name, Action: AuditThrottleCleared, Target: target, Detail: detail})
	return true
}
