package config

import "github.com/vigil-cert/vigil/internal/i18n"

// ReportForm configures the public report form (/report): where to send
// people the team cannot help, and the limits of one report.
type ReportForm struct {
	// Elsewhere says where to go instead of the team (the police, the
	// computer crime unit), by language code (en, nl, fr, de); a language
	// left out gets Vigil's own text.
	Elsewhere map[string]string `yaml:"elsewhere"`
	// MaxFiles and MaxFileMiB bound the attachments of one report.
	MaxFiles   int `yaml:"max_files"`
	MaxFileMiB int `yaml:"max_file_mib"`
	// PerClient is how many reports one client address may send before
	// each further one waits (5 minutes, doubling up to 2 hours).
	PerClient int `yaml:"per_client"`
}

// DefaultReportForm is 5 files of 5 MiB, 5 reports per client address.
func DefaultReportForm() ReportForm {
	return ReportForm{MaxFiles: 5, MaxFileMiB: 5, PerClient: 5}
}

// validate checks the form's settings against the upload limit its body
// must fit in.
func (f ReportForm) validate(maxUploadBytes int64) error {
	for lang, text := range f.Elsewhere {
		if len(lang) < 2 || len(lang) > 3 || text == "" || len(text) > 2000 {
			return &Error{Key: "report_form.elsewhere." + lang, Message: i18n.M("config.error.reportform.elsewhere")}
		}
	}
	if f.MaxFiles < 1 || f.MaxFiles > 50 {
		return &Error{Key: "report_form.max_files", Message: i18n.M("config.error.range", 1, 50, f.MaxFiles)}
	}
	if f.MaxFileMiB < 1 || f.MaxFileMiB > 25 {
		return &Error{Key: "report_form.max_file_mib", Message: i18n.M("config.error.range", 1, 25, f.MaxFileMiB)}
	}
	if f.PerClient < 1 {
		return &Error{Key: "report_form.per_client", Message: i18n.M("config.error.atleast", 1, f.PerClient)}
	}
	// The text and the form's fields need room beside the files.
	if need := int64(f.MaxFiles)*int64(f.MaxFileMiB)<<20 + 1<<20; need > maxUploadBytes {
		return &Error{Key: "report_form.max_files", Message: i18n.M("config.error.reportform.fit", f.MaxFiles, f.MaxFileMiB, maxUploadBytes, need)}
	}
	return nil
}
