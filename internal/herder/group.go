package herder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
)

// groupHandler is the herder side of group membership.
type groupHandler interface {
	// metadata waits until every assignment handed over has been applied
	// (revoked work stopped) and returns what this worker now runs.
	metadata(ctx context.Context) WorkerMetadata
	// applied is closed once nothing handed over is still being applied.
	applied() <-chan struct{}
	// assign computes the group's assignments; called on the leader only.
	assign(ctx context.Context, memberID string, members []groupMemberMeta) (map[string]Assignment, error)
	// assigned hands this worker its assignment.
	assigned(memberID string, generation int32, a Assignment)
	// lost says this worker is no longer a member: everything it runs may
	// already be running elsewhere and must stop.
	lost(reason string)
}

// membership coordinates workers.
type membership interface {
	run(ctx context.Context, h groupHandler) error
	requestRejoin(reason string)
}

// GroupOptions configure distributed membership.
type GroupOptions struct {
	Brokers []string
	Config  *sarama.Config
	GroupID string
	// SessionTimeout (session.timeout.ms, default 10s), HeartbeatInterval
	// (heartbeat.interval.ms, default 3s) and RebalanceTimeout
	// (rebalance.timeout.ms, default 60s) mean what they mean in Kafka
	// Connect.
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	RebalanceTimeout  time.Duration
	Logger            *slog.Logger
}

// kafkaGroup is a member of a Kafka Connect worker group, speaking the
// classic group protocol (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) with
// protocol type "connect".
type kafkaGroup struct {
	o      GroupOptions
	log    *slog.Logger
	rejoin chan string
}

func newKafkaGroup(o GroupOptions) *kafkaGroup {
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 10 * time.Second
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = 3 * time.Second
	}
	if o.RebalanceTimeout <= 0 {
		o.RebalanceTimeout = 60 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	return &kafkaGroup{o: o, log: log.With("group.id", o.GroupID), rejoin: make(chan string, 1)}
}

func (g *kafkaGroup) requestRejoin(reason string) {
	select {
	case g.rejoin <- reason:
	default:
	}
}

// errLost marks errors after which this member must consider itself out of
// the group.
var errLost = errors.New("membership lost")

