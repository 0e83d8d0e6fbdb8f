package shadowserver

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
	"time"
)

// GenerateOptions shape synthetic reports.
type GenerateOptions struct {
	// Prefixes are where the reported addresses come from, so that
	// enrichment and constituency matching find them. Empty means the
	// documentation ranges (RFC 5737, RFC 3849).
	Prefixes []netip.Prefix
	// Start is the first row's timestamp; zero means 2026-11-20 00:00 UTC.
	Start time.Time
	// Step is the time between rows; zero means one second.
	Step time.Duration
	// Sinkholes is where infected machines connect (dst_ip of sinkhole
	// reports); the zero prefix means 198.51.100.0/24. A demo keeps it
	// outside its constituency, as real sinkholes are.
	Sinkholes netip.Prefix
}

// The column lists below follow Shadowserver's published report formats.
var (
	scanPrefix   = []string{"timestamp", "severity", "ip", "protocol", "port", "hostname", "tag", "asn", "geo", "region", "city", "naics", "hostname_source", "sector"}
	deviceCols   = []string{"device_vendor", "device_type", "device_model", "device_version", "device_sector"}
	event4Prefix = []string{"timestamp", "protocol", "src_ip", "src_port", "src_asn", "src_geo", "src_region", "src_city", "src_hostname", "src_naics", "src_sector",
		"device_vendor", "device_type", "device_model", "severity", "dst_ip", "dst_port", "dst_asn", "dst_geo", "dst_region", "dst_city", "dst_hostname", "dst_naics", "dst_sector",
		"public_source", "infection", "family", "tag", "application", "version", "event_id"}
	tlsCols = []string{"cert_length", "subject_common_name", "issuer_common_name", "cert_issue_date", "cert_expiration_date", "sha1_fingerprint", "cert_serial_number",
		"ssl_version", "signature_algorithm", "key_algorithm", "subject_organization_name", "subject_organization_unit_name", "subject_country",
		"subject_state_or_province_name", "subject_locality_name", "subject_street_address", "subject_postal_code", "subject_surname", "subject_given_name",
		"subject_email_address", "subject_business_category", "subject_serial_number", "issuer_organization_name", "issuer_organization_unit_name",
		"issuer_country", "issuer_state_or_province_name", "issuer_locality_name", "issuer_street_address", "issuer_postal_code", "issuer_surname",
		"issuer_given_name", "issuer_email_address", "issuer_business_category", "issuer_serial_number"}
)

func cat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// synthetic describes how to make one report's rows.
type synthetic struct {
	columns   []string
	transport string
	ports     []int
	tags      []string
}

