package jsonschema

import "unicode/utf16"

// Confluent writes JSON schemas through everit's printer, which walks Java
// HashMaps: property names and annotations come out in java.util.HashMap
// iteration order. javaHashMap reproduces that order (JDK 17's HashMap:
// bucket index, then insertion order within a bucket, with its resize and
// copy-constructor sizing), so that the schema text matches Confluent's
// byte for byte and registering it finds the same id. Tree bins (eight or
// more names colliding in one bucket) are not reproduced.
type javaHashMap struct {
	table     [][]string
	size      int
	threshold int
	index     map[string]bool
}

func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// spread is HashMap.hash: the high half folded into the low.
func spread(s string) uint32 {
	h := uint32(javaStringHash(s))
	return h ^ (h >> 16)
}

func tableSizeFor(c int) int {
	n := 1
	for n < c {
		n <<= 1
	}
	return n
}

// newJavaHashMap is new HashMap<>() (initialCapacity 0) or
// new HashMap<>(initialCapacity).
func newJavaHashMap(initialCapacity int) *javaHashMap {
	m := &javaHashMap{index: map[string]bool{}}
	if initialCapacity > 0 {
		m.threshold = tableSizeFor(initialCapacity)
	}
	return m
}

// copyJavaHashMap is new HashMap<>(source) on JDK 17.
func copyJavaHashMap(source []string) *javaHashMap {
	m := newJavaHashMap(0)
	if s := len(source); s > 0 {
		ft := float32(s)/0.75 + 1
		m.threshold = tableSizeFor(int(ft))
	}
	for _, k := range source {
		m.put(k)
	}
	return m
}

func (m *javaHashMap) resize() {
	oldCap := len(m.table)
	var newCap, newThr int
	switch {
	case oldCap > 0:
		newCap = oldCap << 1
		if oldCap >= 16 {
			newThr = m.threshold << 1
		}
	case m.threshold > 0:
		newCap = m.threshold
	default:
		newCap, newThr = 16, 12
	}
	if newThr == 0 {
		newThr = int(float32(newCap) * 0.75)
	}
	table := make([][]string, newCap)
	for _, bucket := range m.table {
		for _, k := range bucket {
			i := spread(k) & uint32(newCap-1)
			table[i] = append(table[i], k)
		}
	}
	m.table, m.threshold = table, newThr
}

func (m *javaHashMap) put(k string) {
	if m.index[k] {
		return
	}
	if m.table == nil {
		m.resize()
	}
	i := spread(k) & uint32(len(m.table)-1)
	m.table[i] = append(m.table[i], k)
	m.index[k] = true
	m.size++
	if m.size > m.threshold {
		m.resize()
	}
}

func (m *javaHashMap) keys() []string {
	out := make([]string, 0, m.size)
	for _, b := range m.table {
		out = append(out, b...)
	}
	return out
}

// hashMapOrder is the iteration order of a HashMap filled with keys in
// order, then (copied) passed through new HashMap<>(map) as everit's schema
// builders do.
func hashMapOrder(keys []string, copied bool) []string {
	m := newJavaHashMap(0)
	for _, k := range keys {
		m.put(k)
	}
	if !copied {
		return m.keys()
	}
	return copyJavaHashMap(m.keys()).keys()
}

// jsonObjectOrder is the order org.json's JSONObject(Map) writes a map in:
// it copies the map into new HashMap<>(size).
func jsonObjectOrder(keys []string) []string {
	src := hashMapOrder(keys, false)
	m := newJavaHashMap(len(src))
	for _, k := range src {
		m.put(k)
	}
	return m.keys()
}
