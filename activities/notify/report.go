package notify

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/slack-go/slack"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
)

// ReportRenderer turns a run's report (the MigrationReport as JSON, as
// the workflow returns it) into the file people read: internal/report's
// self-contained HTML, wired by the worker. notify does not import the
// workflow's types, so the report travels as JSON.
type ReportRenderer interface {
	RenderReport(report json.RawMessage) (filename string, content []byte, err error)
}

// WithReportRenderer makes outcome messages that carry a report (Done,
// RolledBack, Failed) upload it to their Slack thread as a file.
func WithReportRenderer(r ReportRenderer) Option {
	return func(a *Activities) { a.reports = r }
}

// SlackFile is a file shared in Slack.
type SlackFile struct {
	ID        string `json:"id"`
	Permalink string `json:"permalink,omitempty"`
}

// destReport: the report file was uploaded.
const destReport = "slack-report"

// uploadReport renders m.Report and shares it in the message's thread
// (files.getUploadURLExternal, the upload, files.completeUploadExternal,
// then files.info for the permalink). The message itself is already
// delivered, so an upload Slack refuses for good (no files:write scope,
// say) is a warning in Delivery.ReportError, not the activity's failure;
// one that may pass (throttled, 5xx, network) is returned and retried,
// and the retry does not post the message again (heartbeat). A retry
// after an upload whose answer was lost may share the file twice.
func (a *Activities) uploadReport(ctx context.Context, m Message, posted *SlackMessageRef, st *deliveryState, out *Delivery) error {
	name, content, err := a.reports.RenderReport(m.Report)
	if err != nil {
		a.log.Warn("Report not rendered; not uploaded", "workflowId", m.WorkflowID, "error", err)
		out.ReportError = "report not rendered: " + err.Error()
		return nil
	}
	thread := m.ThreadTS
	if thread == "" {
		thread = posted.TS
	}
	st.mark(&st.Started, destReport)
	activitylog.Heartbeat(ctx, st.copy())
	f, err := a.slack.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: name, FileSize: len(content), Reader: bytes.NewReader(content),
		Title: "Migration report: " + m.Migration, Channel: posted.Channel, ThreadTimestamp: thread,
	})
	if err == nil {
		file := &SlackFile{ID: f.ID}
		// The permalink is for Current Details; without it the file is
		// still in the thread.
		if info, _, _, ierr := a.slack.GetFileInfoContext(ctx, f.ID, 0, 0); ierr == nil {
			file.Permalink = info.Permalink
		} else {
			a.log.Warn("Report uploaded; its permalink could not be read", "file", f.ID, "error", ierr)
		}
		out.Report = file
		st.Report = file
		st.mark(&st.Delivered, destReport)
		activitylog.Heartbeat(ctx, st.copy())
		a.log.Info("Report shared in the migration's Slack thread", "workflowId", m.WorkflowID, "file", f.ID, "bytes", len(content))
		return nil
	}
	cerr := slackError("files upload", err)
	if failures.IsDefinitive(cerr) {
		a.log.Warn("Slack refused the report upload; the message was posted without it", "workflowId", m.WorkflowID, "error", cerr)
		out.ReportError = "report not shared in Slack: " + failures.Message(cerr) + " (the bot needs the files:write scope)"
		st.mark(&st.Delivered, destReport)
		return nil
	}
	return cerr
}
