package herder

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// Kafka Connect's group protocol (WorkerCoordinator): protocol type
// "connect"; sub-protocol "compatible" is IncrementalCooperativeConnectProtocol
// version 1, "sessioned" the same format with version 2 (signed internal
// requests, which Tributary does not offer).
const (
	connectProtocolType = "connect"
	protocolCompatible  = "compatible"
	connectProtocolV1   = 1
	connectorTaskMarker = -1 // ConnectProtocol.CONNECTOR_TASK

	assignmentNoError        = 0
	assignmentConfigMismatch = 1
)

// WorkerMetadata is a member's subscription: its REST URL, how far it has
// read the config topic, and what it currently runs.
type WorkerMetadata struct {
	URL          string
	ConfigOffset int64
	Owned        Work
}

// Work is a set of connectors and tasks.
type Work struct {
	Connectors []string
	Tasks      []TaskID
}

func (w Work) empty() bool { return len(w.Connectors) == 0 && len(w.Tasks) == 0 }

func (w Work) size() int { return len(w.Connectors) + len(w.Tasks) }

// Assignment is what the leader gives a member: the work newly assigned
// and the work to give up (incremental cooperative rebalancing), and a
// delay after which to rejoin when departed workers' work is being held
// back for scheduled.rebalance.max.delay.ms.
type Assignment struct {
	Error        int16
	Leader       string
	LeaderURL    string
	ConfigOffset int64
	Assigned     Work
	Revoked      Work
	Delay        int32
}

type encoder struct{ b []byte }

func (e *encoder) i16(v int16) { e.b = binary.BigEndian.AppendUint16(e.b, uint16(v)) }
func (e *encoder) i32(v int32) { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)) }
func (e *encoder) i64(v int64) { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)) }
func (e *encoder) str(s string) {
	e.i16(int16(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) nullableBytes(b []byte) {
	if b == nil {
		e.i32(-1)
		return
	}
	e.i32(int32(len(b)))
	e.b = append(e.b, b...)
}

// work encodes [Connector Assignment]: connector => [task], with -1 for
// the connector instance itself. Sorted so encodings are deterministic.
func (e *encoder) work(w Work) {
	byConn := map[string][]int32{}
	for _, c := range w.Connectors {
		byConn[c] = append(byConn[c], connectorTaskMarker)
	}
	for _, t := range w.Tasks {
		byConn[t.Connector] = append(byConn[t.Connector], int32(t.Task))
	}
	names := make([]string, 0, len(byConn))
	for n := range byConn {
		names = append(names, n)
	}
	sort.Strings(names)
	e.i32(int32(len(names)))
	for _, n := range names {
		e.str(n)
		ts := byConn[n]
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		e.i32(int32(len(ts)))
		for _, t := range ts {
			e.i32(t)
		}
	}
}

type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (d *decoder) has(n int) bool {
	if d.err != nil {
		return false
	}
	if len(d.b) < n {
		d.err = errShort
		return false
	}
	return true
}
func (d *decoder) i16() int16 {
	if !d.has(2) {
		return 0
	}
	v := int16(binary.BigEndian.Uint16(d.b))
	d.b = d.b[2:]
	return v
}
func (d *decoder) i32() int32 {
	if !d.has(4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(d.b))
	d.b = d.b[4:]
	return v
}
func (d *decoder) i64() int64 {
	if !d.has(8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}
func (d *decoder) str() string {
	n := int(d.i16())
	if n < 0 || !d.has(n) {
		if d.err == nil {
			d.err = fmt.Errorf("invalid string length %d", n)
		}
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
func (d *decoder) nullableBytes() []byte {
	n := int(d.i32())
	if n < 0 || d.err != nil {
		return nil
	}
	if !d.has(n) {
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}
func (d *decoder) work() Work {
	var w Work
	n := int(d.i32())
	if n < 0 {
		return w
	}
	for i := 0; i < n && d.err == nil; i++ {
		c := d.str()
		m := int(d.i32())
		for j := 0; j < m && d.err == nil; j++ {
			t := d.i32()
			if t == connectorTaskMarker {
				w.Connectors = append(w.Connectors, c)
			} else {
				w.Tasks = append(w.Tasks, TaskID{c, int(t)})
			}
		}
	}
	return w
}

// encodeMetadata is IncrementalCooperativeConnectProtocol.serializeMetadata
// (version 1).
func encodeMetadata(m WorkerMetadata) []byte {
	e := &encoder{}
	e.i16(connectProtocolV1)
	e.str(m.URL)
	e.i64(m.ConfigOffset)
	var alloc []byte
	if !m.Owned.empty() {
		alloc = encodeAssignment(Assignment{ConfigOffset: m.ConfigOffset, Assigned: m.Owned})
	}
	e.nullableBytes(alloc)
	return e.b
}

func decodeMetadata(b []byte) (WorkerMetadata, error) {
	d := &decoder{b: b}
	version := d.i16()
	if d.err == nil && version < 0 {
		return WorkerMetadata{}, fmt.Errorf("unsupported connect protocol version %d", version)
	}
	m := WorkerMetadata{URL: d.str(), ConfigOffset: d.i64()}
	if d.err != nil {
		return m, fmt.Errorf("connect worker metadata: %w", d.err)
	}
	if version >= connectProtocolV1 && len(d.b) > 0 {
		alloc := d.nullableBytes()
		if d.err != nil {
			return m, fmt.Errorf("connect worker metadata allocation: %w", d.err)
		}
		if alloc != nil {
			a, err := decodeAssignment(alloc)
			if err != nil {
				return m, err
			}
			m.Owned = a.Assigned
		}
	}
	return m, nil
}

// encodeAssignment is IncrementalCooperativeConnectProtocol.serializeAssignment
// (version 1).
func encodeAssignment(a Assignment) []byte {
	e := &encoder{}
	e.i16(connectProtocolV1)
	e.i16(a.Error)
	e.str(a.Leader)
	e.str(a.LeaderURL)
	e.i64(a.ConfigOffset)
	e.work(a.Assigned)
	e.work(a.Revoked)
	e.i32(a.Delay)
	return e.b
}

func decodeAssignment(b []byte) (Assignment, error) {
	d := &decoder{b: b}
	version := d.i16()
	a := Assignment{Error: d.i16(), Leader: d.str(), LeaderURL: d.str(), ConfigOffset: d.i64()}
	if d.err != nil {
		return a, fmt.Errorf("connect assignment: %w", d.err)
	}
	if version < 0 {
		return a, fmt.Errorf("unsupported connect protocol version %d", version)
	}
	a.Assigned = d.work()
	// Version 0 (eager) assignments end here; version 1 fields tolerate
	// being absent, as Kafka Connect's schema does.
	if len(d.b) > 0 && d.err == nil {
		a.Revoked = d.work()
	}
	if len(d.b) >= 4 && d.err == nil {
		a.Delay = d.i32()
	}
	if d.err != nil {
		return a, fmt.Errorf("connect assignment: %w", d.err)
	}
	return a, nil
}
