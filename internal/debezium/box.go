package debezium

import "time"

// Box keeps the last value it boxed, so that the next record carrying the
// same value shares that interface value instead of allocating its own.
// Most fields of an offset and a source block (server, file, transaction,
// commit time) repeat from one record to the next, and boxing each anew
// was a large share of the connectors' allocations per event. Records
// may keep the boxes: a boxed value is never changed. The zero Box holds
// nothing.
type Box[T comparable] struct {
	v T
	b any
}

// Get returns v boxed: the box it holds when that is v, a new one that
// it then holds otherwise.
func (x *Box[T]) Get(v T) any {
	if x.b == nil || x.v != v {
		x.v, x.b = v, v
	}
	return x.b
}

// Peek returns the box it holds when that is v.
func (x *Box[T]) Peek(v T) (any, bool) {
	return x.b, x.b != nil && x.v == v
}

// TimeBox is a Box for a timestamp's ms, µs and ns, as the source
// block's ts_ms, ts_us and ts_ns carry it.
type TimeBox struct {
	ts         time.Time
	ms, us, ns any
}

// Get returns ts in milliseconds, microseconds and nanoseconds, boxed;
// the boxes it holds when ts equals the last timestamp.
func (x *TimeBox) Get(ts time.Time) (ms, us, ns any) {
	if x.ms == nil || !ts.Equal(x.ts) {
		x.ts, x.ms, x.us, x.ns = ts, ts.UnixMilli(), ts.UnixMicro(), ts.UnixNano()
	}
	return x.ms, x.us, x.ns
}
