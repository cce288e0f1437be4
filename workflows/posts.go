package workflows

import (
	"encoding/json"
	"time"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/internal/failures"
	"go.temporal.io/sdk/workflow"
)

// changeAsyncPosts versions chat posts that never block the run: send
// queues the post and returns; one workflow goroutine delivers the queue
// in order (a chat outage delays only the chat), and the run waits for the
// queue to drain before it closes. Runs started before it awaited every
// post where it was sent.
const changeAsyncPosts = "notify-async"

// postsDrainTimeout bounds the wait for queued posts when the run closes.
const postsDrainTimeout = 10 * time.Minute

// postQueue is the chat posts not delivered yet.
type postQueue struct {
	// on caches the changeAsyncPosts version once asked.
	on      *bool
	started bool
	queue   []notify.Message
	posting bool
	slackThread
}

// slackThread is a run's Slack thread: its first message, under which
// later posts reply, and each gate's request and reminders, rewritten once
// the gate is decided. Migrations and fleets keep one.
type slackThread struct {
	thread *notify.SlackMessageRef
	gates  map[string][]notify.SlackMessageRef
}

// reply makes msg a reply in the thread and, for a gate's decision, names
// the gate's messages to rewrite. Posts go out in order, so every earlier
// message's delivery is known here.
func (t *slackThread) reply(msg notify.Message) notify.Message {
	if t.thread != nil && msg.SlackChannel != "" {
		msg.SlackChannel, msg.ThreadTS = t.thread.Channel, t.thread.TS
	}
	if msg.Kind == notify.KindGateDecided && msg.Gate != "" {
		msg.Updates = append([]notify.SlackMessageRef(nil), t.gates[msg.Gate]...)
	}
	return msg
}

// delivered records where a post went in Slack.
func (t *slackThread) delivered(msg notify.Message, d notify.Delivery) {
	if d.Slack == nil || d.Slack.TS == "" {
		return
	}
	if t.thread == nil {
		ref := *d.Slack
		t.thread = &ref
	}
	if (msg.Kind == notify.KindGateOpened || msg.Kind == notify.KindReminder) && msg.Gate != "" {
		if t.gates == nil {
			t.gates = map[string][]notify.SlackMessageRef{}
		}
		t.gates[msg.Gate] = append(t.gates[msg.Gate], *d.Slack)
	}
}

func (m *migration) asyncPosts(ctx workflow.Context) bool {
	if m.posts.on == nil {
		on := workflow.GetVersion(ctx, changeAsyncPosts, workflow.DefaultVersion, 1) == 1
		m.posts.on = &on
	}
	return *m.posts.on
}

// enqueuePost queues msg for the delivery goroutine, starting it on the
// first post. It runs on a context of its own (disconnected from the
// caller's), so an abort never cancels a post about it.
func (m *migration) enqueuePost(ctx workflow.Context, msg notify.Message) {
	m.posts.queue = append(m.posts.queue, msg)
	if m.posts.started {
		return
	}
	m.posts.started = true
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	workflow.Go(dctx, func(gctx workflow.Context) {
		for {
			if err := workflow.Await(gctx, func() bool { return len(m.posts.queue) > 0 }); err != nil {
				return
			}
			msg := m.threaded(m.posts.queue[0])
			m.posts.posting = true
			var d notify.Delivery
			err := workflow.ExecuteActivity(workflow.WithActivityOptions(gctx, notifyOptions), notifyA.Notify, msg).Get(gctx, &d)
			m.posts.queue = m.posts.queue[1:]
			m.posts.posting = false
			m.delivered(msg, d)
			if err != nil {
				m.logger.Warn("Notification failed", "kind", msg.Kind, "error", err)
				m.report.Errors = append(m.report.Errors, "notify "+msg.Kind+": "+failures.Message(err))
			}
		}
	})
}

// drainPosts waits (bounded) for the queued posts to be delivered, so
// the outcome's post is not lost when the run closes.
func (m *migration) drainPosts(ctx workflow.Context) {
	if !m.posts.started {
		return
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	ok, _ := workflow.AwaitWithTimeout(dctx, postsDrainTimeout, func() bool { return len(m.posts.queue) == 0 && !m.posts.posting })
	if !ok {
		m.logger.Warn("Chat posts still undelivered when the run closed", "posts", len(m.posts.queue))
	}
}

// threaded makes msg a reply in the run's Slack thread and, for a gate's
// decision, names the gate's messages to rewrite. Posts go out in order,
// so every earlier message's delivery is known here.
func (m *migration) threaded(msg notify.Message) notify.Message {
	msg = m.posts.reply(msg)
	if outcomeKind(msg.Kind) {
		// The run is over when its outcome is delivered (the post queue
		// is drained after the report is completed): the worker shares
		// the report in the thread.
		m.collect()
		// encoding/json's type cache is a sync.Map, hence the check's
		// warning; the bytes depend on the report only (map keys sorted).
		//workflowcheck:ignore
		if raw, err := json.Marshal(m.report); err == nil {
			msg.Report = raw
		}
	}
	return msg
}

// outcomeKind: the message says how the run ended and carries its report.
func outcomeKind(kind string) bool {
	return kind == notify.KindDone || kind == notify.KindRolledBack || kind == notify.KindFailed
}

// delivered records where a post went in Slack.
func (m *migration) delivered(msg notify.Message, d notify.Delivery) {
	if d.Report != nil && d.Report.Permalink != "" {
		m.status.ReportURL = d.Report.Permalink
		m.details()
	}
	if d.ReportError != "" {
		m.report.Errors = append(m.report.Errors, d.ReportError)
	}
	m.posts.slackThread.delivered(msg, d)
}
