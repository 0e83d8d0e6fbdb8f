package collector

//lint:file-ignore ST1005 "Reports API" is the name of Shadowserver's service, so its errors begin with a capital.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// ShadowserverSignatureHeader carries the request's HMAC-SHA256, in hex,
// of the exact request body under the API secret.
const ShadowserverSignatureHeader = "HMAC2"

// SignShadowserverRequest returns the signature Shadowserver's Reports API
// expects for body: HMAC-SHA256 under the secret, in lower-case hex.
func SignShadowserverRequest(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// call POSTs a signed request to one API method. The API key is added to
// request. A status outside 2xx is returned as a *ReportsAPIError; an
// error object in a 200 answer is for the caller to recognise, as only it
// knows what a good answer looks like.
func (c *ShadowserverAPI) call(ctx context.Context, method string, request map[string]any) (*http.Response, error) {
	request["apikey"] = c.cfg.APIKey
	// The signature covers these exact bytes, so they are sent as they
	// were signed.
	body, err := json.Marshal(request)
	if err != nil {
		return nil, i18n.Wrap(err, "collector.shadowserver.call", method)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BaseURL+method, bytes.NewReader(body))
	if err != nil {
		return nil, i18n.Wrap(err, "collector.shadowserver.call", method)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ShadowserverSignatureHeader, SignShadowserverRequest(c.cfg.Secret, body))
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, i18n.Wrap(err, "collector.shadowserver.call", method)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, c.refusal(method, resp.StatusCode, apiMessage(raw))
	}
	return resp, nil
}

// errorAnswer returns the API's refusal when raw is an error object such
// as {"error":"..."}, else nil.
func (c *ShadowserverAPI) errorAnswer(method string, status int, raw []byte) error {
	var answer struct {
		Error *string `json:"error"`
	}
	if json.Unmarshal(raw, &answer) != nil || answer.Error == nil {
		return nil
	}
	return c.refusal(method, status, *answer.Error)
}

// refuseErrorAnswer returns the body of a download, or the API's refusal
// when the body is an error object rather than a report. A report never
// starts with {"error": a CSV starts with its header, a JSON report with
// an array or a row, whose first key is its timestamp.
func (c *ShadowserverAPI) refuseErrorAnswer(resp *http.Response, method string) (io.Reader, error) {
	br := bufio.NewReaderSize(resp.Body, 4<<10)
	head, _ := br.Peek(512) // a shorter body gives what there is
	if !startsErrorObject(head) {
		return br, nil
	}
	raw, err := io.ReadAll(io.LimitReader(br, 64<<10))
	if err != nil {
		return nil, i18n.Wrap(err, "collector.shadowserver.answer.read")
	}
	if apiErr := c.errorAnswer(method, resp.StatusCode, raw); apiErr != nil {
		return nil, apiErr
	}
	return io.MultiReader(bytes.NewReader(raw), br), nil
}

// startsErrorObject tells whether head begins a JSON object whose first
// key is "error".
func startsErrorObject(head []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(head))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	tok, err := dec.Token()
	return err == nil && tok == "error"
}

// apiMessage is the API's own words in a refusal: the error field of a
// JSON answer, else the start of the body.
func apiMessage(raw []byte) string {
	var answer struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &answer) == nil && answer.Error != "" {
		return answer.Error
	}
	msg := strings.TrimSpace(string(raw))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// methodDownloadLink stands for the download link that reports/list gave
// where a ReportsAPIError names the API method that refused.
const methodDownloadLink = "the download link"

// ReportsAPIError is a request the Reports API refused.
type ReportsAPIError struct {
	Method string
	// Status is the HTTP status of the answer (200 for an error object
	// in a normal answer).
	Status int
	// Message is the API's own words, with any credential removed.
	Message string
	kind    refusalKind
}

type refusalKind int

const (
	refusedOther refusalKind = iota
	refusedSignature
	refusedKey
	refusedCredentials
)

// Credentials tells whether the refusal concerns the API key or secret,
// so that every further request would be refused as well.
func (e *ReportsAPIError) Credentials() bool { return e.kind != refusedOther }

