package notify

import (
	"fmt"
	"strings"
)

// slackPost is the chat.postMessage request body.
type slackPost struct {
	Channel     string           `json:"channel"`
	Text        string           `json:"text"`
	Blocks      []map[string]any `json:"blocks,omitempty"`
	UnfurlLinks bool             `json:"unfurl_links"`
	UnfurlMedia bool             `json:"unfurl_media"`
	// ThreadTS posts the message as a reply in that thread.
	ThreadTS string `json:"thread_ts,omitempty"`
	// TS names the message chat.update rewrites.
	TS string `json:"ts,omitempty"`
	// Metadata carries the delivery key (message metadata, read back by
	// conversations.history with include_all_metadata).
	Metadata *slackMetadata `json:"metadata,omitempty"`
}

// slackMetadata is Slack's message metadata.
type slackMetadata struct {
	EventType    string            `json:"event_type"`
	EventPayload map[string]string `json:"event_payload"`
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

// slackPayload renders a Message as Block Kit: a section with the text, a
// context line (gate, approvers, deadline, workflow) and, for an open gate,
// Approve/Reject buttons.
func slackPayload(m Message) slackPost {
	title := titles[m.Kind]
	if title == "" {
		title = "cutover"
	}
	head := "*" + title + "*"
	if m.Migration != "" {
		head += " · migration `" + escape(m.Migration) + "`"
	}
	body := head + "\n" + escape(m.Text)
	if len(body) > 2900 {
		body = body[:2900] + "…"
	}
	blocks := []map[string]any{{
		"type": "section",
		"text": map[string]any{"type": "mrkdwn", "text": body},
	}}
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
		blocks = append(blocks, map[string]any{
			"type":     "context",
			"elements": []map[string]any{{"type": "mrkdwn", "text": strings.Join(ctx, " · ")}},
		})
	}
	if hasButtons(m) {
		value := ActionValue(m.WorkflowID, m.Gate)
		blocks = append(blocks, map[string]any{
			"type":     "actions",
			"block_id": "cutover_gate",
			"elements": []map[string]any{
				button(ActionApprove, "Approve", "primary", value,
					fmt.Sprintf("Approve gate %q of migration %s?", m.Gate, m.Migration)),
				button(ActionReject, "Reject", "danger", value,
					fmt.Sprintf("Reject gate %q of migration %s? A rejection after traffic moved rolls it back to blue.", m.Gate, m.Migration)),
			},
		})
	}
	text := title + ": " + m.Text
	if m.Migration != "" {
		text = title + " (" + m.Migration + "): " + m.Text
	}
	return slackPost{Channel: m.SlackChannel, Text: text, Blocks: blocks}
}

func button(actionID, label, style, value, confirm string) map[string]any {
	return map[string]any{
		"type":      "button",
		"action_id": actionID,
		"text":      map[string]any{"type": "plain_text", "text": label},
		"style":     style,
		"value":     value,
		"confirm": map[string]any{
			"title":   map[string]any{"type": "plain_text", "text": label + "?"},
			"text":    map[string]any{"type": "plain_text", "text": confirm},
			"confirm": map[string]any{"type": "plain_text", "text": label},
			"deny":    map[string]any{"type": "plain_text", "text": "Cancel"},
		},
	}
}

// decidedPayload is what a gate's request and reminders become once it is
// decided: the decision (m.Text says who and when) and no buttons.
func decidedPayload(m Message) slackPost {
	head := "*" + titles[KindGateDecided] + "*"
	if m.Migration != "" {
		head += " · migration `" + escape(m.Migration) + "`"
	}
	body := head + "\n" + escape(m.Text)
	if len(body) > 2900 {
		body = body[:2900] + "…"
	}
	ctx := "Gate `" + escape(m.Gate) + "` · no longer waiting for a decision"
	if m.WorkflowID != "" {
		ctx += " · Workflow `" + escape(m.WorkflowID) + "`"
	}
	return slackPost{Text: titles[KindGateDecided] + ": " + m.Text, Blocks: []map[string]any{
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": body}},
		{"type": "context", "elements": []map[string]any{{"type": "mrkdwn", "text": ctx}}},
	}}
}
