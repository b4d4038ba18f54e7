package registry

import (
	"container/list"
	"sync"
	"time"
)

// Cache is a size-bounded map whose entries may expire, as the Guava
// caches of Confluent's client (CacheBuilder.maximumSize and
// expireAfterWrite): past its size the least recently used entry goes. It
// is safe for concurrent use.
type Cache[K comparable, V any] struct {
	size int
	// ttl < 0: entries never expire; 0: nothing is kept (Guava's
	// expireAfterWrite(0), the default of the missing.* caches).
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	order *list.List // front: most recently used
	items map[K]*list.Element
}

type cacheEntry[K comparable, V any] struct {
	key     K
	val     V
	written time.Time
}

// NewCache returns a cache of at most size entries (size < 1 keeps none)
// that expire ttl after they are written (never when ttl < 0). now is the
// clock (nil: time.Now), for tests.
func NewCache[K comparable, V any](size int, ttl time.Duration, now func() time.Time) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	return &Cache[K, V]{size: size, ttl: ttl, now: now, order: list.New(), items: map[K]*list.Element{}}
}

func (c *Cache[K, V]) keeps() bool { return c != nil && c.size > 0 && c.ttl != 0 }

// Get returns the value under k unless it is absent or expired.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	var zero V
	if !c.keeps() {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return zero, false
	}
	e := el.Value.(*cacheEntry[K, V])
	if c.ttl > 0 && c.now().Sub(e.written) >= c.ttl {
		c.order.Remove(el)
		delete(c.items, k)
		return zero, false
	}
	c.order.MoveToFront(el)
	return e.val, true
}

// Put stores v under k, evicting the least recently used entry when full.
func (c *Cache[K, V]) Put(k K, v V) {
	if !c.keeps() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		e := el.Value.(*cacheEntry[K, V])
		e.val, e.written = v, c.now()
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry[K, V]).key)
	}
	c.items[k] = c.order.PushFront(&cacheEntry[K, V]{key: k, val: v, written: c.now()})
}

// Delete removes k.
func (c *Cache[K, V]) Delete(k K) {
	if !c.keeps() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
		delete(c.items, k)
	}
}

// Len is the number of entries held, expired ones included.
func (c *Cache[K, V]) Len() int {
	if !c.keeps() {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
