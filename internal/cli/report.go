package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cutover-dev/cutover/internal/report"
	"github.com/spf13/cobra"
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
		Short: "The migration's report for people: Markdown, self-contained HTML or JSON",
		Long: `Wait for a migration to end and write its report: a timeline picture (phases
on a time axis, gate waits shaded with who decided and when, the traffic on
green as a step line, the rollback marked with its reason), the before/after
table, add-ons, approvals, traffic, smoke tests, findings by severity with
their fix, and errors.

  -o html   one self-contained page (inline CSS and SVG: no scripts, nothing
            fetched), for a change board or a ticket
  -o md     Markdown; with --out FILE.md the picture is written beside it as
            FILE.svg and linked, on stdout it is left out
  -o json   the MigrationReport, as "cutover result -o json"

Exits 0 when the migration succeeded (or was a dry run), 1 otherwise.`,
		Example: `  cutover report cutover-shop-prod-1-31 -o html --out shop-prod-1-31.html
  cutover report cutover-shop-prod-1-31 -o md --out reports/shop-prod-1-31.md
  cutover report cutover-shop-prod-1-31 -o json | jq .approvals`,
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
			r, runErr := Report(cmd.Context(), c, args[0])
			if r == nil {
				return &exitError{code: ExitFailed, msg: fmt.Sprintf("%s failed without a report: %v", args[0], runErr)}
			}
			var b bytes.Buffer
			switch format {
			case reportHTML:
				err = report.HTML(&b, r)
			case reportMarkdown:
				svg := ""
				if out != "" {
					if pic := report.TimelineSVG(r); pic != "" {
						path := strings.TrimSuffix(out, ".md") + ".svg"
						if err := os.WriteFile(path, []byte(pic+"\n"), 0o644); err != nil {
							return fmt.Errorf("write the timeline: %w", err)
						}
						svg = filepath.Base(path)
					}
				}
				err = report.Markdown(&b, r, svg)
			default:
				saved := s.stdout
				s.stdout = &b
				err = s.print(r)
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