var syntheticReports = map[string]synthetic{
	"scan_rdp": {columns: cat(scanPrefix, []string{"handshake", "rdp_protocol", "cert_length", "subject_common_name", "issuer_common_name",
		"cert_issue_date", "cert_expiration_date", "sha1_fingerprint", "cert_serial_number", "ssl_version", "signature_algorithm", "key_algorithm",
		"sha256_fingerprint", "sha512_fingerprint", "md5_fingerprint", "tlsv13_support", "tlsv13_cipher", "jarm"}),
		transport: "tcp", ports: []int{3389}, tags: []string{"rdp", "rdp;cve-2019-0708"}},
	"scan_smb": {columns: cat(scanPrefix, []string{"arch", "key", "smb_major_number", "smb_minor_number", "smb_revision", "smb_version_string"}),
		transport: "tcp", ports: []int{445}, tags: []string{"smb", "smb;smbv1"}},
	"scan_telnet": {columns: cat(scanPrefix, []string{"banner"}), transport: "tcp", ports: []int{23, 2323}, tags: []string{"telnet"}},
	"scan_ssh": {columns: cat(scanPrefix, deviceCols, []string{"serverid_raw", "serverid_version", "serverid_software", "serverid_comment",
		"server_cookie", "available_kex", "available_ciphers", "available_mac", "available_compression", "selected_kex", "algorithm",
		"selected_cipher", "selected_mac", "selected_compression", "server_signature_value", "server_signature_raw", "server_host_key",
		"server_host_key_sha256", "banner", "userauth_methods", "hassh"}),
		transport: "tcp", ports: []int{22, 2222}, tags: []string{"ssh"}},
	"scan_ntp": {columns: cat(scanPrefix, []string{"version", "clk_wander", "clock", "error", "frequency", "jitter", "leap", "mintc", "noise",
		"offset", "peer", "phase", "poll", "precision", "processor", "refid", "reftime", "rootdelay", "rootdispersion", "stability", "state",
		"stratum", "system", "tai", "tc", "response_size", "amplification"}),
		transport: "udp", ports: []int{123}, tags: []string{"ntpversion"}},
	"scan_dns": {columns: cat(scanPrefix, []string{"dns_version", "min_amplification"}), transport: "udp", ports: []int{53},
		tags: []string{"openresolver"}},
	"scan_snmp": {columns: cat(scanPrefix, deviceCols, []string{"version", "sysname", "sysdesc", "community", "response_size", "amplification",
		"uptime", "mac_address", "vendor_id", "vendor"}),
		transport: "udp", ports: []int{161}, tags: []string{"snmp"}},
	"scan_http": {columns: cat(scanPrefix, []string{"http", "http_code", "http_reason", "content_type", "connection", "www_authenticate",
		"set_cookie", "server", "content_length", "transfer_encoding", "http_date", "version"}),
		transport: "tcp", ports: []int{80, 8080, 8000}, tags: []string{"http"}},
	"scan_ssl": {columns: cat(scanPrefix, []string{"handshake", "cipher_suite", "ssl_poodle"}, tlsCols, []string{"freak_vulnerable",
		"freak_cipher_suite", "sha256_fingerprint", "sha512_fingerprint", "md5_fingerprint", "http_response_type", "http_code", "http_reason",
		"content_type", "http_connection", "www_authenticate", "set_cookie", "server_type", "content_length", "transfer_encoding", "http_date",
		"cert_valid", "self_signed", "cert_expired", "browser_trusted", "validation_level", "browser_error", "tlsv13_support", "tlsv13_cipher", "jarm"}),
		transport: "tcp", ports: []int{443, 8443}, tags: []string{"ssl", "ssl;self-signed"}},
	"event4_sinkhole": {columns: cat(event4Prefix, []string{"ssl_cipher", "ssl_servername"}), transport: "tcp", ports: []int{80, 443},
		tags: []string{"botnet", "sinkhole"}},
	"event4_sinkhole_http": {columns: cat(event4Prefix, []string{"http_url", "http_host", "http_agent", "forwarded_by", "ssl_cipher",
		"http_referer", "ssl_servername", "machine_name"}), transport: "tcp", ports: []int{80}, tags: []string{"botnet"}},
	"event4_honeypot_brute_force": {columns: cat(event4Prefix, []string{"service", "start_time", "end_time", "client_version", "username",
		"password", "payload_url", "payload_md5"}), transport: "tcp", ports: []int{22, 23}, tags: []string{"ssh-brute-force", "telnet-brute-force"}},
	"compromised_website": {columns: cat(scanPrefix, []string{"application", "url", "http_host", "category", "system", "detected_since",
		"server", "redirect_target", "cc_url", "family", "status", "account", "detail", "public_source"}),
		transport: "tcp", ports: []int{80, 443}, tags: []string{"compromised-website"}},
	"blocklist": {columns: []string{"timestamp", "severity", "ip", "hostname", "source", "reason", "asn", "geo", "region", "city", "naics", "sector", "tag"},
		tags: []string{"blocklist"}},
}