func (g *kafkaGroup) run(ctx context.Context, h groupHandler) error {
	sc := *g.o.Config
	// JoinGroup blocks until every member rejoined; a dedicated client keeps
	// that from stalling produce and fetch requests.
	sc.Net.ReadTimeout = g.o.RebalanceTimeout + 10*time.Second
	sc.Producer.Idempotent = false
	sc.Net.MaxOpenRequests = 5
	client, err := sarama.NewClient(g.o.Brokers, &sc)
	if err != nil {
		return fmt.Errorf("group %s: connecting to kafka: %w", g.o.GroupID, err)
	}
	defer client.Close()

	memberID := ""
	generation := int32(-1)
	var coord *sarama.Broker
	backoff := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
			return true
		}
	}
	findCoordinator := func() bool {
		for {
			if err := client.RefreshCoordinator(g.o.GroupID); err == nil {
				if c, err := client.Coordinator(g.o.GroupID); err == nil {
					coord = c
					return true
				}
			} else {
				g.log.Warn("finding the group coordinator", "error", err)
			}
			if !backoff() {
				return false
			}
		}
	}
	leave := func() {
		if memberID == "" || coord == nil {
			return
		}
		_, err := coord.LeaveGroup(&sarama.LeaveGroupRequest{Version: 3, GroupId: g.o.GroupID,
			Members: []sarama.MemberIdentity{{MemberId: memberID}}})
		if err != nil {
			g.log.Warn("leaving the group", "error", err)
		} else {
			g.log.Info("left the group", "member.id", memberID)
		}
	}
	lastHeartbeat := time.Now()
	markLost := func(reason string) {
		if generation >= 0 || memberID != "" {
			h.lost(reason)
		}
		generation = -1
	}

	for ctx.Err() == nil {
		if coord == nil && !findCoordinator() {
			break
		}
		// Revocations must be complete before announcing what we own.
		if !g.waitApplied(ctx, h, coord, &generation, &memberID) {
			break
		}
		meta := h.metadata(ctx)
		jreq := &sarama.JoinGroupRequest{Version: 5, GroupId: g.o.GroupID,
			SessionTimeout: int32(g.o.SessionTimeout / time.Millisecond), RebalanceTimeout: int32(g.o.RebalanceTimeout / time.Millisecond),
			MemberId: memberID, ProtocolType: connectProtocolType}
		jreq.AddGroupProtocol(protocolCompatible, encodeMetadata(meta))
		jresp, err := coord.JoinGroup(jreq)
		if err != nil {
			g.log.Warn("joining the group", "error", err)
			coord = nil
			if time.Since(lastHeartbeat) > g.o.SessionTimeout {
				markLost("could not reach the group coordinator for longer than session.timeout.ms")
			}
			backoff()
			continue
		}
		switch jresp.Err {
		case sarama.ErrNoError:
		case sarama.ErrMemberIdRequired:
			memberID = jresp.MemberId
			continue
		case sarama.ErrUnknownMemberId, sarama.ErrFencedInstancedId:
			markLost("the group coordinator no longer knows this member")
			memberID = ""
			continue
		case sarama.ErrNotCoordinatorForConsumer, sarama.ErrConsumerCoordinatorNotAvailable, sarama.ErrOffsetsLoadInProgress:
			coord = nil
			backoff()
			continue
		case sarama.ErrInconsistentGroupProtocol:
			return fmt.Errorf("group %s is used by clients that are not Kafka Connect workers (inconsistent group protocol); choose another group.id", g.o.GroupID)
		default:
			g.log.Warn("joining the group", "error", jresp.Err)
			backoff()
			continue
		}
		memberID = jresp.MemberId
		generation = jresp.GenerationId
		lastHeartbeat = time.Now()
		sreq := &sarama.SyncGroupRequest{Version: 3, GroupId: g.o.GroupID, GenerationId: generation, MemberId: memberID}
		if jresp.LeaderId == memberID {
			members := make([]groupMemberMeta, 0, len(jresp.Members))
			bad := false
			for _, m := range jresp.Members {
				md, err := decodeMetadata(m.Metadata)
				if err != nil {
					g.log.Error("unreadable member metadata", "member.id", m.MemberId, "error", err)
					bad = true
					break
				}
				members = append(members, groupMemberMeta{ID: m.MemberId, Meta: md})
			}
			if bad {
				backoff()
				continue
			}
			assignments, err := h.assign(ctx, memberID, members)
			if err != nil {
				g.log.Error("computing assignments", "error", err)
				backoff()
				continue
			}
			for id, a := range assignments {
				sreq.AddGroupAssignment(id, encodeAssignment(a))
			}
		}
		sresp, err := coord.SyncGroup(sreq)
		if err != nil {
			g.log.Warn("syncing the group", "error", err)
			coord = nil
			backoff()
			continue
		}
		switch sresp.Err {
		case sarama.ErrNoError:
		case sarama.ErrRebalanceInProgress:
			continue
		case sarama.ErrUnknownMemberId, sarama.ErrIllegalGeneration, sarama.ErrFencedInstancedId:
			markLost("the group moved on without this member")
			if sresp.Err == sarama.ErrUnknownMemberId {
				memberID = ""
			}
			continue
		case sarama.ErrNotCoordinatorForConsumer, sarama.ErrConsumerCoordinatorNotAvailable:
			coord = nil
			continue
		default:
			g.log.Warn("syncing the group", "error", sresp.Err)
			backoff()
			continue
		}
		a, err := decodeAssignment(sresp.MemberAssignment)
		if err != nil {
			g.log.Error("unreadable assignment", "error", err)
			backoff()
			continue
		}
		g.log.Info("joined the group", "member.id", memberID, "generation", generation, "leader", a.Leader,
			"assigned", a.Assigned.size(), "revoked", a.Revoked.size(), "delay.ms", a.Delay)
		h.assigned(memberID, generation, a)
		if a.Error != assignmentNoError {
			continue
		}
		if err := g.heartbeatUntilRejoin(ctx, h, coord, &generation, &memberID, a, &lastHeartbeat); err != nil {
			if errors.Is(err, errLost) {
				markLost(err.Error())
			}
			coord = nil
		}
	}
	leave()
	return nil
}

