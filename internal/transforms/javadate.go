package transforms

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// javaDateFormat is a java.text.SimpleDateFormat pattern in the UTC time
// zone (TimestampRouter and TimestampConverter both set UTC), English
// locale. Patterns are parsed once; formatting appends to a builder.
type javaDateFormat struct {
	pattern string
	items   []dateItem
}

type dateItem struct {
	letter byte // 0 for literal text
	count  int
	lit    string
}

const dateLetters = "GyYMLwWDdFEuaHkKhmsSzZX"

// parseJavaDateFormat compiles a SimpleDateFormat pattern, rejecting what
// the Java constructor rejects: an unquoted ASCII letter that is not a
// pattern letter, or an unterminated quote.
func parseJavaDateFormat(pattern string) (*javaDateFormat, error) {
	f := &javaDateFormat{pattern: pattern}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.items = append(f.items, dateItem{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			if i+1 < len(pattern) && pattern[i+1] == '\'' {
				lit.WriteByte('\'')
				i += 2
				continue
			}
			end := i + 1
			for {
				j := strings.IndexByte(pattern[end:], '\'')
				if j < 0 {
					return nil, &DataError{Msg: "Unterminated quote"}
				}
				lit.WriteString(pattern[end : end+j])
				end += j + 1
				if end < len(pattern) && pattern[end] == '\'' {
					lit.WriteByte('\'')
					end++
					continue
				}
				break
			}
			i = end
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			if !strings.ContainsRune(dateLetters, rune(c)) {
				return nil, &DataError{Msg: fmt.Sprintf("Illegal pattern character '%c'", c)}
			}
			n := 1
			for i+n < len(pattern) && pattern[i+n] == c {
				n++
			}
			flush()
			f.items = append(f.items, dateItem{letter: c, count: n})
			i += n
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return f, nil
}

func pad(b *strings.Builder, n, width int) {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
}

// format is SimpleDateFormat.format in UTC.
func (f *javaDateFormat) format(t time.Time) string {
	t = t.UTC()
	var b strings.Builder
	for _, it := range f.items {
		n := it.count
		switch it.letter {
		case 0:
			b.WriteString(it.lit)
		case 'G':
			if t.Year() > 0 {
				b.WriteString("AD")
			} else {
				b.WriteString("BC")
			}
		case 'y', 'Y':
			y := t.Year()
			if it.letter == 'Y' {
				y, _ = t.ISOWeek()
			}
			if n == 2 {
				pad(&b, y%100, 2)
			} else {
				pad(&b, y, n)
			}
		case 'M', 'L':
			switch {
			case n >= 4:
				b.WriteString(t.Month().String())
			case n == 3:
				b.WriteString(t.Month().String()[:3])
			default:
				pad(&b, int(t.Month()), n)
			}
		case 'w':
			_, w := t.ISOWeek()
			pad(&b, w, n)
		case 'W':
			pad(&b, (t.Day()-1)/7+1, n)
		case 'D':
			pad(&b, t.YearDay(), n)
		case 'd':
			pad(&b, t.Day(), n)
		case 'F':
			pad(&b, (t.Day()-1)/7+1, n)
		case 'E':
			if n >= 4 {
				b.WriteString(t.Weekday().String())
			} else {
				b.WriteString(t.Weekday().String()[:3])
			}
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			pad(&b, wd, n)
		case 'a':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'H':
			pad(&b, t.Hour(), n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			pad(&b, h, n)
		case 'K':
			pad(&b, t.Hour()%12, n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			pad(&b, h, n)
		case 'm':
			pad(&b, t.Minute(), n)
		case 's':
			pad(&b, t.Second(), n)
		case 'S':
			// milliseconds as a number, not a fraction
			pad(&b, t.Nanosecond()/1e6, n)
		case 'z':
			if n >= 4 {
				b.WriteString("Coordinated Universal Time")
			} else {
				b.WriteString("UTC")
			}
		case 'Z':
			b.WriteString("+0000")
		case 'X':
			b.WriteString("Z")
		}
	}
	return b.String()
}
