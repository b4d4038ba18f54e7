package jackson

import "testing"

// Expected outputs are what Jackson 2's default ObjectMapper writes for
// the same Java strings.
func TestAppendStringMatchesJackson(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{`say "hi"`, `"say \"hi\""`},
		{`back\slash`, `"back\\slash"`},
		{"tab\tnl\ncr\rbs\bff\f", `"tab\tnl\ncr\rbs\bff\f"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001F"`},
		{"<a&b>", `"<a&b>"`},
		{"\u2028\u2029", "\"\u2028\u2029\""},
		{"\x7f", "\"\x7f\""},
		{"zażółć 日本", `"zażółć 日本"`},
		{"", `""`},
	} {
		if got := string(AppendString(nil, tc.in)); got != tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}
