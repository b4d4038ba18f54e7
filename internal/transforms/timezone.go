package transforms

import (
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	// Geographic time zones must resolve in a static binary run where the
	// system has no zoneinfo (distroless and scratch images).
	_ "time/tzdata"

	"github.com/tributary-io/tributary/connect"
)

// TimezoneConverterClass is Debezium's timezone converter.
const TimezoneConverterClass = "io.debezium.transforms.TimezoneConverter"

// Debezium's temporal schema names.
const (
	dbzTimestamp      = "io.debezium.time.Timestamp"
	dbzMicroTimestamp = "io.debezium.time.MicroTimestamp"
	dbzNanoTimestamp  = "io.debezium.time.NanoTimestamp"
	dbzZonedTimestamp = "io.debezium.time.ZonedTimestamp"
	dbzZonedTime      = "io.debezium.time.ZonedTime"
)

var tzSupported = map[string]bool{dbzMicroTimestamp: true, dbzNanoTimestamp: true, dbzTimestamp: true, dbzZonedTimestamp: true, dbzZonedTime: true, connect.TimestampName: true}

var tzUnsupported = map[string]bool{"io.debezium.time.Date": true, "io.debezium.time.MicroTime": true, "io.debezium.time.NanoTime": true,
	"io.debezium.time.Time": true, connect.DateName: true, connect.TimeName: true}

var (
	tzOffsetPattern = regexp.MustCompile(`^[+-]\d{2}:\d{2}(:\d{2})?$`)
	tzListPattern   = regexp.MustCompile(`^\[(source|topic|[".\w\s_]+):([".\w\s_]+(?::[".\w\s_]+)?(?:,|]$))+$`)
)

type tzMode int

const (
	tzAll tzMode = iota
	tzInclude
	tzExclude
)

// TimezoneConverter is io.debezium.transforms.TimezoneConverter: the
// temporal fields of change events are converted to converted.timezone,
// for the tables and topics include.list or exclude.list select.
type TimezoneConverter struct {
	logger                     *slog.Logger
	loc                        *time.Location
	include, exclude           bool
	topics, tables, unprefixed map[string]map[string]bool
}

func newTimezoneConverter(logger *slog.Logger) Factory {
	return func(props map[string]string) (Transform, error) {
		s, err := parseProps([]prop{strProp("converted.timezone"), listProp("include.list"), listProp("exclude.list")}, props)
		if err != nil {
			return nil, err
		}
		if s.isNull("converted.timezone") || strings.TrimSpace(s.str("converted.timezone")) == "" {
			return nil, invalidValue("converted.timezone", "null", "The 'converted.timezone' value is invalid: A value is required")
		}
		t := &TimezoneConverter{logger: logger, topics: map[string]map[string]bool{}, tables: map[string]map[string]bool{}, unprefixed: map[string]map[string]bool{}}
		inc, exc := s.list("include.list"), s.list("exclude.list")
		for _, l := range []struct {
			prop string
			list []string
		}{{"include.list", inc}, {"exclude.list", exc}} {
			if len(l.list) > 0 && !tzListPattern.MatchString("["+strings.Join(l.list, ", ")+"]") {
				kind := strings.TrimSuffix(l.prop, ".list")
				return nil, &ConfigError{Property: l.prop, Message: "Invalid " + kind + ` list format. Please specify a list of rules in the format of "source:<tablename>:<fieldnames>", "topic:<topicname>:<fieldnames>", "<matchname>:<fieldnames>"`}
			}
			if len(l.list) > 0 {
				break // Java validates the include list only when both are set
			}
		}
		tz := strings.TrimSpace(s.str("converted.timezone"))
		if t.loc, err = loadZone(tz); err != nil {
			return nil, &ConfigError{Property: "converted.timezone", Message: "Invalid timezone format. Please specify either a geographic timezone (e.g. America/Los_Angeles) or a UTC offset in the format of +/-hh:mm, (e.g. +08:00)."}
		}
		if len(inc) > 0 && len(exc) > 0 {
			return nil, &ConfigError{Property: "exclude.list", Message: "Both include and exclude lists are specified. Please specify only one."}
		}
		switch {
		case len(exc) > 0:
			t.exclude = true
			t.collect(exc)
		case len(inc) > 0:
			t.include = true
			t.collect(inc)
		}
		return t, nil
	}
}

// loadZone is ZoneId.of for the forms Debezium validates: +hh:mm[:ss]
// offsets and geographic ids.
func loadZone(tz string) (*time.Location, error) {
	if tzOffsetPattern.MatchString(tz) {
		sign := 1
		if tz[0] == '-' {
			sign = -1
		}
		h, _ := strconv.Atoi(tz[1:3])
		m, _ := strconv.Atoi(tz[4:6])
		sec := 0
		if len(tz) == 9 {
			sec, _ = strconv.Atoi(tz[7:9])
		}
		return time.FixedZone(tz, sign*(h*3600+m*60+sec)), nil
	}
	if tz == "Local" || tz == "" {
		return nil, fmt.Errorf("unknown time zone %q", tz)
	}
	return time.LoadLocation(tz)
}

