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
}

// offsetMap is PostgresOffsetContext.getOffset.
func (o *offsetState) offsetMap() map[string]any {
	m := map[string]any{}
	if !o.ts.IsZero() {
		m[keyTsUsec] = o.ts.UnixMicro()
	}
	if o.txID != nil {
		m[keyTxID] = *o.txID
	}
	if o.lsn != 0 {
		m[keyLSN] = int64(o.lsn)
	}
	if o.xmin != nil {
		m[keyXmin] = *o.xmin
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
		m[keyLSNProc] = int64(o.lsnProc)
	}
	if o.lsnCommit != 0 {
		m[keyLSNCommit] = int64(o.lsnCommit)
	}
	if o.msgType != "" {
		m[keyMessageType] = o.msgType
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
	part := func(l pglogrepl.LSN) string {
		if l == 0 {
			return "null"
		}
		return `"` + strconv.FormatUint(uint64(l), 10) + `"`
	}
	return "[" + part(o.lsnCommit) + "," + part(o.lsn) + "]"
}

// sourceStruct builds the event source block.
func (o *offsetState) sourceStruct(s *connect.Schema, serverName, db string, id tableID, snapshot string) *connect.StructValue {
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
