package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/incident/mailreport"
	"github.com/vigil-cert/vigil/internal/mailin"
	"github.com/vigil-cert/vigil/internal/store"
)

// This file is the public report form (issue 12): /report, where anyone
// tells the team what happened without an account, and the private
// status page each report's link opens. Spam is held off without third
// parties: a honeypot field, a signed form-age stamp and a per-client
// limit on reports.

// ReportForm configures the public report form. Zero fields take their
// defaults.
type ReportForm struct {
	// Service receives the reports. Nil: a Service on the console's Store
	// when it keeps incidents (database.DB does); the form is not served
	// when there is neither.
	Service *incident.Service
	// Elsewhere says where to go instead of the team (the police, the
	// computer crime unit), by language code; a language without its own
	// text gets the catalogue's.
	Elsewhere map[string]string
	// MaxFiles and MaxFileBytes bound the attachments of one report.
	MaxFiles     int
	MaxFileBytes int64
	// PerClient is how many reports one client address may send before
	// each further one has to wait (5 minutes, doubling up to 2 hours;
	// forgotten after 6 quiet hours). Limiter replaces that policy.
	PerClient int
	Limiter   *auth.Limiter
	// MinAge and MaxAge bound the time between opening the form and
	// sending it: a robot sends at once, and a stamp a day old is stale.
	MinAge, MaxAge time.Duration
	// From is the sender of the acknowledgement a reporter who gives an
	// e-mail address receives (notify.from); empty sends none.
	From string
	// PublicURL is how reporters reach Vigil, for the status link in the
	// acknowledgement; empty: the scheme and host the form was sent to.
	PublicURL string
	// Queue is the outbox the acknowledgement is queued in; nil: the
	// Store's when it keeps one.
	Queue MessageQueue
}

// Defaults of ReportForm.
const (
	defaultReportFiles     = 5
	defaultReportFileBytes = 5 << 20
	defaultReportPerClient = 5
	defaultReportMinAge    = 2 * time.Second
	defaultReportMaxAge    = 24 * time.Hour
)

// reportAccount is the name the form's limiter counts reports under: one
// name, so that the limit is per client address.
const reportAccount = "report-form"

// Message IDs of the report form's pages.
const (
	msgTitleReport         = "title.report"
	msgTitleReportDone     = "title.report.done"
	msgTitleReportStatus   = "title.report.status"
	msgReportNotFound      = "reportform.status.notfound"
	msgReportErrKind       = "reportform.error.kind"
	msgReportErrText       = "reportform.error.text"
	msgReportErrEmail      = "reportform.error.email"
	msgReportErrFiles      = "reportform.error.files"
	msgReportErrFileSize   = "reportform.error.filesize"
	msgReportErrFileType   = "reportform.error.filetype"
	msgReportErrTooLarge   = "reportform.error.toolarge"
	msgReportErrTooQuick   = "reportform.error.tooquick"
	msgReportErrTooOld     = "reportform.error.tooold"
	msgReportErrThrottled  = "reportform.error.throttled"
	msgReportErrFilesAgain = "reportform.error.filesagain"
	msgReportElsewhere     = "reportform.elsewhere.default"
)

// reportForm is the running form: its settings with defaults, the key
// that signs form stamps and the count of discarded robot posts.
type reportForm struct {
	cfg       ReportForm
	service   *incident.Service
	queue     MessageQueue
	limiter   *auth.Limiter
	stampKey  []byte
	discarded atomic.Int64
}

func newReportForm(cfg ReportForm, st Store) (*reportForm, error) {
	if cfg.MaxFiles <= 0 {
		cfg.MaxFiles = defaultReportFiles
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = defaultReportFileBytes
	}
	if cfg.PerClient <= 0 {
		cfg.PerClient = defaultReportPerClient
	}
	if cfg.MinAge == 0 {
		cfg.MinAge = defaultReportMinAge
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = defaultReportMaxAge
	}
	f := &reportForm{cfg: cfg, service: cfg.Service, queue: cfg.Queue, limiter: cfg.Limiter, stampKey: make([]byte, 32)}
	if f.queue == nil {
		f.queue = outboxOf(st)
	}
	if _, err := rand.Read(f.stampKey); err != nil {
		return nil, err
	}
	if f.service == nil {
		if cs, ok := st.(incident.CaseStore); ok {
			f.service = &incident.Service{Store: cs, Audit: st}
		}
	}
	if f.limiter == nil {
		p := auth.DefaultLimitPolicy()
		p.PairFailures, p.AddressFailures = cfg.PerClient, cfg.PerClient
		p.FirstDelay, p.MaxDelay, p.Forget = 5*time.Minute, 2*time.Hour, 6*time.Hour
		f.limiter = auth.NewLimiter(p)
	}
	return f, nil
}

