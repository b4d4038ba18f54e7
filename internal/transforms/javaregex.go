package transforms

import (
	"fmt"
	"regexp"
	"strings"
)

// Java regular expressions are compiled with Go's regexp (RE2). The
// syntax Kafka and Debezium users write for topic names (classes, groups,
// quantifiers, alternation, named groups) is the same; look-around and
// back-references are not supported and are reported as invalid.

// regexCheck is Kafka's RegexValidator message for an invalid pattern.
func regexCheck(v string) string {
	if _, err := regexp.Compile(v); err != nil {
		return "Invalid regex: " + err.Error()
	}
	return ""
}

// compileWhole compiles a pattern for Matcher.matches(): the whole input
// must match.
func compileWhole(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// javaReplacement is a parsed java.util.regex.Matcher replacement string:
// "$n" and "${name}" refer to groups, a backslash escapes the next
// character. Go's Regexp.Expand differs ("$1x" is the group named "1x"),
// so replacements are parsed here, once, at configuration time.
type javaReplacement []replPart

type replPart struct {
	lit   string
	group int // -1 for a literal
}

// parseJavaReplacement checks repl against re as Matcher.appendReplacement
// would at run time, so a bad group reference is a configuration error.
func parseJavaReplacement(repl string, re *regexp.Regexp) (javaReplacement, error) {
	var out javaReplacement
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, replPart{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	groups := re.NumSubexp()
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i == len(repl) {
				return nil, fmt.Errorf("character to be escaped is missing")
			}
			lit.WriteByte(repl[i])
		case '$':
			i++
			if i == len(repl) {
				return nil, &DataError{Msg: "Illegal group reference: group index is missing"}
			}
			if repl[i] == '{' {
				end := strings.IndexByte(repl[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("named capturing group is missing trailing '}'")
				}
				name := repl[i+1 : i+end]
				if name == "" {
					return nil, fmt.Errorf("named capturing group has 0 length name")
				}
				idx := re.SubexpIndex(name)
				if idx < 0 {
					return nil, dataErrorf("No group with name {%s}", name)
				}
				flush()
				out = append(out, replPart{group: idx})
				i += end
				continue
			}
			if repl[i] < '0' || repl[i] > '9' {
				return nil, &DataError{Msg: "Illegal group reference"}
			}
			ref := int(repl[i] - '0')
			// As Java: take further digits while the group exists.
			for i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
				next := ref*10 + int(repl[i+1]-'0')
				if next > groups {
					break
				}
				ref = next
				i++
			}
			if ref > groups {
				return nil, dataErrorf("No group %d", ref)
			}
			flush()
			out = append(out, replPart{group: ref})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out, nil
}

// expand builds the replacement for one match (submatch indexes m in s).
func (r javaReplacement) expand(b *strings.Builder, s string, m []int) {
	for _, p := range r {
		if p.group < 0 {
			b.WriteString(p.lit)
			continue
		}
		if lo := m[2*p.group]; lo >= 0 {
			b.WriteString(s[lo:m[2*p.group+1]])
		}
	}
}

// replaceFirst is Matcher.replaceFirst.
func (r javaReplacement) replaceFirst(re *regexp.Regexp, s string) string {
	m := re.FindStringSubmatchIndex(s)
	if m == nil {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:m[0]])
	r.expand(&b, s, m)
	b.WriteString(s[m[1]:])
	return b.String()
}
