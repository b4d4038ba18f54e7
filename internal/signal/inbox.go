package signal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Inboxes hand the signals the REST API receives (POST
// /connectors/{name}/signals) to the running tasks of a connector in this
// worker. The worker makes one and gives it to its REST server and, through
// the context (WithInboxes), to its tasks. A nil *Inboxes is a worker that
// serves no REST API: Register does nothing and Deliver finds no task.
type Inboxes struct {
	mu sync.Mutex
	m  map[string]map[*inbox]bool
	// registered is closed (and replaced) by every Register, waking
	// WaitRegistered.
	registered chan struct{}
}

// NewInboxes makes a worker's inboxes.
func NewInboxes() *Inboxes {
	return &Inboxes{m: map[string]map[*inbox]bool{}, registered: make(chan struct{})}
}

type inboxesKey struct{}

// WithInboxes gives the tasks run under ctx the worker's inboxes; the
// signal channels of a task started under it take REST signals.
func WithInboxes(ctx context.Context, ib *Inboxes) context.Context {
	return context.WithValue(ctx, inboxesKey{}, ib)
}

// InboxesFrom returns the inboxes WithInboxes put in ctx, or nil.
func InboxesFrom(ctx context.Context) *Inboxes {
	ib, _ := ctx.Value(inboxesKey{}).(*Inboxes)
	return ib
}

type inbox struct{ ch chan<- Record }

// ChannelREST is the channel name of signals sent through the REST API;
// it needs no configuration.
const ChannelREST = "rest"

// ErrNoTask is returned by Deliver when no task of the connector runs in
// this process.
var ErrNoTask = errors.New("no running task of the connector accepts signals in this worker")

// Register makes ch receive the signals sent to connector through the
// REST API until the returned function is called.
func (ibs *Inboxes) Register(connector string, ch chan<- Record) func() {
	if ibs == nil {
		return func() {}
	}
	ib := &inbox{ch: ch}
	ibs.mu.Lock()
	if ibs.m[connector] == nil {
		ibs.m[connector] = map[*inbox]bool{}
	}
	ibs.m[connector][ib] = true
	close(ibs.registered)
	ibs.registered = make(chan struct{})
	ibs.mu.Unlock()
	return func() {
		ibs.mu.Lock()
		delete(ibs.m[connector], ib)
		if len(ibs.m[connector]) == 0 {
			delete(ibs.m, connector)
		}
		ibs.mu.Unlock()
	}
}

// WaitRegistered waits until a task of connector has registered its
// inbox, or ctx ends. A task reported running registers only once it is
// connected to its database; the REST API waits for that when the task is
// assigned to this worker, instead of answering 404 in between.
func (ibs *Inboxes) WaitRegistered(ctx context.Context, connector string) error {
	if ibs == nil {
		<-ctx.Done()
		return ctx.Err()
	}
	for {
		ibs.mu.Lock()
		n, wake := len(ibs.m[connector]), ibs.registered
		ibs.mu.Unlock()
		if n > 0 {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Deliver hands r to every running task of connector. A signal without an
// id gets a random one, so that the log lines about it can name it; the
// id is returned.
func (ibs *Inboxes) Deliver(ctx context.Context, connector string, r Record) (string, error) {
	if r.ID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		r.ID = UUID(b).String()
	}
	r.Channel = ChannelREST
	var targets []*inbox
	if ibs != nil {
		ibs.mu.Lock()
		for ib := range ibs.m[connector] {
			targets = append(targets, ib)
		}
		ibs.mu.Unlock()
	}
	if len(targets) == 0 {
		return r.ID, ErrNoTask
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, ib := range targets {
		select {
		case ib.ch <- r:
		case <-ctx.Done():
			return r.ID, fmt.Errorf("the connector's task did not take the signal within 10 s (it is busy, e.g. with a blocking snapshot): %w", ctx.Err())
		}
	}
	return r.ID, nil
}