// maxBody is the largest body the form reads: every file at its limit
// and the text around them.
func (f *reportForm) maxBody() int64 {
	return int64(f.cfg.MaxFiles)*f.cfg.MaxFileBytes + incident.MaxTextBytes + 64<<10
}

func (c *Console) reportRoutes(m *http.ServeMux) {
	if c.reports == nil || c.reports.service == nil {
		return
	}
	m.HandleFunc("GET /report", c.anonymous(c.publicPage(c.reportPage)))
	m.HandleFunc("POST /report", c.anonymous(c.publicPage(c.submitReport)))
	m.HandleFunc("GET /report/status/{tracking}", c.anonymous(c.publicPage(c.reportStatus)))
}

// publicPage lets ?lang= (or the form's lang field) choose the language
// of a public page, for a reporter whose browser says another one.
func (c *Console) publicPage(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, v *visit) {
		if lang := r.URL.Query().Get("lang"); c.catalog.Supported(lang) {
			v.lang = lang
		}
		h(w, r, v)
	}
}

// reportFormPage is the data of the form.
type reportFormPage struct {
	Kinds     []reportKindChoice
	Concerned string
	Text      string
	Name      string
	Email     string
	Phone     string
	Stamp     string
	// Elsewhere is where to go instead of the team, in the page's
	// language.
	Elsewhere string
	Languages []languageLink
	MaxFiles  int
	MaxFileMB int64
	// Problems are the refusals of a post, translated.
	Problems []string
}

// reportKindChoice is one kind on the form, with its tips.
type reportKindChoice struct {
	Value   string
	Label   string // message ID
	Tips    string // message ID
	Checked bool
}

// languageLink offers the page in another language.
type languageLink struct {
	Code, Name string
	Current    bool
}

func (c *Console) newReportFormPage(v *visit, kind string) reportFormPage {
	p := reportFormPage{
		Stamp:     c.reports.stamp(c.now()),
		Elsewhere: c.reports.cfg.Elsewhere[v.lang],
		MaxFiles:  c.reports.cfg.MaxFiles,
		MaxFileMB: c.reports.cfg.MaxFileBytes >> 20,
	}
	if p.Elsewhere == "" {
		p.Elsewhere = c.catalog.T(v.lang, msgReportElsewhere)
	}
	for _, k := range incident.Kinds {
		p.Kinds = append(p.Kinds, reportKindChoice{Value: string(k), Label: incident.KindKey(k),
			Tips: "reportform.tips." + string(k) + ".text", Checked: string(k) == kind})
	}
	for _, l := range c.catalog.Languages() {
		p.Languages = append(p.Languages, languageLink{Code: l.Code, Name: l.Name, Current: l.Code == v.lang})
	}
	return p
}

func (c *Console) reportPage(w http.ResponseWriter, r *http.Request, v *visit) {
	c.render(w, r, v, http.StatusOK, "report", msgTitleReport, c.newReportFormPage(v, r.URL.Query().Get("kind")), "", "")
}

// refuseReport shows the form again with what was written and why it was
// refused.
func (c *Console) refuseReport(w http.ResponseWriter, r *http.Request, v *visit, status int, p reportFormPage, problems ...string) {
	p.Problems = problems
	c.render(w, r, v, status, "report", msgTitleReport, p, "", "")
}

