package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal"
)

// sourceSchema is io.debezium.connector.postgresql.Source
// (PostgresSourceInfoStructMaker).
func sourceSchema(adjust string) *connect.Schema {
	return debezium.SourceSchemaBuilder().Name(debezium.AdjustName(adjust, "io.debezium.connector.postgresql.Source")).
		Field("schema", connect.Prim(connect.String)).
		Field("table", connect.Prim(connect.String)).
		Field("txId", connect.OptionalPrim(connect.Int64)).
		Field("lsn", connect.OptionalPrim(connect.Int64)).
		Field("xmin", connect.OptionalPrim(connect.Int64)).
		Field("origin", connect.OptionalPrim(connect.String)).
		Field("origin_lsn", connect.OptionalPrim(connect.Int64)).
		MustBuild()
}

// Offset keys of PostgresOffsetContext / SourceInfo.
const (
	keyLSN              = "lsn"
	keyLSNProc          = "lsn_proc"
	keyLSNCommit        = "lsn_commit"
	keyTxID             = "txId"
	keyTsUsec           = "ts_usec"
	keyXmin             = "xmin"
	keyMessageType      = "messageType"
	keySnapshot         = "snapshot"
	keyLastSnapshot     = "last_snapshot_record"
	keySnapshotComplete = "snapshot_completed"
	keyTransactionID    = "transaction_id"
	keyTxTablePrefix    = "transaction_data_collection_order_"
)

// Values of the offset's "snapshot" key (SnapshotType).
const (
	snapshotInitial     = "INITIAL"
	snapshotBlocking    = "BLOCKING"
	snapshotIncremental = "INCREMENTAL"
)

// offsetState is the connector's position: Debezium's
// PostgresOffsetContext plus the SourceInfo fields that go into events.
type offsetState struct {
	lsn        pglogrepl.LSN // lsn of the last event (0 = unset)
	lsnProc    pglogrepl.LSN // last completely processed LSN (0 = unset)
	lsnCommit  pglogrepl.LSN // end LSN of the last processed commit (0 = unset)
	txID       *int64
	xmin       *int64
	ts         time.Time // commit time (streaming) or read time (snapshot)
	msgType    string    // BEGIN, COMMIT, INSERT, ...
	originName string
	originLSN  pglogrepl.LSN

	// snapshot state
	snapshotRunning   bool // snapshot "INITIAL" present
	lastSnapshotRec   bool
	snapshotCompleted bool
	// snapshotType is the offset's "snapshot" for records of ad hoc
	// snapshots: BLOCKING, or INCREMENTAL for the rows of an incremental
	// snapshot window (CommonOffsetContext.incrementalSnapshotEvents).
	snapshotType string
	// blockingInterrupted: the stored offset is a blocking snapshot's
	// that did not complete (it is not resumed, as in Debezium).
	blockingInterrupted bool

	// inc is the incremental snapshot context, stored with every
	// streaming and incremental snapshot record while a snapshot runs.
	inc *signal.Incremental
	// incNotice says why a stored incremental snapshot position was
	// dropped (a key Tributary cannot read); the table is read again.
	incNotice error

	// transaction metadata context (provide.transaction.metadata)
	txInProgress string
	txTotal      int64
	txCounts     []debezium.CollectionCount

	// boxes are the values boxed for the last offset map and source
	// block (see offsetBoxes).
	boxes offsetBoxes
}

