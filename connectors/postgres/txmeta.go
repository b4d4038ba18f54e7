package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// Transaction metadata (provide.transaction.metadata), as Debezium's
// TransactionMonitor with PostgresTransactionMonitor's ids: every id is
// "<xid>:<lsn>" with the LSN of the event it appears in.

func (s *streamer) beginTx(id string) {
	s.off.txInProgress = id
	s.off.txTotal = 0
	s.off.txCounts = nil
}

func (s *streamer) endTx() {
	s.off.txInProgress = ""
	s.off.txTotal = 0
	s.off.txCounts = nil
}

func (s *streamer) txID() string {
	return s.off.txInProgress + ":" + strconv.FormatUint(uint64(s.off.lsn), 10)
}

// txEvent counts a data event and returns its transaction block; an event
// of another transaction than the one in progress ends it first.
func (s *streamer) txEvent(collection string) *debezium.Transaction {
	id := strconv.FormatUint(uint64(s.xid), 10)
	if s.off.txInProgress == "" {
		s.beginTx(id)
		s.batch = append(s.batch, s.txRecord(true))
	} else if s.off.txInProgress != id {
		s.batch = append(s.batch, s.txRecord(false))
		s.endTx()
		s.beginTx(id)
		s.batch = append(s.batch, s.txRecord(true))
	}
	s.off.txTotal++
	var order int64
	found := false
	for i := range s.off.txCounts {
		if s.off.txCounts[i].Collection == collection {
			s.off.txCounts[i].Count++
			order = s.off.txCounts[i].Count
			found = true
		}
	}
	if !found {
		s.off.txCounts = append(s.off.txCounts, debezium.CollectionCount{Collection: collection, Count: 1})
		order = 1
	}
	return &debezium.Transaction{ID: s.txID(), TotalOrder: s.off.txTotal, DataCollectionOrder: order}
}

// txRecord is a BEGIN or END record of the transaction topic.
func (s *streamer) txRecord(begin bool) *connect.Record {
	var counts []debezium.CollectionCount
	if !begin {
		// TransactionContext keeps counts in a HashMap; END lists them in its order.
		es := make([]hstoreEntry, len(s.off.txCounts))
		byName := map[string]int64{}
		for i, c := range s.off.txCounts {
			es[i] = hstoreEntry{key: c.Collection}
			byName[c.Collection] = c.Count
		}
		for _, e := range javaHashMapOrder(es) {
			counts = append(counts, debezium.CollectionCount{Collection: e.key, Count: byName[e.key]})
		}
		if counts == nil {
			counts = []debezium.CollectionCount{}
		}
	}
	return debezium.TransactionRecord(s.t.cfg.transactionTopic, s.txID(), begin, s.off.txTotal, counts,
		s.commitTime, s.t.partition, s.off.offsetMap())
}

// messageSchemas are PostgresSchemaFactory's logical decoding message
// key, block and value schemas.
func messageSchemas(cfg *pgConfig) (key, block, value *connect.Schema) {
	adj := func(n string) string { return debezium.AdjustName(cfg.schemaAdjust, n) }
	key = connect.StructBuilder().Name(adj("io.debezium.connector.postgresql.MessageKey")).Version(1).
		Field("prefix", connect.OptionalPrim(connect.String)).MustBuild()
	block = connect.StructBuilder().Name(adj("io.debezium.connector.postgresql.Message")).Version(1).
		Field("prefix", connect.OptionalPrim(connect.String)).
		Field("content", cfg.values.binarySchema().Optional().MustBuild()).MustBuild()
	value = connect.StructBuilder().Name(adj("io.debezium.connector.postgresql.MessageValue")).Version(1).
		Field("op", connect.Prim(connect.String)).
		Field("ts_ms", connect.OptionalPrim(connect.Int64)).
		Field("source", cfg.schemas.source).
		Field("transaction", debezium.TransactionBlockSchema()).
		Field("message", block).MustBuild()
	return key, block, value
}

// message handles pg_logical_emit_message output (op m on <prefix>.message).
func (s *streamer) message(ctx context.Context, lsn pglogrepl.LSN, m *pglogrepl.LogicalDecodingMessage) error {
	cfg := s.t.cfg
	if m.Transactional {
		if s.skipChange(lsn) {
			return nil
		}
		s.update(ctx, lsn, false, s.commitTime, s.xidPtr(), "MESSAGE")
	} else {
		if s.resume != nil && lsn <= s.resume.lsnCommit {
			return nil // sent before the restart
		}
		s.update(ctx, lsn, true, time.Time{}, nil, "MESSAGE")
		s.off.lsnCommit = lsn
		if err := s.maybeHeartbeat(ctx); err != nil {
			return err
		}
	}
	if cfg.msgPrefixes.Match(m.Prefix) {
		key := connect.NewStruct(s.msgKey).Set("prefix", m.Prefix)
		content := append([]byte(nil), m.Content...)
		blk := connect.NewStruct(s.msgBlock).Set("prefix", m.Prefix).Set("content", binaryValue(cfg.values.binaryMode, content))
		v := connect.NewStruct(s.msgValue)
		v.Set("op", string(debezium.OpMessage)).Set("ts_ms", time.Now().UnixMilli()).Set("message", blk)
		v.Set("source", s.off.sourceStruct(cfg.schemas.source, cfg.topicPrefix, cfg.dbname, tableID{}, ""))
		if cfg.provideTx {
			if m.Transactional {
				tx := s.txEvent("LOGICAL_DECODING_MESSAGE")
				b := connect.NewStruct(debezium.TransactionBlockSchema())
				b.Set("id", tx.ID).Set("total_order", tx.TotalOrder).Set("data_collection_order", tx.DataCollectionOrder)
				v.Set("transaction", b)
			} else if s.off.txInProgress != "" {
				s.batch = append(s.batch, s.txRecord(false))
				s.endTx()
			}
		}
		s.batch = append(s.batch, &connect.Record{SourcePartition: s.t.partition, SourceOffset: s.off.offsetMap(),
			Topic: cfg.topicPrefix + ".message", Partition: -1, KeySchema: s.msgKey, Key: key, ValueSchema: s.msgValue, Value: v})
	}
	if !m.Transactional {
		s.endTx()
		return s.flush(ctx)
	}
	return nil
}