// collect is collectTablesAndTopics: an item without "source:" or
// "topic:" takes the prefix of the item before it.
func (t *TimezoneConverter) collect(list []string) {
	prefix := ""
	for _, item := range list {
		parts := strings.Split(item, ":")
		var p, match, field string
		switch {
		case len(parts) == 1:
			match = parts[0]
		case len(parts) <= 3 && (strings.EqualFold(parts[0], "source") || strings.EqualFold(parts[0], "topic")):
			p, match = parts[0], parts[1]
			if len(parts) == 3 {
				field = parts[2]
			}
		case len(parts) <= 3:
			match, field = parts[0], parts[1]
		}
		if p != "" {
			prefix = p
		}
		m := t.unprefixed
		switch prefix {
		case "topic":
			m = t.topics
		case "source":
			m = t.tables
		}
		if m[match] == nil {
			m[match] = map[string]bool{}
		}
		if field != "" {
			m[match][field] = true
		}
	}
}

// match is handleMatchNameAndFields.
func (t *TimezoneConverter) match(table, topic string) (string, map[string]bool, bool) {
	if f, ok := t.topics[topic]; ok {
		return topic, f, true
	}
	if f, ok := t.tables[table]; ok && table != "" {
		return table, f, true
	}
	if f, ok := t.unprefixed[topic]; ok {
		return topic, f, true
	}
	if f, ok := t.unprefixed[table]; ok && table != "" {
		return table, f, true
	}
	return "", nil, false
}

// Apply implements Transform.
func (t *TimezoneConverter) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.Value == nil || !isEnvelope(rec.ValueSchema) {
		return rec, nil
	}
	env, err := requireStruct(rec.Value, "timezone conversion")
	if err != nil {
		return nil, err
	}
	table := ""
	if src, ok := rawGet(env, "source").(*connect.StructValue); ok && src != nil {
		table, _ = rawGet(src, "table").(string)
	}
	_, fields, matched := t.match(table, rec.Topic)
	var mode tzMode
	switch {
	case !t.include && !t.exclude:
		if matched {
			return rec, nil
		}
		mode = tzAll
	case t.include:
		if !matched {
			return rec, nil
		}
		mode = tzInclude
		if len(fields) == 0 {
			mode = tzAll
		}
	default:
		switch {
		case !matched:
			mode = tzAll
		case len(fields) > 0:
			mode = tzExclude
		default:
			return rec, nil
		}
	}
	out, err := t.convertEnvelope(env, mode, fields)
	if err != nil {
		return nil, err
	}
	cp := *rec
	cp.Value = out
	return &cp, nil
}

func (t *TimezoneConverter) convertEnvelope(env *connect.StructValue, mode tzMode, fields map[string]bool) (*connect.StructValue, error) {
	before, after, source := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for f := range fields {
		switch {
		case strings.HasPrefix(f, "source."):
			source[strings.TrimPrefix(f, "source.")] = true
		case strings.HasPrefix(f, "before."):
			before[strings.TrimPrefix(f, "before.")] = true
		case strings.HasPrefix(f, "after."):
			after[strings.TrimPrefix(f, "after.")] = true
		default:
			before[f], after[f] = true, true
		}
	}
	out := connect.NewStruct(env.Schema)
	copy(out.Values, env.Values)
	for i, f := range env.Schema.Fields {
		sv, ok := env.Values[i].(*connect.StructValue)
		if !ok || sv == nil {
			continue
		}
		var sel map[string]bool
		switch f.Name {
		case "before":
			sel = before
		case "after":
			sel = after
		case "source":
			if len(source) == 0 {
				continue
			}
			sel = source
		default:
			continue
		}
		nv, err := t.convertStruct(f.Name, sv, mode, sel)
		if err != nil {
			return nil, err
		}
		out.Values[i] = nv
	}
	return out, nil
}

func (t *TimezoneConverter) convertStruct(part string, v *connect.StructValue, mode tzMode, fields map[string]bool) (*connect.StructValue, error) {
	var out *connect.StructValue
	for i, f := range v.Schema.Fields {
		name := f.Schema.Name
		epoch := part == "source" && (f.Name == "ts_ms" || f.Name == "ts_us" || f.Name == "ts_ns")
		if name == "" && !epoch {
			continue
		}
		include := mode == tzAll || (mode == tzInclude && fields[f.Name]) || (mode == tzExclude && !fields[f.Name])
		if !include {
			continue
		}
		if tzUnsupported[name] {
			if t.logger != nil {
				t.logger.Warn("Skipping conversion for unsupported logical type: " + name + " for field: " + f.Name)
			}
			continue
		}
		if !tzSupported[name] && !epoch {
			continue
		}
		x := fieldValue(v, f, true)
		if x == nil {
			continue
		}
		var nx any
		var err error
		if name != "" {
			nx, err = t.convertTimestamp(name, x)
		} else {
			nx, err = t.convertEpoch(f.Name, x)
		}
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", part, f.Name, err)
		}
		if out == nil {
			out = connect.NewStruct(v.Schema)
			copy(out.Values, v.Values)
		}
		out.Values[i] = nx
	}
	if out == nil {
		return v, nil
	}
	return out, nil
}