// waitApplied keeps the session alive while the herder finishes applying
// the last assignment, so stopping slow tasks does not cost membership.
func (g *kafkaGroup) waitApplied(ctx context.Context, h groupHandler, coord *sarama.Broker, generation *int32, memberID *string) bool {
	ticker := time.NewTicker(g.o.HeartbeatInterval)
	defer ticker.Stop()
	for {
		select {
		case <-h.applied():
			return true
		case <-ctx.Done():
			return false
		case <-ticker.C:
			if *generation >= 0 && coord != nil {
				coord.Heartbeat(&sarama.HeartbeatRequest{Version: 3, GroupId: g.o.GroupID, GenerationId: *generation, MemberId: *memberID})
			}
		}
	}
}

func (g *kafkaGroup) heartbeatUntilRejoin(ctx context.Context, h groupHandler, coord *sarama.Broker, generation *int32, memberID *string, a Assignment, last *time.Time) error {
	ticker := time.NewTicker(g.o.HeartbeatInterval)
	defer ticker.Stop()
	var delay <-chan time.Time
	if a.Delay > 0 {
		t := time.NewTimer(time.Duration(a.Delay) * time.Millisecond)
		defer t.Stop()
		delay = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case reason := <-g.rejoin:
			g.log.Debug("rejoining the group", "reason", reason)
			return nil
		case <-delay:
			g.log.Info("scheduled rebalance delay expired; rejoining")
			return nil
		case <-ticker.C:
			resp, err := coord.Heartbeat(&sarama.HeartbeatRequest{Version: 3, GroupId: g.o.GroupID, GenerationId: *generation, MemberId: *memberID})
			if err != nil {
				g.log.Warn("heartbeat failed", "error", err)
				if time.Since(*last) > g.o.SessionTimeout {
					return fmt.Errorf("%w: no heartbeat for longer than session.timeout.ms", errLost)
				}
				return err
			}
			switch resp.Err {
			case sarama.ErrNoError:
				*last = time.Now()
			case sarama.ErrRebalanceInProgress:
				*last = time.Now()
				return nil
			case sarama.ErrUnknownMemberId:
				*memberID = ""
				return fmt.Errorf("%w: the group coordinator no longer knows this member", errLost)
			case sarama.ErrIllegalGeneration, sarama.ErrFencedInstancedId:
				return fmt.Errorf("%w: the group moved to a new generation without this member", errLost)
			case sarama.ErrNotCoordinatorForConsumer, sarama.ErrConsumerCoordinatorNotAvailable:
				return errors.New("group coordinator moved")
			default:
				g.log.Warn("heartbeat failed", "error", resp.Err)
			}
		}
	}
}

// localGroup is standalone mode's group of one: every rejoin assigns this
// worker everything.
type localGroup struct {
	rejoin chan string
}

func newLocalGroup() *localGroup { return &localGroup{rejoin: make(chan string, 1)} }

func (g *localGroup) requestRejoin(reason string) {
	select {
	case g.rejoin <- reason:
	default:
	}
}

func (g *localGroup) run(ctx context.Context, h groupHandler) error {
	const self = "standalone"
	gen := int32(0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.applied():
		}
		meta := h.metadata(ctx)
		gen++
		as, err := h.assign(ctx, self, []groupMemberMeta{{ID: self, Meta: meta}})
		if err != nil {
			return err
		}
		h.assigned(self, gen, as[self])
		select {
		case <-ctx.Done():
			return nil
		case <-g.rejoin:
		}
	}
}
