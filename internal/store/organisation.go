package store

// ValidHandle is what the event store knows of organisations: the
// spelling of the handles it indexes events by. Everything else about
// organisations is internal/constituency's.

// ValidHandle reports whether s can be an organisation's handle: one or
// more lower-case ASCII letters, digits and '-'. Handles are what events
// are tagged with and what a constituent's searches are confined to, so
// they have one spelling only.
func ValidHandle(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
