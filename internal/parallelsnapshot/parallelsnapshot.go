// Package parallelsnapshot fans the reading of a snapshot's tables out
// over several database connections (snapshot.max.threads) and fans their
// records back in to the one goroutine that writes them.
package parallelsnapshot

import (
	"context"
	"sync"

	"github.com/tributary-io/tributary/connect"
)

// TableReader reads one table (by its index) and writes its records to
// the writer it was made with.
type TableReader func(ctx context.Context, table int) error

// Read reads tables 0..tables-1 with one goroutine per reader, each taking
// the next table when it has finished one. newReader makes a reader's
// TableReader (and its per-reader state) once; the records it writes go
// through a channel holding at most two batches per reader, so the
// readers stay at most that far ahead of emit. emit runs on the calling
// goroutine for every record, first set for the very first one. The
// records of different tables interleave; each table's keep their order.
// The first error (a reader's or emit's) stops every reader and is
// returned.
func Read[C any](ctx context.Context, readers []C, tables int,
	newReader func(c C, w connect.RecordWriter) TableReader,
	emit func(ctx context.Context, r *connect.Record, first bool) error) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []*connect.Record, 2*len(readers))
	next := make(chan int, tables)
	for i := range tables {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for _, c := range readers {
		wg.Add(1)
		go func(c C) {
			defer wg.Done()
			read := newReader(c, batchWriter{ch})
			for i := range next {
				if rctx.Err() != nil {
					return
				}
				if err := read(rctx, i); err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					cancel()
					return
				}
			}
		}(c)
	}
	go func() {
		wg.Wait()
		close(ch)
	}()
	first := true
	for batch := range ch {
		for _, r := range batch {
			if err := emit(ctx, r, first); err != nil {
				cancel()
				for range ch { // let the readers finish
				}
				return err
			}
			first = false
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// batchWriter hands a reader's record batches over through a channel
// whose capacity bounds what the readers hold ahead of the writer.
type batchWriter struct{ ch chan<- []*connect.Record }

func (b batchWriter) Write(ctx context.Context, recs []*connect.Record) error {
	select {
	case b.ch <- recs:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
