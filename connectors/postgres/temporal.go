package postgres

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// PostgreSQL's text output for dates and times (DateStyle=ISO, the
// connector sets it on every connection) is parsed here into proleptic
// Gregorian calendar values, as Debezium's DateTimeFormat does with
// java.time. BC years are written "0044-03-15 BC" and mean year -43.

// localDateTime is a timestamp without time zone, in UTC terms.
type localDateTime struct {
	days  int64 // days since 1970-01-01
	nanos int64 // nanoseconds of the day
}

// daysFromCivil returns days since 1970-01-01 for a proleptic Gregorian
// date (Howard Hinnant's algorithm; exact for every year).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	var era int64
	if y >= 0 {
		era = y / 400
	} else {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	var era int64
	if z >= 0 {
		era = z / 146097
	} else {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// Debezium maps 'infinity' dates to the LocalDate constants
// -5877611-06-21 and -5877611-06-22 (what the JDBC driver's infinity
// sentinels become); their epoch days are what it emits.
var (
	dateInfinity    = daysFromCivil(-5877611, 6, 21)
	dateNegInfinity = daysFromCivil(-5877611, 6, 22)
)

// The JDBC driver's infinity timestamps are these epoch microseconds;
// Debezium turns them into LocalDateTime values and converts those.
const (
	tsInfinityMicros    = int64(9223372036825200000)
	tsNegInfinityMicros = int64(-9223372036832400000)
)

func parseDate(s string) (int64, error) {
	switch s {
	case "infinity":
		return dateInfinity, nil
	case "-infinity":
		return dateNegInfinity, nil
	}
	y, m, d, rest, err := parseYMD(s)
	if err != nil {
		return 0, err
	}
	bc, rest := cutEra(rest)
	if rest != "" {
		return 0, fmt.Errorf("invalid date %q", s)
	}
	if bc {
		y = 1 - y
	}
	if err := checkDay(s, y, m, d); err != nil {
		return 0, err
	}
	return daysFromCivil(y, m, d), nil
}

func cutEra(s string) (bool, string) {
	if strings.HasSuffix(s, " BC") {
		return true, strings.TrimSuffix(s, " BC")
	}
	if strings.HasSuffix(s, " AD") {
		return false, strings.TrimSuffix(s, " AD")
	}
	return false, s
}

// maxYear bounds years well beyond PostgreSQL's (5874897 AD for dates,
// 4713 BC at the earliest) while keeping day arithmetic far from int64
// overflow.
const maxYear = 1_000_000_000

// parseYMD parses the YYYY-MM-DD that starts PostgreSQL's ISO output: a
// year of four digits, or more without a leading zero, then two-digit
// month and day. Anything else, or a day the month does not have, is an
// error: daysFromCivil would quietly turn February 31 into March 2.
// Years are as written; the caller applies a BC suffix.
func parseYMD(s string) (y int64, m, d int, rest string, err error) {
	i := strings.IndexByte(s, '-')
	if i < 4 || len(s) < i+6 || s[i+3] != '-' || i > 4 && s[0] == '0' {
		return 0, 0, 0, "", fmt.Errorf("invalid date %q", s)
	}
	y, ok := digits(s[:i])
	mm, ok1 := digits(s[i+1 : i+3])
	dd, ok2 := digits(s[i+4 : i+6])
	if !ok || !ok1 || !ok2 || y < 1 || y > maxYear || mm < 1 || mm > 12 || dd < 1 || dd > 31 {
		return 0, 0, 0, "", fmt.Errorf("invalid date %q", s)
	}
	return y, int(mm), int(dd), s[i+6:], nil
}

// checkDay rejects a day the month does not have; y is the astronomical
// year (1 BC is year 0, a leap year).
func checkDay(s string, y int64, m, d int) error {
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	if d > days {
		return fmt.Errorf("invalid date %q: day %d of a month with %d days", s, d, days)
	}
	return nil
}

// digits parses a non-empty string of ASCII digits (no sign, no spaces,
// which strconv would take) of at most 18 digits.
func digits(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseClock parses HH:MM:SS[.fraction] and returns nanoseconds and the
// rest of the string. Hours may be 24 (time '24:00:00').
func parseClock(s string) (int64, string, error) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, "", fmt.Errorf("invalid time %q", s)
	}
	h, ok1 := digits(s[0:2])
	mi, ok2 := digits(s[3:5])
	se, ok3 := digits(s[6:8])
	if !ok1 || !ok2 || !ok3 || h > 24 || mi > 59 || se > 60 {
		return 0, "", fmt.Errorf("invalid time %q", s)
	}
	n := (int64(h)*3600 + int64(mi)*60 + int64(se)) * 1e9
	rest := s[8:]
	if len(rest) > 0 && rest[0] == '.' {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		frac := rest[1:j]
		if len(frac) == 0 || len(frac) > 9 {
			return 0, "", fmt.Errorf("invalid time fraction %q", s)
		}
		f, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		n += f
		rest = rest[j:]
	}
	return n, rest, nil
}

// parseOffset parses +HH[:MM[:SS]] into seconds east of UTC.
func parseOffset(s string) (int64, error) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, fmt.Errorf("invalid UTC offset %q", s)
	}
	sign := int64(1)
	if s[0] == '-' {
		sign = -1
	}
	parts := strings.Split(s[1:], ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("invalid UTC offset %q", s)
	}
	var secs int64
	mult := []int64{3600, 60, 1}
	for i, p := range parts {
		v, ok := digits(p)
		if !ok || len(p) != 2 {
			return 0, fmt.Errorf("invalid UTC offset %q", s)
		}
		secs += v * mult[i]
	}
	return sign * secs, nil
}

