package bench

import (
	"bytes"
	"strings"
)

type bytesBuffer struct{ bytes.Buffer }

func (b *bytesBuffer) lines() []string {
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
}
