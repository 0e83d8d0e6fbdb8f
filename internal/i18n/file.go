package i18n

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
)

// FileProblem says why the file at path cannot be read, from the error
// that reading it returned: it does not exist, Vigil may not read it, or
// else the system's reason, without the operation and path that an
// *fs.PathError repeats. With path "", the sentence is about "the file"
// that the text around it names already (a configuration error at the
// file). The configuration and the command line say it alike.
func FileProblem(path string, err error) Message {
	notExist, denied := errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission)
	reason, _ := SystemReason(err)
	if path == "" {
		switch {
		case notExist:
			return M("config.error.read.missing")
		case denied:
			return M("config.error.read.permission")
		}
		return M("config.error.read", reason)
	}
	switch {
	case notExist:
		return M("config.error.file.missing", path)
	case denied:
		return M("config.error.file.permission", path)
	}
	return M("config.error.file.read", path, reason)
}

// SystemReason splits err into the system's reason and the file it is
// about, for a sentence that names the file itself: "is a directory" and
// "x" for "read x: is a directory" (an *fs.PathError in err's chain,
// whose operation a reader need not see), err's whole text and "" for
// any other error. A caller whose sentence names another file than path
// says err whole: the reason is about a file the reader is not told of.
func SystemReason(err error) (reason, path string) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error(), pe.Path
	}
	return err.Error(), ""
}

// LowLevelReason is err without the English context that Vigil's
// layers put around it on the way up with fmt.Errorf ("sqlitestore: get
// state x: "): the system's, a driver's or a library's own text ("SQL
// logic error: no such table: state (1)", "open /x: permission denied",
// "dial tcp 192.0.2.1:25: connect: connection refused"). A sentence that
// says in the reader's language what failed ends with it. An
// errors.Join of one error (errors.Join(err, f.Close()) when the close
// went well) is that error.
func LowLevelReason(err error) string {
	for {
		switch {
		case reflect.TypeOf(err) == wrapErrorType && errors.Unwrap(err) != nil:
			err = errors.Unwrap(err)
		case reflect.TypeOf(err) == joinErrorType && len(err.(interface{ Unwrap() []error }).Unwrap()) == 1:
			err = err.(interface{ Unwrap() []error }).Unwrap()[0]
		default:
			return err.Error()
		}
	}
}

// wrapErrorType is the type of what fmt.Errorf makes of one %w, and
// joinErrorType of what errors.Join makes, taken from fmt and errors
// themselves rather than named.
var (
	wrapErrorType = reflect.TypeOf(fmt.Errorf("%w", errors.New("")))
	joinErrorType = reflect.TypeOf(errors.Join(errors.New("")))
)
