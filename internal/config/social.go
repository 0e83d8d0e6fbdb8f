package config

import (
	"errors"

	"github.com/vigil-cert/vigil/internal/publication/channel"
)

// validateSocial checks the social: section.
func (c *Config) validateSocial() error {
	err := c.Social.Validate()
	var fe *channel.FieldError
	if errors.As(err, &fe) {
		return &Error{Key: "social." + fe.Key, Reason: fe.Reason}
	}
	if err != nil {
		return &Error{Key: "social", Reason: err.Error()}
	}
	return nil
}