// submitReport receives a filled-in form.
func (c *Console) submitReport(w http.ResponseWriter, r *http.Request, v *visit) {
	r.Body = http.MaxBytesReader(w, r.Body, c.reports.maxBody())
	err := parseBody(r)
	if lang := r.PostFormValue("lang"); c.catalog.Supported(lang) {
		v.lang = lang
	}
	p := c.newReportFormPage(v, r.PostFormValue("kind"))
	if tooLarge(err) {
		c.refuseReport(w, r, v, http.StatusRequestEntityTooLarge, p,
			c.catalog.T(v.lang, msgReportErrTooLarge, c.reports.maxBody()>>20))
		return
	}
	// A signed-in visitor's page carries the session's token (render),
	// anyone else's the form token.
	if token := r.PostFormValue("csrf"); v.signedIn() && !auth.CheckCSRF(v.session, token) ||
		!v.signedIn() && !c.sessions.CheckFormToken(r, token) {
		c.forbiddenCSRF(w, r, v)
		return
	}
	p.Concerned, p.Text = strings.TrimSpace(r.PostFormValue("concerned")), strings.TrimSpace(r.PostFormValue("text"))
	p.Name, p.Email, p.Phone = strings.TrimSpace(r.PostFormValue("name")), strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("phone"))

	attempt, err := c.reports.limiter.Begin(reportAccount, reportClient(r))
	if err != nil {
		minutes := 1
		var te *auth.ThrottledError
		if errors.As(err, &te) {
			minutes = te.RetryMinutes()
			w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		}
		c.refuseReport(w, r, v, http.StatusTooManyRequests, p, c.catalog.Plural(v.lang, msgReportErrThrottled, minutes))
		return
	}
	// A robot fills in every field, the hidden one too: it is thanked
	// like a person, and nothing is kept.
	if r.PostFormValue("website") != "" {
		c.reports.limiter.Failed(attempt)
		n := c.reports.discarded.Add(1)
		c.logger.Info("report form: honeypot filled, report discarded", "client", reportClient(r), "discarded", n)
		c.render(w, r, v, http.StatusOK, "report_done", msgTitleReportDone, reportDonePage{}, "", "")
		return
	}
	if msg := c.reports.checkStamp(r.PostFormValue("stamp"), c.now()); msg != "" {
		// Counted: a robot that skips the form's page sends at once.
		c.reports.limiter.Failed(attempt)
		c.refuseReport(w, r, v, http.StatusBadRequest, p, c.filesAgain(v, r, c.catalog.T(v.lang, msg))...)
		return
	}
	rep, problems := c.readReport(r, v, p)
	if len(problems) > 0 {
		c.reports.limiter.Passed(attempt) // a person's mistake is no report
		c.refuseReport(w, r, v, http.StatusBadRequest, p, problems...)
		return
	}
	receipt, err := c.reports.service.Receive(r.Context(), rep)
	var ie *incident.InputError
	if errors.As(err, &ie) {
		c.reports.limiter.Passed(attempt)
		c.refuseReport(w, r, v, http.StatusBadRequest, p, c.filesAgain(v, r, ie.Message.In(c.catalog, v.lang))...)
		return
	}
	if err != nil {
		c.reports.limiter.Passed(attempt)
		c.fail(w, r, v, err)
		return
	}
	c.reports.limiter.Failed(attempt)
	page := reportDonePage{Tracking: receipt.Tracking, Link: statusLink(receipt.Tracking, receipt.Token, v.lang), Origin: origin(r)}
	base := strings.TrimSuffix(c.reports.cfg.PublicURL, "/")
	if base == "" {
		base = page.Origin
	}
	c.acknowledge(r.Context(), rep, receipt, base+page.Link)
	c.render(w, r, v, http.StatusOK, "report_done", msgTitleReportDone, page, "", "")
}

// reportClient is what the form's limit counts reports against: the
// client address login throttling uses, or for IPv6 its /64, which one
// subscriber commonly holds whole.
func reportClient(r *http.Request) string {
	if a := auth.ClientAddr(r); a.Is6() && !a.Is4In6() {
		return netip.PrefixFrom(a.WithZone(""), 64).Masked().String()
	}
	return auth.ClientAddress(r)
}

// filesAgain adds, to a refusal of a post that carried files, that the
// files must be chosen again (a browser never fills in a file field).
func (c *Console) filesAgain(v *visit, r *http.Request, msg string) []string {
	out := []string{msg}
	if r.MultipartForm != nil && len(r.MultipartForm.File["files"]) > 0 {
		out = append(out, c.catalog.T(v.lang, msgReportErrFilesAgain))
	}
	return out
}

// statusLink is the path of a report's private status page.
func statusLink(tracking, token, lang string) string {
	q := url.Values{"t": {token}, "lang": {lang}}
	return "/report/status/" + url.PathEscape(tracking) + "?" + q.Encode()
}

// reportDonePage is the data of the answer to a sent form; empty for a
// discarded robot's post.
type reportDonePage struct {
	Tracking string
	Link     string
	// Origin is the scheme and host the link is on, for the full
	// address to copy.
	Origin string
}