// Reports returns the report types Generate can write, sorted.
func Reports() []string {
	out := make([]string, 0, len(syntheticReports))
	for r := range syntheticReports {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

var defaultPrefixes = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// sinkholes are where infected machines connect: a documentation range, so
// nothing synthetic points at a real host.
var sinkholes = netip.MustParsePrefix("198.51.100.0/24")

// Generate writes a synthetic CSV report of the given type with rows rows,
// in the report's columns, with plausible values drawn from rng. Nothing
// in it comes from real reports.
func Generate(w io.Writer, report string, rows int, rng *rand.Rand, opts GenerateOptions) error {
	spec, ok := syntheticReports[report]
	if !ok {
		return fmt.Errorf("shadowserver: generate %q: %w (known: %v)", report, ErrUnknownReport, Reports())
	}
	prefixes := opts.Prefixes
	if len(prefixes) == 0 {
		prefixes = defaultPrefixes
	}
	for _, p := range prefixes {
		if !p.IsValid() {
			return fmt.Errorf("shadowserver: generate: invalid prefix %v", p)
		}
	}
	start := opts.Start
	if start.IsZero() {
		start = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	}
	step := opts.Step
	if step == 0 {
		step = time.Second
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(spec.columns); err != nil {
		return fmt.Errorf("shadowserver: generate: %w", err)
	}
	sinks := opts.Sinkholes
	if !sinks.IsValid() {
		sinks = sinkholes
	}
	g := rowGen{rng: rng, spec: &spec, prefixes: prefixes, sinkholes: sinks}
	record := make([]string, len(spec.columns))
	for i := 0; i < rows; i++ {
		g.begin(start.Add(time.Duration(i) * step))
		for c, name := range spec.columns {
			record[c] = g.value(name)
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("shadowserver: generate: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("shadowserver: generate: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("shadowserver: generate: %w", err)
	}
	return nil
}

// rowGen makes the values of one row; values that belong together (the
// address and its host name, the port and the protocol) are chosen once
// per row in begin.
type rowGen struct {
	rng       *rand.Rand
	spec      *synthetic
	prefixes  []netip.Prefix
	sinkholes netip.Prefix
	ts        time.Time
	ip        netip.Addr
	port      int
	host      string
	asn       int
	geo       int
	malware   string
}

var (
	countries = []struct{ cc, region, city string }{
		{"BE", "Brussels Capital", "Brussels"}, {"BE", "Flanders", "Ghent"}, {"BE", "Wallonia", "Liege"},
		{"NL", "North Holland", "Amsterdam"}, {"FR", "Ile-de-France", "Paris"}, {"DE", "Hesse", "Frankfurt"},
	}
	sectors   = []string{"Education", "Government", "Healthcare", "Research", "Communications, Service Provider, and Hosting"}
	severity  = []string{"high", "medium", "low", "critical"}
	malware   = []string{"andromeda", "mirai", "qsnatch", "emotet", "necurs"}
	usernames = []string{"root", "admin", "user", "ubnt", "pi"}
)

func (g *rowGen) begin(ts time.Time) {
	g.ts = ts
	g.ip = randomAddr(g.rng, g.prefixes[g.rng.IntN(len(g.prefixes))])
	if len(g.spec.ports) > 0 {
		g.port = g.spec.ports[g.rng.IntN(len(g.spec.ports))]
	}
	g.host = ""
	if g.rng.IntN(3) > 0 {
		g.host = fmt.Sprintf("host-%d.example.net", g.rng.IntN(100000))
	}
	g.asn = 64496 + g.rng.IntN(16) // RFC 5398 documentation ASNs
	g.geo = g.rng.IntN(len(countries))
	g.malware = malware[g.rng.IntN(len(malware))]
}

func (g *rowGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *rowGen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *rowGen) value(column string) string {
	switch column {
	case "timestamp":
		return g.ts.UTC().Format("2006-01-02 15:04:05")
	case "ip", "src_ip":
		return g.ip.String()
	case "dst_ip":
		return randomAddr(g.rng, g.sinkholes).String()
	case "port", "dst_port":
		return strconv.Itoa(g.port)
	case "src_port":
		return strconv.Itoa(1024 + g.rng.IntN(64000))
	case "protocol":
		return g.spec.transport
	case "hostname", "src_hostname":
		return g.host
	case "asn", "src_asn":
		return strconv.Itoa(g.asn)
	case "dst_asn":
		return "64511"
	case "geo", "src_geo":
		return countries[g.geo].cc
	case "region", "src_region":
		return countries[g.geo].region
	case "city", "src_city":
		return countries[g.geo].city
	case "dst_geo":
		return "NL"
	case "naics", "src_naics":
		return g.pick([]string{"0", "611310", "517311", "921110"})
	case "sector", "src_sector":
		return g.pick(sectors)
	case "severity":
		return g.pick(severity)
	case "tag":
		return g.pick(g.spec.tags)
	case "hostname_source":
		if g.host != "" {
			return "ptr"
		}
		return ""
	case "infection", "family":
		return g.malware
	case "application":
		switch g.port {
		case 443:
			return "https"
		case 22:
			return "ssh"
		case 23:
			return "telnet"
		}
		return "http"
	case "public_source":
		return "synthetic"
	case "event_id", "server_cookie":
		return g.hex(16)
	case "handshake", "ssl_version":
		return g.pick([]string{"TLSv1.2", "TLSv1.3", "TLSv1.0"})
	case "rdp_protocol":
		return g.pick([]string{"RDP", "CredSSP", "SSL"})
	case "cert_length":
		return g.pick([]string{"2048", "4096", "1024"})
	case "subject_common_name", "issuer_common_name":
		return fmt.Sprintf("srv%d.example.org", g.rng.IntN(1000))
	case "cert_issue_date":
		return g.ts.AddDate(-1, 0, 0).Format("2006-01-02 15:04:05")
	case "cert_expiration_date":
		return g.ts.AddDate(1, 0, 0).Format("2006-01-02 15:04:05")
	case "sha1_fingerprint":
		return g.hex(40)
	case "sha256_fingerprint", "server_host_key_sha256", "jarm":
		return g.hex(64)
	case "md5_fingerprint", "payload_md5", "hassh":
		return g.hex(32)
	case "cert_serial_number":
		return g.hex(20)
	case "signature_algorithm":
		return "sha256WithRSAEncryption"
	case "key_algorithm":
		return "rsaEncryption"
	case "tlsv13_support", "ssl_poodle", "freak_vulnerable", "self_signed", "cert_expired", "cert_valid", "browser_trusted":
		return g.pick([]string{"Y", "N"})
	case "banner":
		// Commas and quotes make the writer quote the cell, as real
		// banners do.
		return g.pick([]string{"Ubuntu 22.04 LTS\\r\\nlogin:", "BusyBox v1.31.1, \"router\" login:", "User Access Verification"})
	case "arch":
		return "x86_64"
	case "smb_major_number":
		return g.pick([]string{"1", "2", "3"})
	case "smb_minor_number", "smb_revision":
		return strconv.Itoa(g.rng.IntN(4))
	case "smb_version_string":
		return g.pick([]string{"SMB 2.1", "SMB 3.0.2", "SMB 1"})
	case "serverid_raw":
		return "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6"
	case "serverid_version":
		return "2.0"
	case "serverid_software":
		return "OpenSSH_8.9p1"
	case "available_kex":
		return "curve25519-sha256,diffie-hellman-group14-sha256"
	case "available_ciphers":
		return "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com"
	case "selected_kex":
		return "curve25519-sha256"
	case "selected_cipher":
		return "aes256-gcm@openssh.com"
	case "userauth_methods":
		return "publickey,password"
	case "version":
		switch g.spec.transport {
		case "udp":
			return g.pick([]string{"2", "3", "4"})
		}
		return g.pick([]string{"", "1.1", "2.4.57"})
	case "stratum":
		return strconv.Itoa(1 + g.rng.IntN(15))
	case "refid":
		return "192.0.2.123"
	case "system":
		return g.pick([]string{"Linux/5.15.0", "UNIX", "cisco"})
	case "response_size":
		return strconv.Itoa(400 + g.rng.IntN(1000))
	case "amplification", "min_amplification":
		return strconv.FormatFloat(float64(1+g.rng.IntN(5000))/100, 'f', 2, 64)
	case "dns_version":
		return g.pick([]string{"9.16.1-Ubuntu", "unbound 1.17.1", ""})
	case "sysname":
		return fmt.Sprintf("sw-%d", g.rng.IntN(500))
	case "sysdesc":
		return g.pick([]string{"Cisco IOS Software, C2960 Software", "Linux gw 5.10.0 #1 SMP armv7l", "HP ETHERNET MULTI-ENVIRONMENT"})
	case "community":
		return "public"
	case "uptime":
		return strconv.Itoa(g.rng.IntN(10000000))
	case "mac_address":
		return fmt.Sprintf("00:00:5e:00:53:%02x", g.rng.IntN(256)) // RFC 7042 documentation MACs
	case "http":
		return "HTTP/1.1"
	case "http_code":
		return g.pick([]string{"200", "401", "403", "404"})
	case "http_reason":
		return "OK"
	case "content_type":
		return "text/html"
	case "server", "server_type":
		return g.pick([]string{"nginx", "Apache/2.4.57 (Debian)", "lighttpd/1.4.59"})
	case "content_length":
		return strconv.Itoa(g.rng.IntN(50000))
	case "http_date":
		return g.ts.Format(time.RFC1123)
	case "http_url":
		return g.pick([]string{"/gate.php", "GET /index.php?id=1 HTTP/1.1", "/wp-content/plugins/x.php"})
	case "http_host":
		return fmt.Sprintf("c2-%d.example.com", g.rng.IntN(50))
	case "http_agent":
		return g.pick([]string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64)", "python-requests/2.31"})
	case "ssl_servername":
		if g.port == 443 {
			return fmt.Sprintf("dga-%s.example.com", g.hex(8))
		}
		return ""
	case "service":
		if g.port == 22 {
			return "ssh"
		}
		return "telnet"
	case "start_time":
		return g.ts.Add(-time.Minute).Format("2006-01-02 15:04:05")
	case "end_time":
		return g.ts.Format("2006-01-02 15:04:05")
	case "client_version":
		return "SSH-2.0-Go"
	case "username":
		return g.pick(usernames)
	case "password":
		return g.pick([]string{"admin", "123456", "raspberry"})
	case "url":
		return g.pick([]string{"/", "/wp-login.php", "/shop/checkout.js"})
	case "category":
		return g.pick([]string{"skimmer", "defacement", "phishing"})
	case "detected_since":
		return g.ts.AddDate(0, 0, -3).Format("2006-01-02 15:04:05")
	case "status":
		return "active"
	case "source":
		return "synthetic-blocklist"
	case "reason":
		return g.pick([]string{"scanning", "spam", "c2"})
	}
	return ""
}

// randomAddr picks an address inside p.
func randomAddr(rng *rand.Rand, p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().AsSlice()
	hostBits := len(b)*8 - p.Bits()
	for i := len(b) - 1; i >= 0 && hostBits > 0; i-- {
		bits := min(hostBits, 8)
		mask := byte(1<<bits - 1)
		b[i] = b[i]&^mask | byte(rng.IntN(256))&mask
		hostBits -= bits
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
