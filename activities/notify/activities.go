// Package notify holds the chatops activity: gate requests, reminders and
// outcomes posted to Slack or a webhook. Tokens come from the worker's
// environment, never from workflow input.
package notify

import (
	"context"

	"github.com/cutover-dev/cutover/internal/failures"
)

// Kinds of message.
const (
	KindGateOpened  = "gate-opened"
	KindReminder    = "gate-reminder"
	KindGateDecided = "gate-decided"
	KindPhase       = "phase"
	KindRolledBack  = "rolled-back"
	KindFailed      = "failed"
	KindDone        = "done"
)

// Message is one post.
type Message struct {
	WorkflowID   string   `json:"workflowId"`
	Migration    string   `json:"migration"`
	Kind         string   `json:"kind"`
	Gate         string   `json:"gate,omitempty"`
	Text         string   `json:"text"`
	Approvers    []string `json:"approvers,omitempty"`
	Deadline     string   `json:"deadline,omitempty"`
	SlackChannel string   `json:"slackChannel,omitempty"`
	WebhookURL   string   `json:"webhookUrl,omitempty"`
}

// Activities are the notification activities.
type Activities struct{}

// New returns the notification activities.
func New() *Activities { return &Activities{} }

// Notify posts a message.
func (a *Activities) Notify(ctx context.Context, m Message) error {
	return failures.NotImplementedf("notify.Notify")
}
