package auth

import "time"

// The clocks of Logins and Sessions, for the tests outside the package
// (those that use the database, which imports this package).

func SetLoginsNow(l *Logins, now func() time.Time) { l.now = now }

func LoginsNow(l *Logins) func() time.Time { return l.now }

func SetSessionsNow(m *Sessions, now func() time.Time) { m.now = now }
