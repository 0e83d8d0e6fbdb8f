// Package parser turns the feeds a CERT gathers (abuse.ch, Spamhaus,
// phishing feeds, Cowrie honeypots, IntelMQ exports, any CSV or plain
// list) into harmonized events. Shadowserver reports have their own
// package.
//
// Every parser registers itself with pipeline.RegisterParser under its ID
// and shares the same rules:
//
//   - It streams: input is read line by line (a PhishTank JSON array entry
//     by entry), never held whole. A line over MaxLineLength is rejected
//     with its first bytes, not read into memory.
//   - Every non-blank line becomes exactly one event or one reject, except
//     lines that carry no observation by design: comments, header rows,
//     Spamhaus's JSON metadata line and the Cowrie eventids listed on
//     Cowrie. A reject's reason names the line number and the field
//     ("line 7: column dateadded: field time.source: …").
//   - Values go through event.Set, so they are validated and normalized the
//     same way whatever the feed.
//   - Each event keeps its source line as raw, and carries
//     classification.type, the taxonomy that type belongs to, and where the
//     feed tells one, classification.identifier and time.source. Parsers
//     leave time.observation and feed.* to the pipeline runner (the intelmq
//     parser keeps those the imported events already carry).
//   - Parsers keep no state between inputs, so one instance may parse
//     several inputs at once.
//
// Identifiers: the malware family for Feodo Tracker, URLhaus's threat
// (malware_download), the eventid for Cowrie, spamhaus-drop or
// spamhaus-edrop, phishtank and openphish, and the configured ones for
// csv and list.
package parser
