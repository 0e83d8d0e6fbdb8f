package i18n

import (
	"errors"
	"io/fs"
)

// FileProblem says why the file at path cannot be read, from the error
// that reading it returned: it does not exist, Vigil may not read it, or
// else the system's reason, without the operation and path that an
// *fs.PathError repeats. With path "", the sentence is about "the file"
// that the text around it names already (a configuration error at the
// file). The configuration and the command line say it alike.
func FileProblem(path string, err error) Message {
	notExist, denied := errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission)
	if path == "" {
		switch {
		case notExist:
			return M("config.error.read.missing")
		case denied:
			return M("config.error.read.permission")
		}
		return M("config.error.read", systemReason(err))
	}
	switch {
	case notExist:
		return M("config.error.file.missing", path)
	case denied:
		return M("config.error.file.permission", path)
	}
	return M("config.error.file.read", path, systemReason(err))
}

// systemReason is err's text without the operation and path an
// *fs.PathError repeats ("is a directory", not "read x: is a directory").
func systemReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
