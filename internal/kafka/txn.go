package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// TransactionalID is the transactional.id of a source task's producer
// under exactly-once delivery, derived as Kafka Connect's
// Worker.taskTransactionalId does: "<group.id>-<connector>-<task>". A task
// restarted anywhere gets the same id, so its producer's InitProducerId
// fences every earlier incarnation (a zombie) of that task.
func TransactionalID(groupID, connector string, task int) string {
	return fmt.Sprintf("%s-%s-%d", groupID, connector, task)
}

// ErrFenced is returned (wrapped) when a newer producer with the same
// transactional.id took over: this task instance is a zombie and must
// stop without writing anything more.
var ErrFenced = errors.New("producer fenced: a newer instance of this task started with the same transactional.id")

// NewTransactionalProducer connects a producer whose records are written
// in Kafka transactions (BeginTxn, CommitTxn). Creating it registers
// transactional.id with the transaction coordinator, which aborts any
// transaction the previous holder of the id left open and bumps the
// epoch, fencing that holder.
func NewTransactionalProducer(brokers []string, sc *sarama.Config, transactionalID string) (*Producer, error) {
	c := *sc
	c.Producer.Transaction.ID = transactionalID
	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	// The broker aborts a transaction open longer than its timeout, so
	// retrying a record beyond that is pointless; and sarama retries a
	// record refused because a newer instance fenced this producer like
	// any other failure, which without this bound would keep a zombie
	// hanging for a quarter of an hour instead of failing.
	c.Producer.Retry.Max = max(5, int(c.Producer.Transaction.Timeout/time.Second))
	// Every commit waits for the transaction's records to be sent: the
	// 5 ms linger of the at-least-once producer would be paid on each one
	// (tributary bench pg-stream-eos: 8 ms per one-row transaction with
	// it, 3 ms with 1 ms).
	c.Producer.Flush.Frequency = time.Millisecond
	p, err := newSaramaProducer(brokers, &c)
	if err != nil {
		return nil, fmt.Errorf("transactional.id %s: %w", transactionalID, txnError(err))
	}
	p.txnID = transactionalID
	return p, nil
}

// TransactionalID returns the producer's transactional.id, "" when it is
// not transactional.
func (p *Producer) TransactionalID() string { return p.txnID }

// BeginTxn starts a transaction; records sent until CommitTxn or AbortTxn
// belong to it.
func (p *Producer) BeginTxn() error {
	if err := p.ap.BeginTxn(); err != nil {
		return fmt.Errorf("transactional.id %s: beginning a transaction: %w", p.txnID, txnError(err))
	}
	return nil
}

// CommitTxn waits for every record of the transaction to be written and
// commits it. On an error the transaction is aborted when it still can be
// (the caller re-reads from the last committed offsets); a fenced
// producer's error wraps ErrFenced.
func (p *Producer) CommitTxn() error {
	err := p.ap.CommitTxn()
	if err == nil {
		return nil
	}
	err = txnError(err)
	if p.ap.TxnStatus()&sarama.ProducerTxnFlagAbortableError != 0 {
		if aerr := p.ap.AbortTxn(); aerr != nil {
			err = errors.Join(err, fmt.Errorf("aborting: %w", txnError(aerr)))
		}
	}
	return fmt.Errorf("transactional.id %s: committing the transaction: %w", p.txnID, err)
}

// AbortTxn aborts the open transaction: its records are never seen by
// read_committed consumers.
func (p *Producer) AbortTxn() error {
	if p.ap.TxnStatus()&sarama.ProducerTxnFlagInTransaction == 0 {
		return nil
	}
	if err := p.ap.AbortTxn(); err != nil {
		return fmt.Errorf("transactional.id %s: aborting the transaction: %w", p.txnID, txnError(err))
	}
	return nil
}

// txnError marks the errors that mean another producer holds the
// transactional.id now.
func txnError(err error) error {
	if errors.Is(err, sarama.ErrProducerFenced) || errors.Is(err, sarama.ErrInvalidProducerEpoch) {
		return fmt.Errorf("%w: %w", ErrFenced, err)
	}
	return err
}
