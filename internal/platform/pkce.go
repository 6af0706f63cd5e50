package platform

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// NewVerifier returns a new PKCE code verifier (RFC 7636): 43 characters of
// base64url from 32 random bytes. Keep it server-side with the pending
// connection; only its Challenge leaves payper before the exchange.
func NewVerifier() string { return randomURLSafe(32) }

// Challenge returns the S256 code challenge of verifier:
// base64url(SHA-256(verifier)) without padding.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// VerifyChallenge reports, in constant time, whether verifier is a valid
// RFC 7636 verifier (43–128 characters of [A-Za-z0-9-._~]) whose S256
// challenge is challenge.
func VerifyChallenge(verifier, challenge string) bool {
	if !validVerifier(verifier) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(Challenge(verifier)), []byte(challenge)) == 1
}

func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// NewState returns a new OAuth state value: 43 unguessable URL-safe
// characters. The domain stores it with the pending connection and finds the
// connection by it when the platform redirects back.
func NewState() string { return randomURLSafe(32) }

func randomURLSafe(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error (Go ≥ 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}
