// Package jsonw writes JSON by appending, for the few hot answers and
// records whose shape is fixed (an earning's detail, the sandbox's counts),
// where encoding/json's reflection costs more than the work around it.
// Everything else uses encoding/json.
package jsonw

import "encoding/json"

// AppendString appends s as a JSON string, byte for byte as encoding/json
// writes it (HTML characters escaped). Plain printable ASCII is copied; any
// other string goes through encoding/json itself.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
