package herder

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// Bytes laid out by hand from Kafka Connect's schemas
// (IncrementalCooperativeConnectProtocol, protocol version 1): INT16
// version, STRING url (INT16 length), INT64 config offset, NULLABLE_BYTES
// allocation; assignments: INT16 version, INT16 error, STRING leader,
// STRING leader url, INT64 offset, ARRAY of (STRING connector, ARRAY of
// INT32 task, -1 for the connector), revoked likewise, INT32 delay.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMetadataEncoding(t *testing.T) {
	empty := encodeMetadata(WorkerMetadata{URL: "http://w1:8083/", ConfigOffset: 42})
	want := unhex(t, `0001 000f 687474703a2f2f77313a383038332f 000000000000002a ffffffff`)
	if !reflect.DeepEqual(empty, want) {
		t.Fatalf("metadata without allocation:\n got %x\nwant %x", empty, want)
	}
	// A member running connector "a" and task a-0, as a Java worker
	// announces it.
	java := unhex(t, `0001 000f 687474703a2f2f77313a383038332f 0000000000000007
		0000002b
		  0001 0000 0000 0000 0000000000000007
		  00000001 0001 61 00000002 ffffffff 00000000
		  00000000
		  00000000`)
	m, err := decodeMetadata(java)
	if err != nil {
		t.Fatal(err)
	}
	if m.URL != "http://w1:8083/" || m.ConfigOffset != 7 || !reflect.DeepEqual(m.Owned, Work{Connectors: []string{"a"}, Tasks: []TaskID{{"a", 0}}}) {
		t.Fatalf("decoded %+v", m)
	}
	if got := encodeMetadata(m); !reflect.DeepEqual(got, java) {
		t.Fatalf("re-encoded:\n got %x\nwant %x", got, java)
	}
	if _, err := decodeMetadata(java[:10]); err == nil {
		t.Fatal("truncated metadata accepted")
	}
}

func TestAssignmentEncoding(t *testing.T) {
	a := Assignment{Leader: "m1", LeaderURL: "http://h:1/", ConfigOffset: 9,
		Assigned: Work{Connectors: []string{"b"}, Tasks: []TaskID{{"b", 1}, {"b", 0}, {"c", 2}}},
		Revoked:  Work{Tasks: []TaskID{{"a", 0}}}, Delay: 2000}
	b := encodeAssignment(a)
	want := unhex(t, `0001 0000 0002 6d31 000b 687474703a2f2f683a312f 0000000000000009
		00000002 0001 62 00000003 ffffffff 00000000 00000001
		         0001 63 00000001 00000002
		00000001 0001 61 00000001 00000000
		000007d0`)
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("assignment:\n got %x\nwant %x", b, want)
	}
	got, err := decodeAssignment(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Leader != "m1" || got.Delay != 2000 || len(got.Assigned.Tasks) != 3 || got.Revoked.Tasks[0] != (TaskID{"a", 0}) {
		t.Fatalf("decoded %+v", got)
	}
	// An eager (version 0) assignment has no revoked list or delay.
	v0 := unhex(t, `0000 0000 0002 6d31 0000 0000000000000001 00000001 0001 61 00000001 ffffffff`)
	got, err = decodeAssignment(v0)
	if err != nil || len(got.Assigned.Connectors) != 1 || got.Delay != 0 || !got.Revoked.empty() {
		t.Fatalf("v0 assignment %+v %v", got, err)
	}
}
