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
// language: the catalogue's sentence, then the error behind it (Go's own
// text) as its detail. Error is the same in English, for the log.
type startError struct {
	id   string
	args []any // the sentence's arguments before the detail
	err  error
}

func (e *startError) Error() string { return e.Explain().String() }
func (e *startError) Unwrap() error { return e.err }

func (e *startError) Explain() i18n.Message {
	var detail any = e.err.Error()
	var pe *fs.PathError
	if errors.As(e.err, &pe) && slices.Contains(e.args, any(pe.Path)) {
		// The system's reason alone: the sentence names the path.
		detail = pe.Err.Error()
	}
	return i18n.M(e.id, append(slices.Clone(e.args), detail)...)
}

// failedTo is err behind the sentence id (with args, then the detail);
// an error that explains itself already (the secret key that is
// missing, a database newer than this binary) is said as it is.
func failedTo(err error, id string, args ...any) error {
	if _, ok := i18n.Explain(err); ok {
		return err
	}
	return &startError{id: id, args: args, err: err}
}

// dataDirError says why the data directory dir cannot be made: Vigil may
// not create it, or the system's reason.
func dataDirError(dir string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return &startError{id: "cli.start.data.denied", args: []any{dir}, err: err}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		// The reason without the operation and the path (the directory's
		// or one above it) that the sentence names already.
		err = pe.Err
	}
	return &startError{id: "cli.start.data", args: []any{dir}, err: err}
}

// moduleError is a pipeline module (a feed's collector or parser, an
// enricher, an output) that the configuration names at key and that
// cannot be built, as a configuration error at that key: a feed's key
// ("feeds[0] (inbox)") gains the stage's (".parser").
func moduleError(key string, err error) error {
	cause := err
	var se *stageError
	if errors.As(err, &se) {
		key, cause = key+"."+se.stage, se.err
	}
	var detail any = cause.Error()
	if m, ok := i18n.Explain(cause); ok {
		detail = m
	}
	return &config.Error{Key: key, Message: i18n.M("cli.start.module", detail), Err: err}
}

// Interface guard.
var _ i18n.Explained = (*startError)(nil)
