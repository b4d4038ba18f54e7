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

var monthNames = []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}
var dayNames = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// parse is SimpleDateFormat.parse in UTC, lenient as Java's default: out of
// range fields roll over (month 13 is January of the next year).
func (f *javaDateFormat) parse(s string) (time.Time, error) {
	year, month, day, hour, minute, sec, milli := 1970, 1, 1, 0, 0, 0, 0
	pm, hasAMPM, hour12 := false, false, false
	offset := 0
	pos := 0
	fail := func() (time.Time, error) {
		return time.Time{}, &DataError{Msg: fmt.Sprintf("Unparseable date: %q", s)}
	}
	for idx, it := range f.items {
		if it.letter == 0 {
			if !strings.HasPrefix(s[pos:], it.lit) {
				return fail()
			}
			pos += len(it.lit)
			continue
		}
		// A numeric field directly followed by another numeric field is
		// read with its exact width (Java's "abutting fields").
		abut := idx+1 < len(f.items) && f.items[idx+1].letter != 0 && strings.IndexByte("yYMLwWDdFuHkKhmsS", f.items[idx+1].letter) >= 0
		readNum := func() (int, bool) {
			end := pos
			if end < len(s) && (s[end] == '-' || s[end] == '+') && (it.letter == 'y' || it.letter == 'Y') {
				end++
			}
			for end < len(s) && s[end] >= '0' && s[end] <= '9' && (!abut || end-pos < it.count) {
				end++
			}
			n, err := strconv.Atoi(s[pos:end])
			if err != nil {
				return 0, false
			}
			pos = end
			return n, true
		}
		readName := func(names []string) (int, bool) {
			rest := strings.ToLower(s[pos:])
			for i, nm := range names {
				if strings.HasPrefix(rest, nm) {
					pos += len(nm)
					return i, true
				}
			}
			for i, nm := range names {
				if strings.HasPrefix(rest, nm[:3]) {
					pos += 3
					return i, true
				}
			}
			return 0, false
		}
		var ok bool
		switch it.letter {
		case 'G':
			switch {
			case strings.HasPrefix(s[pos:], "AD"):
				pos += 2
				ok = true
			case strings.HasPrefix(s[pos:], "BC"):
				pos += 2
				ok = true
			}
		case 'y', 'Y':
			start := pos
			year, ok = readNum()
			if ok && it.count <= 2 && pos-start == 2 {
				// two-digit years within 80 years before and 20 after now
				now := time.Now().Year()
				century := now - now%100
				year += century
				if year > now+20 {
					year -= 100
				}
			}
		case 'M', 'L':
			if it.count >= 3 {
				var m int
				m, ok = readName(monthNames)
				month = m + 1
			} else {
				month, ok = readNum()
			}
		case 'd':
			day, ok = readNum()
		case 'D':
			var yd int
			if yd, ok = readNum(); ok {
				month, day = 1, yd
			}
		case 'E':
			_, ok = readName(dayNames)
		case 'w', 'W', 'F', 'u':
			_, ok = readNum()
		case 'a':
			switch strings.ToUpper(s[pos:min(pos+2, len(s))]) {
			case "AM":
				ok, hasAMPM = true, true
			case "PM":
				ok, hasAMPM, pm = true, true, true
			}
			pos += 2
		case 'H':
			hour, ok = readNum()
		case 'k':
			if hour, ok = readNum(); ok && hour == 24 {
				hour = 0
			}
		case 'K':
			hour, ok = readNum()
			hour12 = true
		case 'h':
			if hour, ok = readNum(); ok && hour == 12 {
				hour = 0
			}
			hour12 = true
		case 'm':
			minute, ok = readNum()
		case 's':
			sec, ok = readNum()
		case 'S':
			milli, ok = readNum()
		case 'z', 'Z', 'X':
			offset, ok = parseZone(s, &pos)
		}
		if !ok {
			return fail()
		}
	}
	if hasAMPM && pm && (hour12 || hour < 12) {
		hour += 12
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	t = t.Add(time.Duration(milli)*time.Millisecond - time.Duration(offset)*time.Second)
	return t, nil
}

// parseZone reads "Z", "UTC", "GMT", "GMT+hh:mm", "+hhmm", "+hh:mm" or
// "+hh" and returns the offset in seconds east of UTC.
func parseZone(s string, pos *int) (int, bool) {
	rest := s[*pos:]
	switch {
	case strings.HasPrefix(rest, "Coordinated Universal Time"):
		*pos += len("Coordinated Universal Time")
		return 0, true
	case strings.HasPrefix(rest, "Z"):
		*pos++
		return 0, true
	case strings.HasPrefix(rest, "UTC"), strings.HasPrefix(rest, "GMT"):
		*pos += 3
		rest = s[*pos:]
		if rest == "" || (rest[0] != '+' && rest[0] != '-') {
			return 0, true
		}
	}
	if rest == "" || (rest[0] != '+' && rest[0] != '-') {
		return 0, false
	}
	sign := 1
	if rest[0] == '-' {
		sign = -1
	}
	digits := strings.ReplaceAll(rest[1:min(len(rest), 6)], ":", "")
	n := 0
	for n < len(digits) && n < 4 && digits[n] >= '0' && digits[n] <= '9' {
		n++
	}
	var h, m int
	switch n {
	case 2:
		h, _ = strconv.Atoi(digits[:2])
	case 4:
		h, _ = strconv.Atoi(digits[:2])
		m, _ = strconv.Atoi(digits[2:4])
	default:
		return 0, false
	}
	consumed := 1 + n
	if n == 4 && len(rest) > 3 && rest[3] == ':' {
		consumed++
	}
	*pos += consumed
	return sign * (h*3600 + m*60), true
}
