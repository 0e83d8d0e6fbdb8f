package sealed

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// KeyFile is the name of the key file in the data directory.
const KeyFile = "secrets.key"

// KeyEnv is the environment variable that holds the key (base64 of
// KeySize bytes); when set it wins over the key file, and no file is made.
const KeyEnv = "VIGIL_SECRET_KEY"

// ErrKeyMissing means the database holds sealed secrets but no key was
// given: the key file is gone and VIGIL_SECRET_KEY is not set. A new key
// would not open them, so none is made.
var ErrKeyMissing = errors.New("the database holds sealed secrets, but there is no secret key")

// KeyError is a secret key that is missing, wrong or not a key, or a key
// file that cannot be read: what the operator must put right, said in
// their language (Explain); Error says it in English. errors.Is finds
// ErrKeyMissing and ErrWrongKey behind it.
type KeyError struct {
	Message i18n.Message
	Err     error
}

func (e *KeyError) Error() string         { return "sealed: " + e.Message.String() }
func (e *KeyError) Unwrap() error         { return e.Err }
func (e *KeyError) Explain() i18n.Message { return e.Message }

// Key is a secret key and where it came from, for messages.
type Key struct {
	bytes []byte
	// Source names where the key came from: the file's path or KeyEnv.
	Source string
	// Created is set when the key file was made just now.
	Created bool
}

// LoadKey returns the key from KeyEnv when getenv has it, else from
// KeyFile in dataDir. A missing file is created with a fresh random key
// (mode 0600) when create is set, and is ErrKeyMissing otherwise.
func LoadKey(dataDir string, getenv func(string) string, create bool) (Key, error) {
	if v := strings.TrimSpace(getenv(KeyEnv)); v != "" {
		b, err := decodeKey(v, KeyEnv)
		if err != nil {
			return Key{}, err
		}
		return Key{bytes: b, Source: KeyEnv}, nil
	}
	path := filepath.Join(dataDir, KeyFile)
	raw, err := os.ReadFile(path)
	if err == nil {
		b, err := decodeKey(string(raw), path)
		if err != nil {
			return Key{}, err
		}
		return Key{bytes: b, Source: path}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Key{}, &KeyError{Message: i18n.FileProblem(path, err), Err: err}
	}
	if !create {
		return Key{}, &KeyError{Message: i18n.M("sealed.key.missing", path, KeyEnv), Err: ErrKeyMissing}
	}
	return createKeyFile(path)
}

// createKeyFile writes a fresh key. O_EXCL makes two processes starting
// together on one data directory agree: the second reads the first's key.
func createKeyFile(path string) (Key, error) {
	b, err := randomKey()
	if err != nil {
		return Key{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		raw, err := os.ReadFile(path)
		if err != nil {
			return Key{}, &KeyError{Message: i18n.FileProblem(path, err), Err: err}
		}
		b, err := decodeKey(string(raw), path)
		if err != nil {
			return Key{}, err
		}
		return Key{bytes: b, Source: path}, nil
	}
	if err != nil {
		reason, _ := i18n.SystemReason(err)
		return Key{}, &KeyError{Message: i18n.M("sealed.key.create", path, reason), Err: err}
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(b) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		reason, _ := i18n.SystemReason(err)
		return Key{}, &KeyError{Message: i18n.M("sealed.key.write", path, reason), Err: err}
	}
	return Key{bytes: b, Source: path, Created: true}, nil
}

// decodeKey reads a key from s, the text that source (the key file or
// KeyEnv) holds.
func decodeKey(s, source string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	var problem i18n.Message
	switch {
	case err != nil:
		problem = i18n.M("sealed.key.notbase64")
	case len(b) != KeySize:
		problem = i18n.M("sealed.key.size", len(b), KeySize)
	default:
		return b, nil
	}
	return nil, &KeyError{Message: i18n.M("sealed.key.bad", source, problem), Err: err}
}

// randomKey is a fresh key from the system's random source.
func randomKey() ([]byte, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return nil, &KeyError{Message: i18n.M("sealed.key.random", err.Error()), Err: err}
	}
	return b, nil
}

// NewKey returns a fresh key in the form KeyEnv and the key file take,
// for an operator who sets the key in the environment.
func NewKey() (string, error) {
	b, err := randomKey()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
