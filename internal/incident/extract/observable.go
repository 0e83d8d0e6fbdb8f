// Package extract finds observables in the text of a report: URLs
// (defanged ones such as hxxp://evil[.]com too), domains, IP addresses,
// e-mail addresses, hashes, phone numbers and CVE identifiers.
package extract

// Kind says what an observable is.
type Kind string

// The kinds of observable.
const (
	URL    Kind = "url"
	Domain Kind = "domain"
	IP     Kind = "ip"
	Email  Kind = "email"
	MD5    Kind = "md5"
	SHA1   Kind = "sha1"
	SHA256 Kind = "sha256"
	Phone  Kind = "phone"
	CVE    Kind = "cve"
)

// Kinds lists every kind, in the order a person reads them.
var Kinds = []Kind{URL, Domain, IP, Email, MD5, SHA1, SHA256, Phone, CVE}

// Valid reports whether k is one of the kinds.
func (k Kind) Valid() bool {
	for _, known := range Kinds {
		if k == known {
			return true
		}
	}
	return false
}

// Observable is one thing a report names, in its normal form: a URL
// refanged, a domain in lower case without its trailing dot, an IP address
// as netip prints it, a hash in lower case, a CVE id in upper case.
type Observable struct {
	Kind  Kind   `json:"kind"`
	Value string `json:"value"`
}
