package signal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The REST API (POST /connectors/{name}/signals) hands signals to the
// running tasks of a connector in this process through their inboxes.
var inboxes = struct {
	sync.Mutex
	m map[string]map[*inbox]bool
	// registered is closed (and replaced) by every Register, waking
	// WaitRegistered.
	registered chan struct{}
}{m: map[string]map[*inbox]bool{}, registered: make(chan struct{})}

type inbox struct{ ch chan<- Record }

// ChannelREST is the channel name of signals sent through the REST API;
// it needs no configuration.
const ChannelREST = "rest"

// ErrNoTask is returned by Deliver when no task of the connector runs in
// this process.
var ErrNoTask = errors.New("no running task of the connector accepts signals in this worker")

// Register makes ch receive the signals sent to connector through the
// REST API until the returned function is called.
func Register(connector string, ch chan<- Record) func() {
	ib := &inbox{ch: ch}
	inboxes.Lock()
	if inboxes.m[connector] == nil {
		inboxes.m[connector] = map[*inbox]bool{}
	}
	inboxes.m[connector][ib] = true
	close(inboxes.registered)
	inboxes.registered = make(chan struct{})
	inboxes.Unlock()
	return func() {
		inboxes.Lock()
		delete(inboxes.m[connector], ib)
		if len(inboxes.m[connector]) == 0 {
			delete(inboxes.m, connector)
		}
		inboxes.Unlock()
	}
}

// WaitRegistered waits until a task of connector has registered its
// inbox, or ctx ends. A task reported running registers only once it is
// connected to its database; the REST API waits for that when the task is
// assigned to this worker, instead of answering 404 in between.
func WaitRegistered(ctx context.Context, connector string) error {
	for {
		inboxes.Lock()
		n, wake := len(inboxes.m[connector]), inboxes.registered
		inboxes.Unlock()
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
func Deliver(ctx context.Context, connector string, r Record) (string, error) {
	if r.ID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		r.ID = UUID(b).String()
	}
	r.Channel = ChannelREST
	inboxes.Lock()
	var targets []*inbox
	for ib := range inboxes.m[connector] {
		targets = append(targets, ib)
	}
	inboxes.Unlock()
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
