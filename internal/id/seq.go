package id

import (
	"encoding/binary"

	"github.com/google/uuid"
)

// NewSeq returns n new ids with the given prefix, sorted in creation order
// like n calls of New, but made from one UUIDv7: the others count up from
// it in its 62 random bits (RFC 9562, section 6.2, method 2), so they stay
// unique and sort after every id made before and before every id made
// after. It is for writers that make many ids at once.
func NewSeq(prefix string, n int) []string {
	if n <= 0 {
		return nil
	}
	const encLen = 26 // base32hex of 16 bytes, unpadded
	size := len(prefix) + 1 + encLen
	buf := make([]byte, n*size)
	u := uuid.Must(uuid.NewV7())
	for i := 0; i < n; i++ {
		if i > 0 {
			v := binary.BigEndian.Uint64(u[8:])
			const randBits = 1<<62 - 1 // below the 2 variant bits
			if v&randBits == randBits {
				u = uuid.Must(uuid.NewV7()) // the count would overflow: start again (later, so still sorted)
			} else {
				binary.BigEndian.PutUint64(u[8:], v+1)
			}
		}
		b := buf[i*size : (i+1)*size]
		copy(b, prefix)
		b[len(prefix)] = '_'
		enc.Encode(b[len(prefix)+1:], u[:])
	}
	s := string(buf) // one allocation for all n ids
	out := make([]string, n)
	for i := range out {
		out[i] = s[i*size : (i+1)*size]
	}
	return out
}