// offsetMap is PostgresOffsetContext.getOffset. Its integers are boxed
// through o.boxes: from one event to the next most of them (commit time,
// xid, commit LSN) do not change, and the event's LSN is usually its
// lsn_proc too. The map itself is new for every call: the runtime keeps
// it with the record until the offset is committed.
func (o *offsetState) offsetMap() map[string]any {
	b := &o.boxes
	m := make(map[string]any, 8)
	if !o.ts.IsZero() {
		_, m[keyTsUsec], _ = b.ts.Get(o.ts)
	}
	if o.txID != nil {
		m[keyTxID] = b.txID.Get(*o.txID)
	}
	if o.lsn != 0 {
		m[keyLSN] = b.lsnBox(o.lsn)
	}
	if o.xmin != nil {
		m[keyXmin] = b.xmin.Get(*o.xmin)
	}
	kind := o.snapshotType
	if o.snapshotRunning {
		kind = snapshotInitial
	}
	if kind != "" {
		m[keySnapshot] = kind
		m[keyLastSnapshot] = o.lastSnapshotRec
		m[keySnapshotComplete] = o.snapshotCompleted
	}
	if o.lsnProc != 0 {
		m[keyLSNProc] = b.lsnBox(o.lsnProc)
	}
	if o.lsnCommit != 0 {
		m[keyLSNCommit] = b.lsnBox(o.lsnCommit)
	}
	if o.msgType != "" {
		m[keyMessageType] = messageTypeValue(o.msgType)
	}
	// PostgresOffsetContext.getOffset: transaction and incremental
	// snapshot context go into every offset but those of snapshot
	// records. Unlike Debezium, blocking snapshot records keep the
	// incremental snapshot context too (they run between transactions, so
	// there is no transaction context): a restart during a blocking
	// snapshot would otherwise forget an incremental snapshot in progress.
	if kind != snapshotInitial {
		if o.txInProgress != "" {
			m[keyTransactionID] = o.txInProgress
			for _, c := range o.txCounts {
				m[keyTxTablePrefix+c.Collection] = c.Count
			}
		}
		if o.inc != nil {
			o.inc.Store(m)
		}
	}
	return m
}

// messageTypeValue boxes the offset's messageType without an allocation
// for the types the stream sets (constants are boxed statically).
func messageTypeValue(t string) any {
	switch t {
	case "BEGIN":
		return "BEGIN"
	case "COMMIT":
		return "COMMIT"
	case "INSERT":
		return "INSERT"
	case "UPDATE":
		return "UPDATE"
	case "DELETE":
		return "DELETE"
	case "TRUNCATE":
		return "TRUNCATE"
	case "MESSAGE":
		return "MESSAGE"
	}
	return t
}

// offsetBoxes keeps the values boxed for the last offset map and source
// block built from an offsetState, so that the next ones reuse those that
// did not change instead of boxing them again: building the offset map
// twice and the source block once per change, each value boxed anew and
// each source field looked up by name, was a third of the streaming
// task's CPU in the pg-stream-issue14 profile. Boxed values are never
// changed, so records keep them safely, and a copy of an offsetState
// (parallel snapshot readers, incremental snapshot windows) may share
// them.
type offsetBoxes struct {
	lsn, lsnPrev, txID, xmin debezium.Box[int64]
	ts                       debezium.TimeBox
	seqCommit, seqLSN        pglogrepl.LSN
	seq                      any

	// The source schema's field indexes, and the values that only change
	// with the table or the configuration.
	src                  *connect.Schema
	ix                   sourceIndexes
	name, db             debezium.Box[string]
	table                tableID
	schemaV, tableV      any
	connectorV, versionV any
}

// lsnBox boxes an LSN, sharing the box of the last two LSNs boxed: an
// event's lsn and lsn_proc are usually equal, and its lsn_commit is the
// previous commit's.
func (b *offsetBoxes) lsnBox(l pglogrepl.LSN) any {
	v := int64(l)
	if x, ok := b.lsn.Peek(v); ok {
		return x
	}
	if x, ok := b.lsnPrev.Peek(v); ok {
		return x
	}
	b.lsnPrev, b.lsn = b.lsn, debezium.Box[int64]{}
	return b.lsn.Get(v)
}

// sourceIndexes are the source schema's field indexes (-1: absent).
type sourceIndexes struct {
	version, connector, name, tsMs, snapshot, db, sequence, tsUs, tsNs int
	schema, table, txID, lsn, xmin, origin, originLSN                  int
}