// parseTimestamp parses timestamp without time zone text.
func parseTimestamp(s string) (localDateTime, error) {
	y, m, d, rest, err := parseYMD(s)
	if err != nil || len(rest) < 1 || rest[0] != ' ' {
		return localDateTime{}, fmt.Errorf("invalid timestamp %q", s)
	}
	bc, rest := cutEra(rest[1:])
	n, rest, err := parseClock(rest)
	if err != nil || rest != "" {
		return localDateTime{}, fmt.Errorf("invalid timestamp %q", s)
	}
	if bc {
		y = 1 - y
	}
	if err := checkDay(s, y, m, d); err != nil {
		return localDateTime{}, err
	}
	return normalizeLDT(daysFromCivil(y, m, d), n), nil
}

func normalizeLDT(days, nanos int64) localDateTime {
	days += floorDiv(nanos, 86400e9)
	return localDateTime{days: days, nanos: floorMod(nanos, 86400e9)}
}

// parseTimestamptz parses timestamp with time zone text and returns the
// instant as a UTC localDateTime.
func parseTimestamptz(s string) (localDateTime, error) {
	y, m, d, rest, err := parseYMD(s)
	if err != nil || len(rest) < 1 || rest[0] != ' ' {
		return localDateTime{}, fmt.Errorf("invalid timestamptz %q", s)
	}
	bc, rest := cutEra(rest[1:])
	n, rest, err := parseClock(rest)
	if err != nil {
		return localDateTime{}, fmt.Errorf("invalid timestamptz %q", s)
	}
	off, err := parseOffset(rest)
	if err != nil {
		return localDateTime{}, fmt.Errorf("invalid timestamptz %q: %w", s, err)
	}
	if bc {
		y = 1 - y
	}
	if err := checkDay(s, y, m, d); err != nil {
		return localDateTime{}, err
	}
	return normalizeLDT(daysFromCivil(y, m, d), n-off*1e9), nil
}

