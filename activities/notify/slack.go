package notify

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"
)

// slackMessage is what chat.postMessage and chat.update send: the
// notification text (Slack's fallback and what notifications show) and
// its Block Kit blocks.
type slackMessage struct {
	Text   string
	Blocks []slack.Block
}

var titles = map[string]string{
	KindGateOpened:  ":raised_hand: Approval needed",
	KindReminder:    ":alarm_clock: Reminder: approval needed",
	KindGateDecided: ":ballot_box_with_check: Gate decided",
	KindPhase:       ":arrow_forward: Progress",
	KindRolledBack:  ":rewind: Rolled back",
	KindFailed:      ":x: Failed",
	KindDone:        ":white_check_mark: Done",
}

// escape makes text safe for Slack mrkdwn (&, < and > only).
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// hasButtons reports whether the message asks for a decision.
func hasButtons(m Message) bool {
	return (m.Kind == KindGateOpened || m.Kind == KindReminder) && m.Gate != "" && m.WorkflowID != ""
}

// maxSectionText is below Block Kit's 3000-character limit of a section.
const maxSectionText = 2900

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// section is the message's head line (title, migration) and escaped text.
func section(title, migration, text string) slack.Block {
	head := "*" + title + "*"
	if migration != "" {
		head += " · migration `" + escape(migration) + "`"
	}
	body := head + "\n" + escape(text)
	if len(body) > maxSectionText {
		body = body[:maxSectionText] + "…"
	}
	return slack.NewSectionBlock(mrkdwn(body), nil, nil)
}

// slackPayload renders a Message as Block Kit: a section with the text, a
// context line (gate, approvers, deadline, workflow) and, for an open gate,
// Approve/Reject buttons.
func slackPayload(m Message) slackMessage {
	title := titles[m.Kind]
	if title == "" {
		title = "cutover"
	}
	blocks := []slack.Block{section(title, m.Migration, m.Text)}
	var ctx []string
	if m.Gate != "" {
		ctx = append(ctx, "Gate `"+escape(m.Gate)+"`")
	}
	if len(m.Approvers) > 0 {
		ctx = append(ctx, "Approvers: "+escape(strings.Join(m.Approvers, ", ")))
	}
	if m.Deadline != "" {
		ctx = append(ctx, "Deadline: "+escape(m.Deadline))
	}
	if m.WorkflowID != "" {
		ctx = append(ctx, "Workflow `"+escape(m.WorkflowID)+"`")
	}
	if hasButtons(m) {
		ctx = append(ctx, fmt.Sprintf("or `/cutover approve|reject %s %s [comment]`", escape(m.WorkflowID), escape(m.Gate)))
	}
	if len(ctx) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(strings.Join(ctx, " · "))))
	}
	if hasButtons(m) {
		value := ActionValue(m.WorkflowID, m.Gate)
		blocks = append(blocks, slack.NewActionBlock("cutover_gate",
			button(ActionApprove, "Approve", slack.StylePrimary, value,
				fmt.Sprintf("Approve gate %q of migration %s?", m.Gate, m.Migration)),
			button(ActionReject, "Reject", slack.StyleDanger, value,
				fmt.Sprintf("Reject gate %q of migration %s? A rejection after traffic moved rolls it back to blue.", m.Gate, m.Migration)),
		))
	}
	text := title + ": " + m.Text
	if m.Migration != "" {
		text = title + " (" + m.Migration + "): " + m.Text
	}
	return slackMessage{Text: text, Blocks: blocks}
}

func button(actionID, label string, style slack.Style, value, confirm string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, value, plain(label)).
		WithStyle(style).
		WithConfirm(slack.NewConfirmationBlockObject(plain(label+"?"), plain(confirm), plain(label), plain("Cancel")))
}

// decidedPayload is what a gate's request and reminders become once it is
// decided: the decision (m.Text says who and when) and no buttons.
func decidedPayload(m Message) slackMessage {
	ctx := "Gate `" + escape(m.Gate) + "` · no longer waiting for a decision"
	if m.WorkflowID != "" {
		ctx += " · Workflow `" + escape(m.WorkflowID) + "`"
	}
	return slackMessage{Text: titles[KindGateDecided] + ": " + m.Text, Blocks: []slack.Block{
		section(titles[KindGateDecided], m.Migration, m.Text),
		slack.NewContextBlock("", mrkdwn(ctx)),
	}}
}
