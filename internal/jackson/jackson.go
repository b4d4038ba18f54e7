// Package jackson writes JSON strings exactly as Jackson's default
// JsonGenerator does, which is what Kafka Connect's JsonConverter and
// Debezium's JSON-typed values contain. Go's encoding/json differs in ways
// that change bytes: lowercase hex in \u escapes, and escaping of U+2028,
// U+2029 and (by default) <, > and &.
package jackson

const hexDigits = "0123456789ABCDEF"

// AppendString appends s as a quoted JSON string: '"' and '\' escaped,
// \b \t \n \f \r as short escapes, other control characters as \u00XX
// with uppercase hex, everything else (DEL and non-ASCII included) as is.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
