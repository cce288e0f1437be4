package cli_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/internal/report"
	"github.com/cutover-dev/cutover/internal/slacktest"
	sdkpb "go.temporal.io/api/sdk/v1"
)

// TestGateDecidedFromTheCLIUpdatesSlack: a migration posting to a Slack
// channel (the real notify activities, slack-go, against a fake Slack Web
// API) keeps one thread, and a gate decided through the CLI, not Slack,
// rewrites the gate's message: who decided and when, buttons gone
// (chat.update). Reminders are rewritten the same way
// (workflows.TestGateDecisionRewritesRequestAndReminders, time-skipped).
func TestGateDecidedFromTheCLIUpdatesSlack(t *testing.T) {
	d := startDevServer(t)
	slack := slacktest.New(t)
	slack.Token = "xoxb-cli-test"
	d.world.Notifier = notify.New(notify.WithSlackToken(slack.Token), notify.WithSlackAPIURL(slack.APIURL()), notify.WithLogger(quietLogger()),
		notify.WithReportRenderer(report.SlackFile{}))

	spec := strings.Replace(fmt.Sprintf(e2eSpec, 7), `"retire": {"soak": "2s"}`, `"retire": {"soak": "2s"}, "notify": {"slackChannel": "#platform"}`, 1)
	specPath := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specPath, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := d.cutover("start", "-f", specPath); code != 0 {
		t.Fatalf("start: %d %s%s", code, out, errs)
	}
	id := "cutover-e2e-7"
	channel := slack.ChannelID("#platform")
	gateMessage := func(gate string) slacktest.Message {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			for _, m := range slack.Messages(channel) {
				if strings.Contains(m.Blocks, notify.ActionValue(id, gate)) || (m.Updates > 0 && strings.Contains(m.Blocks, "Gate `"+gate+"`")) {
					return m
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("no Slack message for gate %q: %+v", gate, slack.Messages(channel))
		return slacktest.Message{}
	}
	rewritten := func(gate, by string) slacktest.Message {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			m := gateMessage(gate)
			if m.Updates > 0 {
				if strings.Contains(m.Blocks, "cutover_approve") || strings.Contains(m.Blocks, "cutover_reject") || !strings.Contains(m.Blocks, "approved by "+by+" at ") {
					t.Fatalf("gate %q message after the decision still asks for one or does not say who decided: %s", gate, m.Blocks)
				}
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("gate %q message never rewritten: %+v", gate, m)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	waitGate(t, d.cutover, id, "cutover")
	if m := gateMessage("cutover"); !strings.Contains(m.Blocks, `"action_id":"cutover_approve"`) || m.Updates != 0 {
		t.Fatalf("the open gate's message: %+v", m)
	}
	if code, _, errs := d.cutover("approve", id, "--gate", "cutover", "--by", "bob", "--comment", "dashboards green"); code != 0 {
		t.Fatalf("approve: %d %s", code, errs)
	}
	rewritten("cutover", "bob")

	waitGate(t, d.cutover, id, "retire")
	if code, _, errs := d.cutover("approve", id, "--gate", "retire", "--by", "alice"); code != 0 {
		t.Fatalf("approve retire: %d %s", code, errs)
	}
	rewritten("retire", "alice")
	if code, out, errs := d.cutover("watch", id); code != 0 {
		t.Fatalf("watch: %d %s%s", code, out, errs)
	}

	// One thread: every message after the first is a reply to it, the
	// outcome last; every call carried the bot token.
	msgs := slack.Messages(channel)
	if len(msgs) < 4 {
		t.Fatalf("%d messages: %+v", len(msgs), msgs)
	}
	for _, m := range msgs[1:] {
		if m.ThreadTS != msgs[0].TS {
			t.Errorf("message outside the migration's thread: %+v", m)
		}
	}
	// The outcome, then the report shared under it.
	if last, outcome := msgs[len(msgs)-1], msgs[len(msgs)-2]; !strings.Contains(outcome.Text, "Done") || len(last.Files) != 1 {
		t.Errorf("last messages %+v, %+v: want the outcome, then the report's file", outcome, last)
	}
	updates := slack.Calls("chat.update")
	if len(updates) != 2 {
		t.Errorf("%d chat.update calls, want one per gate", len(updates))
	}
	for _, c := range slack.Calls() {
		if c.Auth != slack.Token && c.Method != "upload" {
			t.Errorf("%s called with token %q", c.Method, c.Auth)
		}
	}

	// The report is shared in the thread as one HTML file, and the UI's
	// Current Details link it.
	files := slack.Files()
	if len(files) != 1 || !files[0].Completed || files[0].Channel != channel || files[0].ThreadTS != msgs[0].TS ||
		!strings.HasSuffix(files[0].Name, ".html") || !strings.Contains(string(files[0].Content), "<svg") || !strings.Contains(string(files[0].Content), "dashboards green") {
		t.Fatalf("report files %+v", files)
	}
	v, err := d.client.QueryWorkflow(context.Background(), id, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := v.Get(&meta); err != nil || !strings.HasPrefix(meta.GetCurrentDetails(), "**Done** — ") ||
		!strings.Contains(meta.GetCurrentDetails(), "Report in Slack: "+slack.URL+"/files/"+files[0].ID+"/") {
		t.Errorf("current details %q (%v)", meta.GetCurrentDetails(), err)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
