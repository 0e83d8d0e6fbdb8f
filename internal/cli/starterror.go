package cli

import (
	"errors"
	"io/fs"
	"slices"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// startError is a failure to open what a command needs (the data
// directory, the database, the message bus), said in the operator's
// language: the catalogue's sentence, then the error behind it as its
// detail. Error is the same in English, for the log.
type startError struct {
	message i18n.Message
	err     error
}

func (e *startError) Error() string         { return e.message.String() }
func (e *startError) Unwrap() error         { return e.err }
func (e *startError) Explain() i18n.Message { return e.message }

// newStartError is err behind the sentence id, said with args and then
// err's text as the detail: Go's own, a driver's or the system's, without
// the English context Vigil's layers put around it (i18n.LowLevelReason);
// the system's reason alone when the sentence names the file it is
// about.
func newStartError(err error, id string, args ...any) *startError {
	detail := i18n.LowLevelReason(err)
	if reason, path := i18n.SystemReason(err); path != "" && slices.Contains(args, any(path)) {
		detail = reason
	}
	return &startError{i18n.M(id, append(slices.Clip(args), detail)...), err}
}

// failedTo is err behind the sentence id (with args, then the detail);
// an error that explains itself already (the secret key that is
// missing, a database newer than this binary) is said as it is.
func failedTo(err error, id string, args ...any) error {
	if _, ok := i18n.Explain(err); ok {
		return err
	}
	return newStartError(err, id, args...)
}

// failedWithDetail is err behind the sentence id (with args), err
// being what failed inside it: its own message, when it has one (the
// message bus's stream that cannot be created), is the detail, in the
// sentence's language; else its text.
func failedWithDetail(err error, id string, args ...any) error {
	return &startError{i18n.M(id, append(slices.Clip(args), detailOf(err))...), err}
}

// failedWithReason is err behind the sentence id (with args), err being
// a failure of the database or the system: its own message when it has
// one, else the driver's or the system's reason without the English
// context Vigil's layers put around it (reasonOf).
func failedWithReason(err error, id string, args ...any) error {
	return &startError{i18n.M(id, append(slices.Clip(args), reasonOf(err))...), err}
}

// reasonOf is err as the last part of a sentence in the reader's
// language: its message when it explains itself, else the reason at the
// bottom of its chain (i18n.LowLevelReason).
func reasonOf(err error) any {
	if m, ok := i18n.Explain(err); ok {
		return m
	}
	return i18n.LowLevelReason(err)
}

// detailOf is err as the detail of a sentence: its message when it
// explains itself, else its text.
func detailOf(err error) any {
	if m, ok := i18n.Explain(err); ok {
		return m
	}
	return err.Error()
}

// dataDirError says why the data directory dir cannot be made: Vigil may
// not create it, or the system's reason.
func dataDirError(dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return newStartError(err, "cli.start.data.denied", dir)
	}
	// The reason without the operation and the path (the directory's or
	// one above it) that the sentence names already.
	reason, _ := i18n.SystemReason(err)
	return &startError{i18n.M("cli.start.data", dir, reason), err}
}

// moduleError is a pipeline module (a feed's collector or parser, an
// enricher, an output) that the configuration names at key and that
// cannot be built, as a configuration error at that key: a feed's key
// ("feeds[0] (inbox)") gains the stage's (".parser").
func moduleError(key string, err error) error {
	cause := err
	var se *config.StageError
	if errors.As(err, &se) {
		key, cause = key+"."+se.Stage, se.Err
	}
	return &config.Error{Key: key, Message: i18n.M("cli.start.module", detailOf(cause)), Err: err}
}

// Interface guards.
var (
	_ i18n.Explained = (*startError)(nil)
	_ i18n.Explained = (*jobError)(nil)
)