// origin is the scheme and host the request reached, as the browser
// wrote them.
func origin(r *http.Request) string {
	if auth.IsHTTPS(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// readReport builds the report a valid post describes, its attachments
// stored already; otherwise it returns why not, translated.
func (c *Console) readReport(r *http.Request, v *visit, p reportFormPage) (*incident.Report, []string) {
	var problems []string
	kind := incident.Kind(r.PostFormValue("kind"))
	if !kind.Valid() {
		problems = append(problems, c.catalog.T(v.lang, msgReportErrKind))
	}
	if p.Text == "" {
		problems = append(problems, c.catalog.T(v.lang, msgReportErrText))
	}
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
			problems = append(problems, c.catalog.T(v.lang, msgReportErrEmail, p.Email))
		}
	}
	files, fileProblems := c.reportFiles(r, v)
	problems = append(problems, fileProblems...)
	if len(problems) > 0 {
		if r.MultipartForm != nil && len(r.MultipartForm.File["files"]) > 0 {
			problems = append(problems, c.catalog.T(v.lang, msgReportErrFilesAgain))
		}
		return nil, problems
	}
	rep := &incident.Report{
		Channel:   incident.ChannelWeb,
		Kind:      kind,
		Received:  c.now(),
		Reporter:  incident.Reporter{Name: p.Name, Email: p.Email, Phone: p.Phone},
		Language:  v.lang,
		Text:      p.Text,
		Concerned: p.Concerned,
		// The URL or sender first: it is what the reporter says the
		// report is about.
		Observables: extract.Find(p.Concerned + "\n" + p.Text),
	}
	if err := c.attachReportFiles(r.Context(), rep, files); err != nil {
		c.logger.Error("report form: store attachment", "err", err)
		return nil, []string{c.catalog.T(v.lang, msgErrorInternal)}
	}
	rep.Observables = incident.UniqueObservables(rep.Observables)
	return rep, nil
}

// acceptedFile is one accepted attachment of a posted report, read but not
// stored yet.
type acceptedFile struct {
	name        string
	data        []byte
	contentType string
}

