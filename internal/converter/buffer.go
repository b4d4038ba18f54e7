package converter

import (
	"bytes"
	"math/bits"
	"sync"

	"github.com/tributary-io/tributary/connect"
)

// Buffer holds a converted key or value written into memory from the
// converter's pool. Its bytes stay valid until Release; whoever releases
// it promises that nothing reads them afterwards, because the next
// conversion overwrites them.
type Buffer struct {
	buf  bytes.Buffer
	pool *bufferPool
}

// Bytes returns the converted bytes.
func (b *Buffer) Bytes() []byte { return b.buf.Bytes() }

// Release gives the buffer back to its converter's pool.
func (b *Buffer) Release() { b.pool.put(b) }

// AvailableBuffer returns an empty slice over the buffer's free
// capacity, for a converter that appends (the AvroConverter); SetBytes
// stores what the appending returned.
func (b *Buffer) AvailableBuffer() []byte { return b.buf.AvailableBuffer() }

// SetBytes makes p the buffer's contents. p is AvailableBuffer's slice
// appended to: the same memory, or a larger array when it grew, which the
// pool then keeps in its larger class.
func (b *Buffer) SetBytes(p []byte) { b.buf = *bytes.NewBuffer(p) }

// BufferPool hands out Buffers, in the size classes the JSON converter
// uses, to converters of other packages.
type BufferPool struct{ p bufferPool }

// Get returns an empty buffer with room for size bytes.
func (p *BufferPool) Get(size int) *Buffer { return p.p.get(size) }

// Pooled is implemented by converters that can write into pooled
// buffers: the JSON converter's output was the largest allocation per
// record of a change stream (3.5 KB per MariaDB event through
// bytes.Buffer.Grow), and a producer that knows when the broker has the
// bytes can hand them back for the next record.
type Pooled interface {
	// FromConnectBuffer is FromConnect into a pooled buffer; nil for a
	// null Kafka key or value.
	FromConnectBuffer(topic string, s *connect.Schema, v any) (*Buffer, error)
}

// Buffers are pooled in power-of-two size classes, so that a record gets
// a buffer that fits the size its schema's last record had instead of
// whichever was released last (keys, values and the tables of a
// connector differ by orders of magnitude). Larger buffers are not kept:
// one large row must not pin its memory for the rest of the run.
const (
	minBufferClass = 6  // 64 bytes
	maxBufferClass = 20 // 1 MiB
)

// bufferPool hands out Buffers of at least a requested capacity. The
// sync.Pools are emptied by the garbage collector, so an idle worker
// keeps none of them.
type bufferPool struct {
	classes [maxBufferClass - minBufferClass + 1]sync.Pool
}

// get returns an empty buffer with room for size bytes.
func (p *bufferPool) get(size int) *Buffer {
	c := max(bits.Len(uint(max(size, 1)-1)), minBufferClass)
	if c <= maxBufferClass {
		if b, ok := p.classes[c-minBufferClass].Get().(*Buffer); ok {
			return b
		}
	}
	n := size
	if c <= maxBufferClass {
		n = 1 << c
	}
	b := &Buffer{pool: p}
	b.buf = *bytes.NewBuffer(make([]byte, 0, n))
	return b
}

// put keeps b in the class its capacity covers entirely: whatever get
// takes from class c has room for 1<<c bytes.
func (p *bufferPool) put(b *Buffer) {
	c := bits.Len(uint(b.buf.Cap())) - 1
	if c < minBufferClass || c > maxBufferClass {
		return
	}
	b.buf.Reset()
	p.classes[c-minBufferClass].Put(b)
}
