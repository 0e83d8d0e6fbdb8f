package config

import (
	"errors"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication/channel"
)

// validateSocial checks the social: section.
func (c *Config) validateSocial() error {
	err := c.Social.Validate()
	var fe *channel.FieldError
	if errors.As(err, &fe) {
		return &Error{Key: "social." + fe.Key, Message: fe.Message}
	}
	if err != nil {
		return &Error{Key: "social", Message: i18n.M("config.error.section", err.Error())}
	}
	return nil
}
