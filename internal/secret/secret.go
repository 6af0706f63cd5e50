// Package secret encrypts short credentials (store API tokens, webhook secrets,
// OAuth tokens) before they are written to the database, using AES-256-GCM with
// one 32-byte key.
//
// A sealed value is "v1." followed by the unpadded base64url encoding of a
// 12-byte random nonce and the ciphertext with its 16-byte tag. The additional
// data (aad) binds a ciphertext to where it is stored, e.g.
// "stores/sto_123/api_token", so a ciphertext copied to another row or column
// does not open.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length in bytes of a Box key.
const KeySize = 32

const (
	prefix    = "v1."
	nonceSize = 12
	tagSize   = 16
)

// ErrOpen is wrapped by every error Open returns: wrong key, wrong aad,
// tampered or truncated ciphertext, unknown version prefix or bad encoding.
var ErrOpen = errors.New("secret: cannot open sealed value")

// Box seals and opens secrets with one 32-byte key. It is safe for concurrent
// use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box using key. It returns an error unless key is exactly 32
// bytes long.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

// String hides the key from logs and fmt verbs.
func (b *Box) String() string { return "secret.Box{…}" }

// GoString hides the key from %#v.
func (b *Box) GoString() string { return b.String() }

// Seal encrypts plaintext bound to aad and returns "v1." followed by the
// unpadded base64url encoding of nonce || ciphertext || tag. Two seals of the
// same plaintext differ. It returns an error only if the system random source
// fails.
func (b *Box) Seal(plaintext, aad string) (string, error) {
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("secret: reading nonce: %w", err)
	}
	buf = b.aead.Seal(buf, buf[:nonceSize], []byte(plaintext), []byte(aad))
	return prefix + base64.RawURLEncoding.EncodeToString(buf), nil
}

// Open decrypts a value made by Seal with the same key and aad. On any failure
// (wrong key, wrong aad, tampering, truncation, unknown version prefix, bad
// encoding) it returns "" and an error wrapping ErrOpen; it never panics.
func (b *Box) Open(sealed, aad string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", fmt.Errorf("%w: unknown version prefix", ErrOpen)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil {
		return "", fmt.Errorf("%w: bad encoding: %w", ErrOpen, err)
	}
	if len(raw) < nonceSize+tagSize {
		return "", fmt.Errorf("%w: too short", ErrOpen)
	}
	plain, err := b.aead.Open(nil, raw[:nonceSize], raw[nonceSize:], []byte(aad))
	if err != nil {
		return "", fmt.Errorf("%w: wrong key, wrong aad or tampered value", ErrOpen)
	}
	return string(plain), nil
}

// GenerateKey returns a new random 32-byte key, standard base64 encoded (the
// format ParseKey and LoadOrCreateKeyFile read). It never fails: the system
// random source does not return errors.
func GenerateKey() string {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never returns an error.
	return base64.StdEncoding.EncodeToString(key)
}

// ParseKey decodes a 32-byte key written as 64 hexadecimal characters or as
// standard or URL base64, padded or not; surrounding white space is ignored.
// It returns an error saying whether the text was empty, not base64 or hex, or
// decoded to the wrong number of bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("secret: key is empty")
	}
	if len(s) == 2*KeySize {
		if key, err := hex.DecodeString(s); err == nil {
			return key, nil
		}
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		key, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("secret: key decodes to %d bytes, want %d (base64 of 32 bytes is 43 or 44 characters, hex is 64)", len(key), KeySize)
		}
		return key, nil
	}
	return nil, fmt.Errorf("secret: key (%d characters) is neither base64 nor 64 hex characters", len(s))
}
