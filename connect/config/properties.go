package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseProperties reads the text of a Java properties file as
// java.util.Properties.load does: # and ! comment lines, a backslash at
// the end of a line continuing it on the next (whose leading white space
// is dropped), keys ended by an unescaped '=', ':' or white space, and the
// escapes \t \n \r \f \uXXXX and \<any character>. Kafka Connect reads
// its worker and connector .properties files this way. Keys and values
// come out trimmed, as Kafka's ConfigDef trims what it parses. A file that
// is not valid UTF-8 is read as ISO-8859-1, Properties.load's encoding.
func parseProperties(data []byte) (map[string]string, error) {
	text := string(data)
	if !utf8.Valid(data) {
		rs := make([]rune, len(data))
		for i, b := range data {
			rs[i] = rune(b)
		}
		text = string(rs)
	}
	text = strings.TrimPrefix(text, "\ufeff")
	out := map[string]string{}
	lines := splitNaturalLines(text)
	for i := 0; i < len(lines); i++ {
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		first := i + 1
		// join continuation lines: an odd number of trailing backslashes
		for endsContinued(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if endsContinued(line) {
			line = line[:len(line)-1] // a continuation at the end of the file
		}
		k, v, err := splitProperty(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", first, err)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

func splitNaturalLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

func endsContinued(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitProperty splits a logical line into its unescaped key and value.
func splitProperty(line string) (key, value string, err error) {
	end := len(line)
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			end = i
			break
		}
	}
	rest := line[end:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	if key, err = unescapeProperty(line[:end]); err != nil {
		return "", "", err
	}
	if value, err = unescapeProperty(rest); err != nil {
		return "", "", fmt.Errorf("%s: %w", key, err)
	}
	return key, value, nil
}

func unescapeProperty(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 > len(s) {
				return "", fmt.Errorf("malformed \\uxxxx escape %q", s[i-1:])
			}
			n, err := strconv.ParseUint(s[i+1:i+5], 16, 16)
			if err != nil {
				return "", fmt.Errorf("malformed \\uxxxx escape %q", s[i-1:i+5])
			}
			r, used := rune(n), 4
			// a character outside the BMP, written as a surrogate pair
			if r >= 0xD800 && r < 0xDC00 && i+11 <= len(s) && s[i+5] == '\\' && s[i+6] == 'u' {
				if lo, err := strconv.ParseUint(s[i+7:i+11], 16, 16); err == nil && lo >= 0xDC00 && lo < 0xE000 {
					r = (r-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
					used += 6
				}
			}
			b.WriteRune(r)
			i += used
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// readProperties reads a Java properties file (see parseProperties).
func readProperties(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	props, err := parseProperties(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return props, nil
}

// IsPropertiesFile reports whether path names a Java properties file, the
// form Kafka Connect's connect-standalone and connect-distributed take.
func IsPropertiesFile(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".properties")
}

// parsePropertiesFile reads a Kafka Connect .properties file: a connector
// when it sets connector.class (its name from the name property, as
// connect-standalone requires), worker properties otherwise.
func parsePropertiesFile(data []byte, baseDir string) (*File, error) {
	props, err := parseProperties(data)
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(props))
	for k, v := range props {
		m[k] = v
	}
	out := &File{}
	if _, ok := props["connector.class"]; !ok {
		if out.Worker, _, err = flatten("worker", m, baseDir); err != nil {
			return nil, err
		}
		return out, nil
	}
	c := Connector{Name: props["name"]}
	if c.Name == "" {
		return nil, fmt.Errorf("connector: missing \"name\" (connect-standalone requires it in a connector's properties file)")
	}
	if c.Config, c.Raw, err = flatten("config", m, baseDir); err != nil {
		return nil, err
	}
	delete(c.Config, "name")
	delete(c.Raw, "name")
	out.Connectors = append(out.Connectors, c)
	return out, nil
}
