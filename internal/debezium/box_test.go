package debezium

import (
	"testing"
	"time"
	"unsafe"
)

func TestBoxSharesOnlyEqualValues(t *testing.T) {
	// Large values, and not constants: Go boxes constants and integers
	// below 256 in static storage, which would hide a Get that boxes anew.
	vals := []int64{1<<40 + 7, 1<<40 + 8}
	seven, eight := vals[0], vals[1]
	var b Box[int64]
	if _, ok := b.Peek(0); ok {
		t.Fatal("the zero Box holds a value")
	}
	one := b.Get(seven)
	if one != any(seven) {
		t.Fatalf("Get(seven) = %v", one)
	}
	if again := b.Get(seven); !sameBox(one, again) {
		t.Fatal("Get of an equal value allocated a new box")
	}
	if p, ok := b.Peek(seven); !ok || !sameBox(p, one) {
		t.Fatal("Peek of the held value did not return its box")
	}
	if _, ok := b.Peek(eight); ok {
		t.Fatal("Peek of another value reported a box")
	}
	if other := b.Get(eight); other != any(eight) || one != any(seven) {
		t.Fatalf("after Get(eight): %v, and the earlier box reads %v", other, one)
	}

	var s Box[string]
	if v := s.Get(""); v != any("") {
		t.Fatalf("Get(\"\") = %#v", v)
	}

	var tb TimeBox
	ts := time.Date(2026, 12, 4, 10, 0, 0, 123456789, time.UTC)
	ms, us, ns := tb.Get(ts)
	if ms != any(ts.UnixMilli()) || us != any(ts.UnixMicro()) || ns != any(ts.UnixNano()) {
		t.Fatalf("TimeBox.Get = %v %v %v", ms, us, ns)
	}
	ms2, _, _ := tb.Get(ts.In(time.FixedZone("x", 3600)))
	if !sameBox(ms, ms2) {
		t.Fatal("an equal instant in another zone allocated new boxes")
	}
	if ms3, _, _ := tb.Get(ts.Add(time.Millisecond)); ms3 != any(ts.UnixMilli()+1) {
		t.Fatalf("a later instant: ms = %v", ms3)
	}
}

// sameBox reports whether a and b are the same interface value (the same
// boxed data, not only equal).
func sameBox(a, b any) bool {
	type iface struct{ typ, data unsafe.Pointer }
	return *(*iface)(unsafe.Pointer(&a)) == *(*iface)(unsafe.Pointer(&b))
}
