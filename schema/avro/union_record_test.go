package avro

import (
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// A record branch of a multi-branch union is a field of the Connect union
// struct, optional like every member, and ToConnect builds its value with
// that schema; encoding such a value again must work (it failed with
// "mismatching struct schema", found while seeding FuzzAvroToConnect).
func TestUnionRecordMemberRoundTrip(t *testing.T) {
	c, _ := newFuzzConverter(t)
	r, err := c.reader("t4", 4)
	if err != nil {
		t.Fatal(err)
	}
	u := r.cs.Field("u").Schema
	inner := u.Field("Inner")
	in := connect.NewStruct(inner.Schema)
	in.Values[0] = int32(5)
	us := connect.NewStruct(u)
	us.Values[inner.Index] = in
	v := sampleValue(r.cs, false, 0).(*connect.StructValue)
	v.Set("u", us)
	data, err := c.FromConnect("t4", r.cs, v)
	if err != nil {
		t.Fatal(err)
	}
	_, back, err := c.ToConnect("t4", data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.FromConnect("t4", r.cs, back)
	if err != nil {
		t.Fatalf("re-encoding the decoded value: %v", err)
	}
	if string(again) != string(data) {
		t.Fatalf("re-encoded %x, want %x", again, data)
	}
}