// reportFiles reads and checks the attachments of a posted report (the
// public form's and the portal's): their number, sizes and types. It
// returns the accepted files, or the refusals translated.
func (c *Console) reportFiles(r *http.Request, v *visit) ([]acceptedFile, []string) {
	var problems []string
	var files []*multipart.FileHeader
	if r.MultipartForm != nil {
		files = r.MultipartForm.File["files"]
	}
	if len(files) > c.reports.cfg.MaxFiles {
		return nil, []string{c.catalog.T(v.lang, msgReportErrFiles, c.reports.cfg.MaxFiles)}
	}
	out := make([]acceptedFile, 0, len(files))
	for _, fh := range files {
		data, ctype, msg := c.reports.readFile(fh)
		switch msg {
		case "":
			out = append(out, acceptedFile{name: path.Base(fh.Filename), data: data, contentType: ctype})
		case msgReportErrFileSize:
			problems = append(problems, c.catalog.T(v.lang, msg, fh.Filename, c.reports.cfg.MaxFileBytes>>20))
		default:
			problems = append(problems, c.catalog.T(v.lang, msg, fh.Filename))
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return out, nil
}

// attachReportFiles stores accepted files and adds them to rep, with the
// observables of the mails they forward.
func (c *Console) attachReportFiles(ctx context.Context, rep *incident.Report, files []acceptedFile) error {
	for _, f := range files {
		sum, err := c.reports.service.Store.PutBlob(ctx, f.data)
		if err != nil {
			return err
		}
		rep.Attachments = append(rep.Attachments, incident.Attachment{SHA256: sum, Name: f.name,
			ContentType: f.contentType, Size: int64(len(f.data))})
		rep.Observables = append(rep.Observables, forwardedObservables(f.contentType, f.data, rep.Reporter.Email)...)
	}
	return nil
}

// forwardedObservables are the observables of a forwarded mail attached
// to a report (its sender, links, attachments' hashes, and those of the
// messages it forwards in turn), read as the mail intake reads mail;
// none for another type of file.
func forwardedObservables(contentType string, data []byte, reporter string) []extract.Observable {
	if contentType != "message/rfc822" {
		return nil
	}
	msg, err := mailin.Parse(data, mailin.DefaultLimits())
	if err != nil {
		return nil
	}
	return mailreport.Observables(msg, true, reporter)
}

// readFile reads one attachment and decides its type from its content
// (and, for a forwarded mail, its name): what the browser claims is not
// believed. The message ID is the refusal, "" when the file is accepted.
func (f *reportForm) readFile(fh *multipart.FileHeader) (data []byte, contentType, refusal string) {
	if fh.Size > f.cfg.MaxFileBytes {
		return nil, "", msgReportErrFileSize
	}
	file, err := fh.Open()
	if err != nil {
		return nil, "", msgReportErrFileType
	}
	defer file.Close()
	data, err = io.ReadAll(io.LimitReader(file, f.cfg.MaxFileBytes+1))
	if err != nil {
		return nil, "", msgReportErrFileType
	}
	if int64(len(data)) > f.cfg.MaxFileBytes {
		return nil, "", msgReportErrFileSize
	}
	contentType = attachmentType(fh.Filename, data)
	if contentType == "" {
		return nil, "", msgReportErrFileType
	}
	return data, contentType, ""
}

// attachmentType is the type of an accepted attachment: a forwarded mail
// (.eml, .msg), a screenshot, a PDF or plain text; "" for anything else.
func attachmentType(name string, data []byte) string {
	sniffed := http.DetectContentType(data)
	ext := strings.ToLower(path.Ext(name))
	switch {
	case ext == ".eml" && strings.HasPrefix(sniffed, "text/plain"):
		return "message/rfc822"
	case ext == ".msg" && sniffed == "application/octet-stream" && len(data) > 8 &&
		string(data[:8]) == "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
		return "application/vnd.ms-outlook"
	case sniffed == "image/png", sniffed == "image/jpeg", sniffed == "image/gif", sniffed == "image/webp",
		sniffed == "application/pdf":
		return sniffed
	case strings.HasPrefix(sniffed, "text/plain") && (ext == ".txt" || ext == ".log" || ext == ""):
		return "text/plain"
	}
	return ""
}

// stamp signs the time a form was opened, so that the post says how long
// the form was open without the server keeping anything.
func (f *reportForm) stamp(now time.Time) string {
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	return ts + "." + f.mac(ts)
}

func (f *reportForm) mac(ts string) string {
	h := hmac.New(sha256.New, f.stampKey)
	h.Write([]byte("report-form:" + ts))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// checkStamp returns the message ID of a refusal of the form's age, ""
// when the form was open long enough and not too long. A stamp that does
// not verify (forged, or signed before a restart) is treated as stale.
func (f *reportForm) checkStamp(s string, now time.Time) string {
	ts, sig, ok := strings.Cut(s, ".")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || !hmac.Equal([]byte(sig), []byte(f.mac(ts))) {
		return msgReportErrTooOld
	}
	age := now.Sub(time.UnixMilli(ms))
	switch {
	case age < f.cfg.MinAge:
		return msgReportErrTooQuick
	case age > f.cfg.MaxAge:
		return msgReportErrTooOld
	}
	return ""
}

// reportStatusPage is what a report's status link shows: the report's
// own state and, when it is part of one, the incident's status. Nothing
// else of the incident.
type reportStatusPage struct {
	Tracking string
	Received time.Time
	Kind     string // message ID
	State    string // message ID
	// Incident is the message ID of the incident's status, "" when the
	// report is not linked to one.
	Incident string
}

func (c *Console) reportStatus(w http.ResponseWriter, r *http.Request, v *visit) {
	rep, err := c.reports.service.ReportStatus(r.Context(), r.PathValue("tracking"), r.URL.Query().Get("t"))
	if errors.Is(err, store.ErrNotFound) {
		c.problem(w, r, v, http.StatusNotFound, msgNotFoundHeading, msgReportNotFound)
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if r.URL.Query().Get("lang") == "" && c.catalog.Supported(rep.Language) {
		v.lang = rep.Language
	}
	p := reportStatusPage{Tracking: rep.Tracking, Received: rep.Received, Kind: incident.KindKey(rep.Kind),
		State: "reportform.state." + string(rep.State)}
	if rep.IncidentID != 0 {
		inc, err := c.incidentOf(r.Context(), rep.IncidentID)
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		p.Incident = "reportform.incident." + string(inc.Status)
	}
	c.render(w, r, v, http.StatusOK, "report_status", msgTitleReportStatus, p, "", "")
}

// incidentOf reads the incident a report is linked to, following merges
// to the incident that survived them.
func (c *Console) incidentOf(ctx context.Context, id int64) (incident.Incident, error) {
	for range 10 {
		inc, err := c.reports.service.Store.GetIncident(ctx, id)
		if err != nil || inc.MergedInto == 0 {
			return inc, err
		}
		id = inc.MergedInto
	}
	return incident.Incident{}, fmt.Errorf("incident %d: merged too many times", id)
}
