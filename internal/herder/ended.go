package herder

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"time"
)

// taskEnded records how a task ended under ExitWhenTasksEnd. A failure is
// reported once: logged now while other tasks keep running (it would
// otherwise surface only when they stop), else left for Run to return,
// since the caller prints what Run returns and the same error twice
// reads as two failures.
func (h *Herder) taskEnded(ctx context.Context, tr *taskRun, log *slog.Logger, err error) {
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		// Stopped by the worker: a clean stop, not an end.
		return
	}
	if err == nil {
		log.Info("task completed")
	} else {
		h.setTaskState(tr, StateFailed)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		h.putTaskStatus(sctx, tr.id, StateFailed, failureTrace(err))
		cancel()
	}
	cc := h.o.Configs.Snapshot()
	h.mu.Lock()
	defer h.mu.Unlock()
	running := !h.submitted || !h.tasksEnded(cc, tr.id)
	if err != nil && running {
		log.Error("connector failed; the others keep running", "error", err)
		err = &loggedError{task: tr.id, tasks: cc.TaskCounts[tr.id.Connector], err: err}
	}
	h.ended[tr.id] = err
	if !running && h.submitted {
		h.signalAllEnded()
	}
}

// SubmittedAll tells a herder with ExitWhenTasksEnd that the connectors
// it starts with are all submitted: until then a task that ends cannot
// end the run, as others may be about to start.
func (h *Herder) SubmittedAll() {
	cc := h.o.Configs.Snapshot()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.submitted = true
	if len(h.ended) > 0 && h.tasksEnded(cc, TaskID{}) {
		h.signalAllEnded()
	}
}

// tasksEnded reports whether every task of the started connectors, but
// self, has ended. h.mu is held.
func (h *Herder) tasksEnded(cc *ClusterConfig, self TaskID) bool {
	for name := range cc.Connectors {
		if cc.Target(name) != TargetStarted {
			continue
		}
		n, committed := cc.TaskCounts[name]
		if !committed {
			return false // its tasks are about to start
		}
		for i := range n {
			id := TaskID{Connector: name, Task: i}
			if _, done := h.ended[id]; !done && id != self {
				return false
			}
		}
	}
	return true
}

func (h *Herder) signalAllEnded() {
	select {
	case h.allEnded <- struct{}{}:
	default:
	}
}

// endedErrors joins the errors of the tasks that failed, in task order.
func (h *Herder) endedErrors() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]TaskID, 0, len(h.ended))
	for id, err := range h.ended {
		if err != nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].Connector != ids[j].Connector {
			return ids[i].Connector < ids[j].Connector
		}
		return ids[i].Task < ids[j].Task
	})
	errs := make([]error, len(ids))
	for i, id := range ids {
		errs[i] = h.ended[id]
	}
	return errors.Join(errs...)
}

// loggedError is a task's failure already logged in full when it
// happened: it says where to look instead of repeating it.
type loggedError struct {
	task  TaskID
	tasks int
	err   error
}

func (e *loggedError) Error() string {
	if e.tasks > 1 {
		return "connector " + e.task.Connector + " task " + strconv.Itoa(e.task.Task) + " failed (its error is logged above)"
	}
	return "connector " + e.task.Connector + " failed (its error is logged above)"
}

func (e *loggedError) Unwrap() error { return e.err }