// offsetAt is ZoneRules.getOffset(LocalDateTime): the zone's offset at
// the wall-clock time of u's fields.
func (t *TimezoneConverter) offsetAt(u time.Time) int {
	_, off := time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), u.Nanosecond(), t.loc).Zone()
	return off
}

// convertTimestamp is getTimestampWithTimezone. Numeric timestamps are
// shifted so that their UTC wall-clock time reads as the target zone's,
// as Debezium does; zoned strings keep their instant and change offset.
func (t *TimezoneConverter) convertTimestamp(name string, v any) (any, error) {
	switch name {
	case dbzZonedTimestamp:
		s, _ := v.(string)
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			if ts, err = time.Parse("2006-01-02T15:04Z07:00", s); err != nil {
				return nil, fmt.Errorf("%q is not an ISO-8601 offset date-time", s)
			}
		}
		off := t.offsetAt(ts)
		u := ts.In(time.FixedZone("", off))
		return isoLocal(u, true) + isoOffset(off), nil
	case dbzZonedTime:
		s, _ := v.(string)
		ts, err := time.Parse("15:04:05.999999999Z07:00", s)
		if err != nil {
			if ts, err = time.Parse("15:04Z07:00", s); err != nil {
				return nil, fmt.Errorf("%q is not an ISO-8601 offset time", s)
			}
		}
		_, off := time.Now().In(t.loc).Zone()
		u := ts.In(time.FixedZone("", off))
		return isoLocal(u, false) + isoOffset(off), nil
	case dbzMicroTimestamp, dbzNanoTimestamp, dbzTimestamp:
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("%s value is %T, not int64", name, v)
		}
		var u time.Time
		switch name {
		case dbzMicroTimestamp:
			u = time.UnixMicro(n).UTC()
		case dbzNanoTimestamp:
			u = time.Unix(0, n).UTC()
		default:
			u = time.UnixMilli(n).UTC()
		}
		shifted := u.Add(-time.Duration(t.offsetAt(u)) * time.Second)
		switch name {
		case dbzMicroTimestamp:
			return shifted.UnixMicro(), nil
		case dbzNanoTimestamp:
			return shifted.UnixNano(), nil
		}
		return shifted.UnixMilli(), nil
	case connect.TimestampName:
		var u time.Time
		switch x := v.(type) {
		case time.Time:
			u = x.UTC()
		case int64:
			u = time.UnixMilli(x).UTC()
		default:
			return nil, fmt.Errorf("%s value is %T", name, v)
		}
		shifted := u.Add(-time.Duration(t.offsetAt(u)) * time.Second)
		if _, raw := v.(int64); raw {
			return shifted.UnixMilli(), nil
		}
		return shifted, nil
	}
	return v, nil
}

// convertEpoch is getEpochWithTimezone: source.ts_* move forward by the
// zone's offset at that instant.
func (t *TimezoneConverter) convertEpoch(field string, v any) (any, error) {
	n, ok := v.(int64)
	if !ok {
		return nil, fmt.Errorf("epoch field value should be a java.lang.Long")
	}
	var u time.Time
	switch field {
	case "ts_ms":
		u = time.UnixMilli(n)
	case "ts_us":
		u = time.UnixMicro(n)
	default:
		u = time.Unix(0, n)
	}
	_, off := u.In(t.loc).Zone()
	u = u.Add(time.Duration(off) * time.Second)
	switch field {
	case "ts_ms":
		return u.UnixMilli(), nil
	case "ts_us":
		return u.UnixMicro(), nil
	}
	return u.UnixNano(), nil
}

// isoLocal is ISO_LOCAL_DATE_TIME (withDate) or ISO_LOCAL_TIME: seconds
// always, the fraction only when non-zero and without trailing zeros.
func isoLocal(u time.Time, withDate bool) string {
	layout := "15:04:05.999999999"
	if withDate {
		layout = "2006-01-02T" + layout
	}
	return u.Format(layout)
}

// isoOffset is DateTimeFormatter's appendOffsetId: "Z", "+hh:mm" or
// "+hh:mm:ss".
func isoOffset(off int) string {
	if off == 0 {
		return "Z"
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	s := fmt.Sprintf("%c%02d:%02d", sign, off/3600, off/60%60)
	if off%60 != 0 {
		s += fmt.Sprintf(":%02d", off%60)
	}
	return s
}
