// Package configtest checks that every property a definition accepts has
// an effect: for each key, a valid value other than its default must
// change what the component parses from its configuration. A property
// that changes nothing was accepted and ignored; it must be implemented,
// refused (config.Def.Refuse, with the reason), or shown to work by a
// named behavioural test (for a key read outside the parsed settings).
package configtest

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect/config"
)

// Walk parses base, then base plus each key of def with candidate values
// (values[key] first, then ones derived from the key's type and default),
// and fails t for each key no valid value of which makes settings' result
// differ from base's, unless behavioural names the test that covers it
// (a key read outside the parsed settings, e.g. by the runtime). A key
// every candidate of which is refused as "not supported" is refused, and
// passes.
// settings turns parsed values into what the component uses; it must be
// deterministic (no pointers to fresh objects compared by address: use
// reflect.DeepEqual-friendly values).
func Walk(t *testing.T, def *config.Def, base map[string]string, settings func(*config.Values) (any, error), o Options) {
	values, behavioural := o.Values, o.Behavioural
	t.Helper()
	parse := func(props map[string]string) (any, error) {
		v, err := def.Parse(props)
		if err != nil {
			return nil, err
		}
		return settings(v)
	}
	// A key tried with its companions (o.With) is compared with the base
	// plus those companions, so that only the key itself makes a change.
	baseWith := func(key string) (any, error) {
		props := make(map[string]string, len(base))
		for bk, bv := range base {
			props[bk] = bv
		}
		for wk, wv := range o.With[key] {
			props[wk] = wv
		}
		return parse(props)
	}
	want, err := parse(base)
	if err != nil {
		t.Fatalf("the base configuration does not parse: %v", err)
	}
	again, _ := parse(base)
	if !reflect.DeepEqual(want, again) {
		t.Fatal("parsing the same configuration twice gives different settings: settings must be comparable")
	}
	var silent []string
	for _, k := range def.Keys() {
		if _, ok := base[k.Name]; ok {
			continue
		}
		if _, ok := behavioural[k.Name]; ok {
			continue
		}
		ref := want
		if len(o.With[k.Name]) > 0 {
			// Companions that need the key itself (a channel and its
			// settings) do not parse alone: the key's first valid value is
			// then the reference another value must differ from.
			if ref, err = baseWith(k.Name); err != nil {
				ref = nil
			}
		}
		changed, parsed, refused := false, false, false
		var tried []string
		for _, c := range candidates(k, values[k.Name]) {
			props := make(map[string]string, len(base)+1)
			for bk, bv := range base {
				props[bk] = bv
			}
			for wk, wv := range o.With[k.Name] {
				props[wk] = wv
			}
			props[k.Name] = c
			got, err := parse(props)
			if err != nil {
				refused = refused || strings.Contains(err.Error(), "supported")
				tried = append(tried, fmt.Sprintf("%q (%v)", c, err))
				continue
			}
			parsed = true
			if ref == nil {
				ref = got
				continue
			}
			if !reflect.DeepEqual(ref, got) {
				changed = true
				break
			}
			tried = append(tried, fmt.Sprintf("%q (no change)", c))
		}
		// Every other value refused with the reason: the key is refused.
		if !changed && !parsed && refused {
			continue
		}
		if !changed {
			silent = append(silent, fmt.Sprintf("%s: tried %s", k.Name, strings.Join(tried, ", ")))
		}
	}
	sort.Strings(silent)
	for _, s := range silent {
		t.Errorf("accepted and without effect on the parsed settings (implement, refuse with the reason, or name its behavioural test): %s", s)
	}
	for k, test := range behavioural {
		if _, ok := def.Lookup(k); !ok {
			t.Errorf("behavioural entry %s (%s) names a key the definition does not have", k, test)
		}
	}
}

// Options tune Walk for a component.
type Options struct {
	// Values are tried first for a key (valid non-default values the
	// type alone cannot guess).
	Values map[string][]string
	// With are properties set beside a key while it is tried (a key that
	// only acts together with another), compared with base plus them.
	With map[string]map[string]string
	// Behavioural names, per key read outside the parsed settings, the
	// test that shows its effect.
	Behavioural map[string]string
}

// candidates are values to try for k: the explicit ones first, then
// values other than the default derived from its type.
func candidates(k *config.Key, explicit []string) []string {
	out := append([]string(nil), explicit...)
	def := strings.TrimSpace(k.Default)
	if len(k.OneOf) > 0 {
		for _, o := range k.OneOf {
			if !strings.EqualFold(o, def) {
				out = append(out, o)
			}
		}
		return out
	}
	switch k.Type {
	case config.TypeBoolean:
		if strings.EqualFold(def, "true") {
			return append(out, "false")
		}
		return append(out, "true")
	case config.TypeInt, config.TypeLong:
		if n, err := strconv.ParseInt(def, 10, 64); err == nil {
			out = append(out, strconv.FormatInt(n+1, 10), strconv.FormatInt(n*2, 10), strconv.FormatInt(n-1, 10))
		}
		return append(out, "1", "2", "1000", "0", "-1")
	case config.TypeDouble:
		return append(out, "0.5", "2", "1000")
	case config.TypeList:
		return append(out, "x", "public.t", "db.t", "a,b")
	}
	return append(out, "x", "public.t", "1", "127.0.0.2", "x.y.z")
}
