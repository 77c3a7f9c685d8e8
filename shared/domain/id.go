package domain

import (
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"strings"
)

// NewID returns a random 128-bit identifier as 32 hex characters. IDs are unguessable, so an
// ID alone never grants access, and sortless, so they reveal nothing about creation order.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// NormalizeEmail trims and lower-cases an email address and checks that it is one bare
// address; EINVALID otherwise.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || len(s) > 254 {
		return "", Errorf(EINVALID, "email is not a valid address")
	}
	return s, nil
}
