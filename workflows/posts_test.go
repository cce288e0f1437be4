package workflows_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/slacktest"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// TestChatOutageNeverDelaysTheWatch: with every chat post failing (503,
// retried for up to five minutes each), each traffic step's first health
// reading still starts right after its weights are set, the alarm's
// rollback is as fast as without chat, and the failed posts are reported.
func TestChatOutageNeverDelaysTheWatch(t *testing.T) {
	h := newHarness(t)
	h.world.UnhealthyAtGreen = 50
	h.world.FailWhen = func(name string, _ any) error {
		if name == "Notify" {
			return failures.New(failures.Transient, "slack: 503 Service Unavailable")
		}
		return nil
	}
	type started struct {
		name string
		at   time.Time
	}
	var mu sync.Mutex
	var calls []started
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, started{info.ActivityType.Name, h.env.Now()})
	})
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "bob"})
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q (%v): want the alarm's rollback", typ, err)
	}
	// The report keeps each watched period's reading: the first bake's
	// healthy, the one at 50 % that triggered the rollback not.
	var healthy, unhealthy int
	for _, h := range r.HealthReadings {
		if h.Healthy {
			healthy++
		} else if h.Green == 50 && strings.Contains(strings.Join(h.Reasons, " "), "shop-5xx-rate") {
			unhealthy++
		}
	}
	if healthy == 0 || unhealthy != 1 {
		t.Errorf("health readings %+v: want healthy ones and the unhealthy one at 50%%", r.HealthReadings)
	}
	steps := 0
	for i, c := range calls {
		if c.name != "SetTrafficWeights" {
			continue
		}
		for _, next := range calls[i+1:] {
			if next.name == "WatchTrafficHealth" {
				if gap := next.at.Sub(c.at); gap > 5*time.Second {
					t.Errorf("a health reading started %s after the weights were set (chat is down)", gap)
				}
				steps++
				break
			}
		}
	}
	if steps == 0 {
		t.Fatalf("no health reading after a weight change: %v", calls)
	}
	failed := 0
	for _, e := range r.Errors {
		if strings.Contains(e, "notify") && strings.Contains(e, "503") {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("report errors %v: want the failed posts", r.Errors)
	}
	t.Logf("%d weight changes each read within 5 s; %d failed posts reported", steps, failed)
}

// TestSlackThreadAndDecidedGates: every post after the first replies in
// the first's thread (by channel ID), and a gate's decision names the
// gate's request to be rewritten without buttons.
func TestSlackThreadAndDecidedGates(t *testing.T) {
	h := newHarness(t)
	s := testSpec()
	s.Notify.SlackChannel = "#platform"
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "alice"}, workflows.Decision{Gate: "retire", Approve: true, By: "alice"})
	if _, err := h.run(s); err != nil {
		t.Fatal(err)
	}
	var msgs []notify.Message
	for _, in := range h.world.Inputs("Notify") {
		msgs = append(msgs, in.(notify.Message))
	}
	if len(msgs) < 3 || msgs[0].ThreadTS != "" || msgs[0].SlackChannel != "#platform" {
		t.Fatalf("messages %+v", msgs)
	}
	root := ""
	opened := map[string]int{}
	for i, m := range msgs {
		if i > 0 {
			if root == "" {
				root = m.ThreadTS
			}
			if m.ThreadTS == "" || m.ThreadTS != root || m.SlackChannel != "C0FAKE0001" {
				t.Errorf("message %d (%s) not in the thread: %+v", i, m.Kind, m)
			}
		}
		switch m.Kind {
		case notify.KindGateOpened, notify.KindReminder:
			opened[m.Gate]++
		case notify.KindGateDecided:
			if len(m.Updates) != opened[m.Gate] || opened[m.Gate] == 0 {
				t.Errorf("decision of %s updates %v; want its %d earlier messages", m.Gate, m.Updates, opened[m.Gate])
			}
			if !strings.Contains(m.Text, " by ") || !strings.Contains(m.Text, " at ") {
				t.Errorf("decision text %q lacks who and when", m.Text)
			}
		}
	}
	if opened["cutover"] == 0 || opened["retire"] == 0 {
		t.Errorf("gates opened %v", opened)
	}
}

// TestGateDecisionRewritesRequestAndReminders: a gate that waited three
// hours (a reminder each hour) and is then decided through the approve
// Update (what `cutover approve` sends) has its request and every reminder
// rewritten in Slack to say who decided and when, buttons gone; the real
// notify activities deliver to a fake Slack Web API, in one thread.
func TestGateDecisionRewritesRequestAndReminders(t *testing.T) {
	h := newHarness(t)
	slack := slacktest.New(t)
	h.world.Notifier = notify.New(notify.WithSlackToken("xoxb-test"), notify.WithSlackAPIURL(slack.APIURL()),
		notify.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	s := testSpec()
	s.Notify.SlackChannel = "#platform"
	rem := spec.Duration(time.Hour)
	s.Approvals.ReminderInterval = &rem
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateApprove, "", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("approve refused: %v", err) },
			OnAccept:   func() {},
			OnComplete: func(any, error) {},
		}, workflows.Decision{Gate: "cutover", Approve: true, By: "bob", Comment: "after the review"})
		h.decideWhenOpen(workflows.Decision{Gate: "retire", Approve: true, By: "alice"})
	}, 3*time.Hour+30*time.Minute)
	if _, err := h.run(s); err != nil {
		t.Fatal(err)
	}
	channel := slack.ChannelID("#platform")
	var gate []slacktest.Message
	msgs := slack.Messages(channel)
	for _, m := range msgs {
		asked := strings.Contains(m.Metadata, `"kind":"gate-opened"`) || strings.Contains(m.Metadata, `"kind":"gate-reminder"`)
		if asked && strings.Contains(m.Metadata, `"gate":"cutover"`) {
			gate = append(gate, m)
		}
		if m.TS != msgs[0].TS && m.ThreadTS != msgs[0].TS {
			t.Errorf("message outside the thread: %+v", m)
		}
	}
	if len(gate) != 4 {
		t.Fatalf("%d messages of gate cutover (want the request and 3 reminders): %+v", len(gate), msgs)
	}
	for i, m := range gate {
		if m.Updates != 1 || strings.Contains(m.Blocks, "cutover_approve") || !strings.Contains(m.Blocks, "approved by bob at ") {
			t.Errorf("gate message %d after the decision: updates %d, %s", i, m.Updates, m.Blocks)
		}
	}
	if n := len(slack.Calls("chat.update")); n != 5 {
		t.Errorf("%d chat.update calls, want 4 for cutover and 1 for retire", n)
	}
}