func newSourceIndexes(s *connect.Schema) sourceIndexes {
	ix := func(name string) int {
		if f := s.Field(name); f != nil {
			return f.Index
		}
		return -1
	}
	return sourceIndexes{version: ix("version"), connector: ix("connector"), name: ix("name"), tsMs: ix("ts_ms"),
		snapshot: ix("snapshot"), db: ix("db"), sequence: ix("sequence"), tsUs: ix("ts_us"), tsNs: ix("ts_ns"),
		schema: ix("schema"), table: ix("table"), txID: ix("txId"), lsn: ix("lsn"), xmin: ix("xmin"),
		origin: ix("origin"), originLSN: ix("origin_lsn")}
}

// complete reports whether every field sourceStruct sets has an index.
func (ix *sourceIndexes) complete() bool {
	for _, i := range []int{ix.version, ix.connector, ix.name, ix.tsMs, ix.snapshot, ix.db, ix.sequence, ix.tsUs, ix.tsNs,
		ix.schema, ix.table, ix.txID, ix.lsn, ix.xmin, ix.origin, ix.originLSN} {
		if i < 0 {
			return false
		}
	}
	return true
}

func offsetInt(m map[string]any, key string) (int64, bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	switch n := v.(type) {
	case int64:
		return n, true, nil
	case int:
		return int64(n), true, nil
	case int32:
		return int64(n), true, nil
	case float64:
		return int64(n), true, nil
	case json.Number:
		i, err := n.Int64()
		return i, err == nil, err
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil, err
	}
	return 0, false, fmt.Errorf("offset key %s has unexpected type %T", key, v)
}

// loadOffset is PostgresOffsetContext.Loader.load.
func loadOffset(m map[string]any) (*offsetState, error) {
	o := &offsetState{}
	get := func(key string) (int64, bool) {
		v, ok, err := offsetInt(m, key)
		if err != nil {
			return 0, false
		}
		return v, ok
	}
	for _, k := range []string{keyLSN, keyLSNProc, keyLSNCommit, keyTxID, keyTsUsec, keyXmin} {
		if _, _, err := offsetInt(m, k); err != nil {
			return nil, fmt.Errorf("stored offset: %w", err)
		}
	}
	if v, ok := get(keyLSN); ok {
		o.lsn = pglogrepl.LSN(v)
	}
	if v, ok := get(keyLSNProc); ok {
		o.lsnProc = pglogrepl.LSN(v)
	}
	if v, ok := get(keyLSNCommit); ok {
		o.lsnCommit = pglogrepl.LSN(v)
	} else {
		o.lsnCommit = o.lsnProc
	}
	if v, ok := get(keyTxID); ok {
		o.txID = &v
	}
	if v, ok := get(keyXmin); ok {
		o.xmin = &v
	}
	if v, ok := get(keyTsUsec); ok {
		o.ts = time.UnixMicro(v).UTC()
	} else {
		o.ts = time.UnixMicro(0).UTC()
	}
	if s, ok := m[keyMessageType].(string); ok {
		o.msgType = s
	}
	snap, _ := m[keySnapshot].(string)
	// Debezium 1.x stored "snapshot": true.
	if b, ok := m[keySnapshot].(bool); ok && b {
		snap = snapshotInitial
	}
	completed, _ := m[keySnapshotComplete].(bool)
	last, _ := m[keyLastSnapshot].(bool)
	// Only an initial snapshot is redone (isInitialSnapshotRunning); the
	// records of incremental snapshot windows carry INCREMENTAL and a
	// blocking snapshot is not resumed.
	switch {
	case snap == snapshotInitial && !last && !completed:
		o.snapshotRunning = true
	case snap == snapshotBlocking && !last && !completed:
		o.blockingInterrupted = true
	}
	var err error
	if o.inc, err = signal.LoadIncremental(m); err != nil {
		if !errors.Is(err, signal.ErrKeyUnreadable) {
			return nil, fmt.Errorf("stored offset: %w", err)
		}
		o.incNotice = err
	}
	if id, ok := m[keyTransactionID].(string); ok && id != "" {
		o.txInProgress = id
		var names []string
		for k := range m {
			if strings.HasPrefix(k, keyTxTablePrefix) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			n, ok, err := offsetInt(m, k)
			if err != nil || !ok {
				continue
			}
			o.txCounts = append(o.txCounts, debezium.CollectionCount{Collection: strings.TrimPrefix(k, keyTxTablePrefix), Count: n})
			o.txTotal += n
		}
	}
	return o, nil
}

