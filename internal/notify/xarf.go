package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// XARFVersion is the value of Version in the X-ARF reports. X-ARF's JSON
// generation ("XARF v4", github.com/abusix/xarf, ReporterInfo and
// Report{ReportClass, ReportType, …}) numbers its schema releases 1, 2 and
// 3, and a report validates only against the release its Version names:
// "3" is the newest release, so it is what the reports say.
const XARFVersion = "3"

// xarfClass is the X-ARF ReportClass and ReportType for an RSIT type, with
// what its schema requires or allows (see xarfReport).
type xarfClass struct {
	Class, Type string
	// destination: the schema has DestinationIp and DestinationPort.
	destination bool
	// service: OpenService, which needs a ServiceName.
	service bool
}

// xarfTypes maps RSIT classification types to X-ARF types. The mapping
// keeps to what an X-ARF type means:
//
//	vulnerable-system, potentially-unwanted-accessible, ddos-amplifier,
//	information-disclosure, weak-crypto → Vulnerability/OpenService
//	infected-system, c2-server           → Content/Botnet
//	malware-distribution                 → Content/Malware
//	phishing                             → Content/Phishing
//	brute-force                          → Activity/LoginAttack
//	scanner                              → Activity/PortScan
//	dos, ddos                            → Activity/DOS
//	exploit                              → Activity/Exploit
//	spam                                 → Activity/Spam
//
// Other types (system-compromise, blacklist, …) have no X-ARF type; their
// reports say ReportClass Activity and the RSIT type as ReportType, which
// X-ARF's base schema accepts but no type schema does.
var xarfTypes = map[string]xarfClass{
	"vulnerable-system":               {Class: "Vulnerability", Type: "OpenService", service: true},
	"potentially-unwanted-accessible": {Class: "Vulnerability", Type: "OpenService", service: true},
	"ddos-amplifier":                  {Class: "Vulnerability", Type: "OpenService", service: true},
	"information-disclosure":          {Class: "Vulnerability", Type: "OpenService", service: true},
	"weak-crypto":                     {Class: "Vulnerability", Type: "OpenService", service: true},
	"infected-system":                 {Class: "Content", Type: "Botnet"},
	"c2-server":                       {Class: "Content", Type: "Botnet"},
	"malware-distribution":            {Class: "Content", Type: "Malware"},
	"phishing":                        {Class: "Content", Type: "Phishing"},
	"brute-force":                     {Class: "Activity", Type: "LoginAttack", destination: true},
	"scanner":                         {Class: "Activity", Type: "PortScan", destination: true},
	"dos":                             {Class: "Activity", Type: "DOS", destination: true},
	"ddos":                            {Class: "Activity", Type: "DOS", destination: true},
	"exploit":                         {Class: "Activity", Type: "Exploit", destination: true},
	"spam":                            {Class: "Activity", Type: "Spam", destination: true},
}

// xarfReporter is ReporterInfo: the team, from the sender address.
type xarfReporter struct {
	ReporterOrg       string
	ReporterOrgDomain string
	ReporterOrgEmail  string
}

// xarfReport builds the X-ARF report of one event. Every field is filled
// from the event only when the event has it:
//
//	Date              time.source (else time.observation, else when stored)
//	SourceIp, SourcePort, ASN      source.ip, source.port, source.asn
//	SourceUrl         source.url (Content types and OpenService)
//	DestinationIp, DestinationPort destination.ip, destination.port (Activity types)
//	TransportProtocol protocol.transport when tcp or udp
//	ServiceName       protocol.application, else classification.identifier (OpenService)
//	BotnetName        malware.name (Botnet); MalwareName malware.name (Malware)
//	ReportSubType     classification.identifier
//	ReporterCaseID    the event's hash, to refer back to it
//	ReporterNotes     event_description.text
//	Custom            classification.taxonomy, classification.type, feed.name, tlp
func xarfReport(se store.StoredEvent, reporter xarfReporter) ([]byte, error) {
	e := se.Event
	typ := e.Value("classification.type")
	class, ok := xarfTypes[typ]
	if !ok {
		class = xarfClass{Class: "Activity", Type: typ}
		if typ == "" {
			class.Type = "Other"
		}
	}
	report := map[string]any{
		"ReportClass":    class.Class,
		"ReportType":     class.Type,
		"Date":           xarfDate(se),
		"ReporterCaseID": hashOf(se).String(),
	}
	setString := func(name, field string) {
		if v, ok := e.Get(field); ok {
			report[name] = v
		}
	}
	setInt := func(name, field string) {
		if v, ok := e.Get(field); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				report[name] = n
			}
		}
	}
	setString("SourceIp", "source.ip")
	setInt("SourcePort", "source.port")
	setInt("ASN", "source.asn")
	if class.Class != "Activity" {
		setString("SourceUrl", "source.url")
	}
	if class.destination {
		setString("DestinationIp", "destination.ip")
		setInt("DestinationPort", "destination.port")
	}
	if t := e.Value("protocol.transport"); t == "tcp" || t == "udp" {
		report["TransportProtocol"] = t
	}
	if class.service {
		name := e.Value("protocol.application")
		if name == "" {
			name = e.Value("classification.identifier")
		}
		if name == "" {
			name = typ
		}
		report["ServiceName"] = name
	}
	switch class.Type {
	case "Botnet":
		setString("BotnetName", "malware.name")
	case "Malware":
		setString("MalwareName", "malware.name")
	}
	setString("ReportSubType", "classification.identifier")
	setString("ReporterNotes", "event_description.text")
	custom := map[string]any{}
	for _, f := range []string{"classification.taxonomy", "classification.type", "feed.name", "tlp"} {
		if v, ok := e.Get(f); ok {
			custom[f] = v
		}
	}
	if len(custom) > 0 {
		report["Custom"] = custom
	}
	doc := map[string]any{
		"Version":      XARFVersion,
		"ReporterInfo": reporter,
		// Disclosure: the team is known to the constituent it reports to.
		"Disclosure": true,
		"Report":     report,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("x-arf report: %w", err)
	}
	return b.Bytes(), nil
}

func xarfDate(se store.StoredEvent) string {
	for _, f := range []string{"time.source", "time.observation"} {
		if t, ok := se.Event.Time(f); ok {
			return t.UTC().Format(time.RFC3339)
		}
	}
	if !se.Stored.IsZero() {
		return se.Stored.UTC().Format(time.RFC3339)
	}
	return time.Unix(0, 0).UTC().Format(time.RFC3339)
}

func reporterOf(t TeamData) xarfReporter {
	_, domain, _ := strings.Cut(t.Email, "@")
	name := t.Name
	if len(name) < 3 { // the schema wants at least three characters
		name = domain
	}
	return xarfReporter{ReporterOrg: name, ReporterOrgDomain: domain, ReporterOrgEmail: t.Email}
}

func hashOf(se store.StoredEvent) event.Hash {
	if se.Hash == (event.Hash{}) && se.Event != nil {
		return se.Event.Hash()
	}
	return se.Hash
}