// parseTimetz parses time with time zone text into UTC nanoseconds of the
// day (wrapping around midnight, as OffsetTime.withOffsetSameInstant does).
func parseTimetz(s string) (int64, error) {
	n, rest, err := parseClock(s)
	if err != nil {
		return 0, err
	}
	if n >= 86400e9 {
		return 0, fmt.Errorf("invalid timetz %q: hour 24 is not a valid time of day", s)
	}
	off, err := parseOffset(rest)
	if err != nil {
		return 0, fmt.Errorf("invalid timetz %q: %w", s, err)
	}
	return floorMod(n-off*1e9, 86400e9), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// formatISODate writes a date as java.time's ISO_LOCAL_DATE does: four
// digit years, a sign for years beyond 9999 or before year 0.
func formatISODate(b *strings.Builder, days int64) {
	y, m, d := civilFromDays(days)
	switch {
	case y > 9999:
		b.WriteByte('+')
		b.WriteString(strconv.FormatInt(y, 10))
	case y < 0:
		b.WriteByte('-')
		writePadded(b, -y, 4)
	default:
		writePadded(b, y, 4)
	}
	b.WriteByte('-')
	writePadded(b, int64(m), 2)
	b.WriteByte('-')
	writePadded(b, int64(d), 2)
}

func writePadded(b *strings.Builder, v int64, width int) {
	s := strconv.FormatInt(v, 10)
	for i := len(s); i < width; i++ {
		b.WriteByte('0')
	}
	b.WriteString(s)
}

// formatISOTime writes HH:mm:ss plus the fraction: width 0 means java's
// ISO_LOCAL_TIME (only significant digits, none when zero), width 1-9 a
// fixed number of digits as Debezium's ZonedTimestamp formatter does.
func formatISOTime(b *strings.Builder, nanos int64, width int) {
	secs := nanos / 1e9
	frac := nanos % 1e9
	writePadded(b, secs/3600, 2)
	b.WriteByte(':')
	writePadded(b, (secs/60)%60, 2)
	b.WriteByte(':')
	writePadded(b, secs%60, 2)
	if width > 0 && width <= 9 {
		digits := fmt.Sprintf("%09d", frac)
		b.WriteByte('.')
		b.WriteString(digits[:width])
		return
	}
	if frac != 0 {
		b.WriteByte('.')
		b.WriteString(strings.TrimRight(fmt.Sprintf("%09d", frac), "0"))
	}
}

// zonedTimestamp formats an instant as io.debezium.time.ZonedTimestamp.
func zonedTimestamp(t localDateTime, width int) string {
	var b strings.Builder
	formatISODate(&b, t.days)
	b.WriteByte('T')
	formatISOTime(&b, t.nanos, width)
	b.WriteByte('Z')
	return b.String()
}

// epochMicros/Millis/Nanos convert like java.time (floor division).
func (t localDateTime) epochMicros() int64 { return t.days*86400e6 + t.nanos/1e3 }
func (t localDateTime) epochMillis() int64 { return t.days*86400e3 + t.nanos/1e6 }
func (t localDateTime) epochNanos() int64 {
	// TimeUnit.SECONDS.toNanos saturates rather than overflowing.
	secs := t.days * 86400
	if secs > math.MaxInt64/int64(1e9) {
		return math.MaxInt64
	}
	if secs < math.MinInt64/int64(1e9) {
		return math.MinInt64
	}
	return secs*1e9 + t.nanos
}

// ldtFromMicros is Conversions.toInstantFromMicros + LocalDateTime at UTC
// (TimeUnit truncation, then the normalisation java.time applies).
func ldtFromMicros(us int64) localDateTime {
	secs := us / 1e6
	nanos := (us % 1e6) * 1e3
	return normalizeLDT(floorDiv(secs, 86400), floorMod(secs, 86400)*1e9+nanos)
}

// interval is pgjdbc's PGInterval: whole fields plus seconds split into
// whole seconds and microseconds.
type interval struct {
	years, months, days, hours, minutes int
	wholeSeconds                        int64
	micros                              int64
}

func (iv interval) seconds() float64 {
	return float64(iv.wholeSeconds) + float64(iv.micros)/1e6
}

func javaRound(x float64) int64 {
	f := math.Floor(x)
	if x-f >= 0.5 {
		f++
	}
	return int64(f)
}

// parseInterval parses IntervalStyle=postgres output the way PGInterval
// does ("1 year 2 mons 3 days 04:05:06.5", "-1 days +02:00:00").
func parseInterval(s string) (interval, error) {
	var iv interval
	var seconds float64
	v := strings.ToLower(strings.NewReplacer("+", " ", "@", " ").Replace(s))
	fields := strings.Fields(v)
	var valueToken string
	for i, tok := range fields {
		if i%2 == 0 {
			end := strings.IndexByte(tok, ':')
			if end == -1 {
				valueToken = tok
				continue
			}
			off := 0
			if tok[0] == '-' {
				off = 1
			}
			h, err := strconv.Atoi(tok[off:end])
			if err != nil || end+3 > len(tok) {
				return iv, fmt.Errorf("invalid interval %q", s)
			}
			mi, err := strconv.Atoi(tok[end+1 : end+3])
			if err != nil {
				return iv, fmt.Errorf("invalid interval %q", s)
			}
			var sec float64
			if em := strings.IndexByte(tok[end+1:], ':'); em != -1 {
				if sec, err = strconv.ParseFloat(tok[end+1+em+1:], 64); err != nil {
					return iv, fmt.Errorf("invalid interval %q", s)
				}
			}
			if off == 1 {
				h, mi, sec = -h, -mi, -sec
			}
			iv.hours, iv.minutes, seconds = h, mi, sec
			valueToken = ""
			continue
		}
		n := func() (int, error) { return strconv.Atoi(valueToken) }
		var err error
		switch {
		case strings.HasPrefix(tok, "year"):
			iv.years, err = n()
		case strings.HasPrefix(tok, "mon"):
			iv.months, err = n()
		case strings.HasPrefix(tok, "day"):
			iv.days, err = n()
		case strings.HasPrefix(tok, "hour"):
			iv.hours, err = n()
		case strings.HasPrefix(tok, "min"):
			iv.minutes, err = n()
		case strings.HasPrefix(tok, "sec"):
			seconds, err = strconv.ParseFloat(valueToken, 64)
		}
		if err != nil {
			return iv, fmt.Errorf("invalid interval %q", s)
		}
	}
	total := javaRound(seconds * 1e6)
	iv.wholeSeconds = total / 1e6
	iv.micros = total % 1e6
	return iv, nil
}

// microDuration is Debezium's MicroDuration.durationMicros with the
// 365.25/12 days-per-month average, evaluated in the same double
// arithmetic order (explicit float64 conversions prevent fused
// multiply-adds, which would change the rounding).
func (iv interval) microDuration() int64 {
	const daysPerMonth = 365.25 / 12.0
	months := int32(iv.years)*12 + int32(iv.months) // Java int arithmetic
	numberOfDays := float64(float64(months)*daysPerMonth) + float64(iv.days)
	numberOfSeconds := float64(float64(float64(float64(float64(numberOfDays*24)+float64(iv.hours))*60)+float64(iv.minutes))*60) + iv.seconds()
	return javaLong(float64(numberOfSeconds*1e6) + 0)
}

// javaLong is Java's (long) cast of a double: truncation toward zero,
// saturating at the long range, NaN as 0.
func javaLong(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= 9.223372036854775807e18:
		return math.MaxInt64
	case f <= -9.223372036854775808e18:
		return math.MinInt64
	}
	return int64(f)
}

// isoString is Debezium's Interval.toIsoString.
func (iv interval) isoString() string {
	sec := strconv.FormatFloat(iv.seconds(), 'f', -1, 64)
	if i := strings.IndexByte(sec, '.'); i >= 0 {
		if len(sec)-i-1 > 9 {
			sec = sec[:i+10] // BigDecimal.setScale(9, DOWN)
		}
		sec = strings.TrimRight(strings.TrimRight(sec, "0"), ".")
	}
	if sec == "-0" {
		sec = "0"
	}
	return fmt.Sprintf("P%dY%dM%dDT%dH%dM%sS", iv.years, iv.months, iv.days, iv.hours, iv.minutes, sec)
}

// parseTimeDuration parses time without time zone into nanoseconds
// (Strings.asDuration: 24:00:00 is allowed).
func parseTimeDuration(s string) (int64, error) {
	n, rest, err := parseClock(s)
	if err != nil || rest != "" {
		return 0, fmt.Errorf("invalid time %q", s)
	}
	return n, nil
}