// sequence is SourceInfo.sequence: ["<lastCommitLsn>","<lsn>"].
func (o *offsetState) sequence() string {
	b := make([]byte, 0, 48)
	part := func(l pglogrepl.LSN) {
		if l == 0 {
			b = append(b, "null"...)
			return
		}
		b = append(b, '"')
		b = strconv.AppendUint(b, uint64(l), 10)
		b = append(b, '"')
	}
	b = append(b, '[')
	part(o.lsnCommit)
	b = append(b, ',')
	part(o.lsn)
	b = append(b, ']')
	return string(b)
}

// sourceStruct builds the event source block: the fields
// debezium.FillSource sets, then PostgresSourceInfoStructMaker's. Values
// that did not change since the last call are the same boxes
// (offsetBoxes); fields are set by index.
func (o *offsetState) sourceStruct(s *connect.Schema, serverName, db string, id tableID, snapshot string) *connect.StructValue {
	b := &o.boxes
	if b.src != s {
		b.src, b.ix = s, newSourceIndexes(s)
		b.connectorV, b.versionV = "postgresql", debezium.Version
	}
	ix := &b.ix
	if !ix.complete() {
		return o.sourceStructByName(s, serverName, db, id, snapshot)
	}
	v := connect.NewStruct(s)
	vals := v.Values
	ts := o.ts
	if ts.IsZero() {
		ts = time.Now()
	}
	vals[ix.version], vals[ix.connector] = b.versionV, b.connectorV
	vals[ix.name] = b.name.Get(serverName)
	vals[ix.tsMs], vals[ix.tsUs], vals[ix.tsNs] = b.ts.Get(ts)
	if snapshot != "" && snapshot != debezium.SnapshotFalse {
		vals[ix.snapshot] = snapshot
	} else {
		// Debezium leaves the field unset, so the schema default "false"
		// is what converters write.
		vals[ix.snapshot] = debezium.SnapshotFalse
	}
	vals[ix.db] = b.db.Get(db)
	if b.seq == nil || b.seqCommit != o.lsnCommit || b.seqLSN != o.lsn {
		b.seqCommit, b.seqLSN, b.seq = o.lsnCommit, o.lsn, o.sequence()
	}
	vals[ix.sequence] = b.seq
	if b.schemaV == nil || b.table != id {
		b.table, b.schemaV, b.tableV = id, id.Schema, id.Table
	}
	vals[ix.schema], vals[ix.table] = b.schemaV, b.tableV
	if o.txID != nil {
		vals[ix.txID] = b.txID.Get(*o.txID)
	}
	if o.lsn != 0 {
		vals[ix.lsn] = b.lsnBox(o.lsn)
	}
	if o.xmin != nil {
		vals[ix.xmin] = b.xmin.Get(*o.xmin)
	}
	if o.originName != "" {
		vals[ix.origin] = o.originName
		vals[ix.originLSN] = int64(o.originLSN)
	}
	return v
}

// sourceStructByName is sourceStruct for a schema without one of the
// fields (never the connector's own): Set panics naming it.
func (o *offsetState) sourceStructByName(s *connect.Schema, serverName, db string, id tableID, snapshot string) *connect.StructValue {
	v := connect.NewStruct(s)
	seq := o.sequence()
	debezium.FillSource(v, debezium.SourceCommon{Connector: "postgresql", Name: serverName, TS: o.ts, Snapshot: snapshot, DB: db, Sequence: &seq})
	v.Set("schema", id.Schema).Set("table", id.Table)
	if o.txID != nil {
		v.Set("txId", *o.txID)
	}
	if o.lsn != 0 {
		v.Set("lsn", int64(o.lsn))
	}
	if o.xmin != nil {
		v.Set("xmin", *o.xmin)
	}
	if o.originName != "" {
		v.Set("origin", o.originName)
		v.Set("origin_lsn", int64(o.originLSN))
	}
	return v
}