func (e *ReportsAPIError) Error() string { return e.Explain().String() }

// Explain says the refusal in the reader's language, the API's own words
// quoted as they came (less any credential: refusal removed it).
func (e *ReportsAPIError) Explain() i18n.Message {
	id := "collector.shadowserver.refused"
	switch e.kind {
	case refusedSignature:
		id = "collector.shadowserver.refused.signature"
	case refusedKey:
		id = "collector.shadowserver.refused.key"
	case refusedCredentials:
		id = "collector.shadowserver.refused.credentials"
	}
	answer := i18n.M("collector.shadowserver.answer", e.Status)
	if e.Message != "" {
		answer = i18n.M("collector.shadowserver.answer.words", e.Status, e.Message)
	}
	var method any = e.Method
	if e.Method == methodDownloadLink {
		method = i18n.M("collector.shadowserver.link")
	}
	return i18n.M(id, method, answer)
}

// refusal classifies a refusal by the API's words and status.
func (c *ShadowserverAPI) refusal(method string, status int, message string) *ReportsAPIError {
	message = c.redact(message)
	lower := strings.ToLower(message)
	kind := refusedOther
	switch {
	case strings.Contains(lower, "hmac") || strings.Contains(lower, "signature") || strings.Contains(lower, "secret"):
		kind = refusedSignature
	case strings.Contains(lower, "key"):
		kind = refusedKey
	case status == http.StatusUnauthorized || status == http.StatusForbidden ||
		strings.Contains(lower, "auth") || strings.Contains(lower, "denied") || strings.Contains(lower, "permission"):
		kind = refusedCredentials
	}
	return &ReportsAPIError{Method: method, Status: status, Message: message, kind: kind}
}

// redact removes the API key and the secret from a message that may be
// shown or logged: an API that echoes the request must not put them on
// the feeds page.
func (c *ShadowserverAPI) redact(msg string) string {
	for _, credential := range []string{c.cfg.Secret, c.cfg.APIKey} {
		if len(credential) >= 4 {
			msg = strings.ReplaceAll(msg, credential, "[redacted]")
		}
	}
	return msg
}

// redactError returns err with the API key and the secret removed from
// its text and from its message's arguments (i18n.Message.Replace), so
// that neither the feed's last error, a feed run's problem nor the
// message said in any language holds them. It is what Fetch returns:
// the errors below it quote outside text (an API's answer, a link it
// listed, a transport's reason) that may echo a credential.
func (c *ShadowserverAPI) redactError(err error) error {
	if err == nil {
		return nil
	}
	m, _ := i18n.Said(err)
	return &redactedError{text: c.redact(err.Error()), message: m.Replace(c.redact), err: err}
}

// redactedError is an error whose text and message had the credentials
// removed; the chain below it is kept for errors.Is and errors.As.
type redactedError struct {
	text    string
	message i18n.Message
	err     error
}

func (e *redactedError) Error() string         { return e.text }
func (e *redactedError) Explain() i18n.Message { return e.message }
func (e *redactedError) Unwrap() error         { return e.err }

// credential reads the credential option name given directly, from an
// environment variable (name_env) or from a file (name_file): exactly one
// of them. Messages name the variable or the file, never the value.
func credential(name, direct, envName, file string) (string, error) {
	given := 0
	for _, v := range []string{direct, envName, file} {
		if v != "" {
			given++
		}
	}
	switch {
	case given == 0:
		return "", pipeline.OptionProblem("collector.credential.missing", name, name, name, name)
	case given > 1:
		return "", pipeline.OptionProblem("collector.credential.several", name, name, name)
	case envName != "":
		v := strings.TrimSpace(os.Getenv(envName))
		if v == "" {
			return "", pipeline.OptionProblem("collector.credential.env", name+"_env", envName)
		}
		return v, nil
	case file != "":
		raw, err := os.ReadFile(file)
		if err != nil {
			return "", pipeline.FileOptionError(name+"_file", file, err)
		}
		v := strings.TrimSpace(string(raw))
		if v == "" {
			return "", pipeline.OptionProblem("collector.credential.fileempty", name+"_file", file)
		}
		return v, nil
	}
	return direct, nil
}
