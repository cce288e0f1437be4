package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cutover-dev/cutover/internal/report"
	"github.com/cutover-dev/cutover/workflows"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Formats of `cutover report -o`.
const (
	reportMarkdown = "md"
	reportHTML     = "html"
)

// reportFormats marks a command whose -o takes md and html too.
const reportFormats = "cutover.dev/report-formats"

func (s *session) reportCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report WORKFLOW_ID",
		Short: "A migration's (or fleet run's) report for people: Markdown, self-contained HTML or JSON",
		Long: `Wait for a migration to end and write its report: a timeline picture (phases
on a time axis, gate waits shaded with who decided and when, the traffic on
green as a step line, the rollback marked with its reason), the before/after
table, add-ons, approvals, traffic, smoke tests, findings by severity with
their fix, and errors. A FleetUpgrade run's report is its waves × members:
each member's cluster, versions, green, outcome and migration, a bar per
migration on a time axis, and the fleet's gate decisions.

  -o html   one self-contained page (inline CSS and SVG: no scripts, nothing
            fetched), for a change board or a ticket
  -o md     Markdown; with --out FILE.md the picture is written beside it as
            FILE.svg and linked, on stdout it is left out
  -o json   the MigrationReport, as "cutover result -o json"

Exits 0 when the migration succeeded (or was a dry run), 1 otherwise.`,
		Example: `  cutover report cutover-shop-prod-1-31 -o html --out shop-prod-1-31.html
  cutover report cutover-shop-prod-1-31 -o md --out reports/shop-prod-1-31.md
  cutover report cutover-shop-prod-1-31 -o json | jq .approvals
  cutover report cutover-fleet-prod-2027-01-01T09:00:00Z -o html --out fleet-2027q1.html`,
		Args:              workflowIDArg,
		ValidArgsFunction: noCompletions,
		Annotations:       map[string]string{reportFormats: "true"},
		RunE: func(cmd *cobra.Command, args []string) error {
			format := s.output
			switch format {
			case outputText:
				format = reportMarkdown
			case reportMarkdown, reportHTML, outputJSON, outputYAML:
			}
			if out != "" && format == reportMarkdown && !strings.HasSuffix(out, ".md") {
				return usageErr("--out %q: a Markdown report is written to a .md file (its picture beside it as .svg)", out)
			}
			c, err := s.dial(nil)
			if err != nil {
				return err
			}
			defer c.Close()
			doc, runErr := s.reportOf(cmd.Context(), c, args[0])
			if doc.value == nil {
				return &exitError{code: ExitFailed, msg: fmt.Sprintf("%s failed without a report: %v", args[0], runErr)}
			}
			var b bytes.Buffer
			switch format {
			case reportHTML:
				err = doc.html(&b)
			case reportMarkdown:
				svg := ""
				if out != "" {
					if pic := doc.svg(); pic != "" {
						path := strings.TrimSuffix(out, ".md") + ".svg"
						if err := os.WriteFile(path, []byte(pic+"\n"), 0o644); err != nil {
							return fmt.Errorf("write the timeline: %w", err)
						}
						svg = filepath.Base(path)
					}
				}
				err = doc.markdown(&b, svg)
			default:
				saved := s.stdout
				s.stdout = &b
				err = s.print(doc.value)
				s.stdout = saved
			}
			if err != nil {
				return err
			}
			if out == "" {
				_, err = s.stdout.Write(b.Bytes())
			} else {
				err = os.WriteFile(out, b.Bytes(), 0o644)
				if err == nil {
					fmt.Fprintf(s.stderr, "Wrote %s\n", out)
				}
			}
			if err != nil {
				return err
			}
			if runErr != nil {
				return &exitError{code: ExitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the report to this file instead of stdout")
	return cmd
}

// reportDoc is a run's report and its renderers: a migration's, or a
// fleet's (waves × members).
type reportDoc struct {
	value    any
	svg      func() string
	markdown func(w io.Writer, svgName string) error
	html     func(w io.Writer) error
}

// reportOf reads the report of workflow id, by its type: a FleetUpgrade
// run's FleetReport, else the MigrationReport. runErr is the run's
// failure (the report still comes with it when the run attached one).
func (s *session) reportOf(ctx context.Context, c client.Client, id string) (reportDoc, error) {
	if d, err := c.DescribeWorkflowExecution(ctx, id, ""); err == nil && d.GetWorkflowExecutionInfo().GetType().GetName() == workflows.FleetWorkflowType {
		var fr workflows.FleetReport
		runErr := c.GetWorkflow(ctx, id, "").Get(ctx, &fr)
		if runErr != nil {
			var appErr *temporal.ApplicationError
			if !errors.As(runErr, &appErr) || !appErr.HasDetails() || appErr.Details(&fr) != nil || fr.Fleet == "" {
				return reportDoc{}, runErr
			}
		}
		return reportDoc{value: &fr,
			svg:      func() string { return report.FleetTimelineSVG(&fr) },
			markdown: func(w io.Writer, svg string) error { return report.FleetMarkdown(w, &fr, svg) },
			html:     func(w io.Writer) error { return report.FleetHTML(w, &fr) },
		}, runErr
	}
	r, runErr := Report(ctx, c, id)
	if r == nil {
		return reportDoc{}, runErr
	}
	return reportDoc{value: r,
		svg:      func() string { return report.TimelineSVG(r) },
		markdown: func(w io.Writer, svg string) error { return report.Markdown(w, r, svg) },
		html:     func(w io.Writer) error { return report.HTML(w, r) },
	}, runErr
}
