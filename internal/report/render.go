package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/cutover-dev/cutover/workflows"
)

// Markdown writes the report as Markdown. The timeline picture is an
// image link to svgName (written beside the Markdown by the caller, from
// TimelineSVG); with svgName "" the picture is left out.
func Markdown(w io.Writer, r *workflows.MigrationReport, svgName string) error {
	if _, drawn := timeSpan(r); !drawn {
		svgName = ""
	}
	return markdown(w, build(r), svgName, "Timeline of "+r.Migration)
}

// markdown writes a document, with the picture svgName (alt text alt)
// under the title when svgName is set.
func markdown(w io.Writer, d document, svgName, alt string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", mdText(d.Title))
	if svgName != "" {
		fmt.Fprintf(&b, "![%s](%s)\n\n", mdText(alt), svgName)
	}
	for _, kv := range d.Summary {
		fmt.Fprintf(&b, "- **%s:** %s\n", kv[0], mdText(kv[1]))
	}
	for _, s := range d.Sections {
		if s.empty() {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", mdText(s.Title))
		if s.Note != "" {
			fmt.Fprintf(&b, "%s\n\n", mdText(s.Note))
		}
		if len(s.Rows) > 0 {
			b.WriteString("| " + strings.Join(mdCells(s.Header), " | ") + " |\n")
			b.WriteString("|" + strings.Repeat(" --- |", len(s.Header)) + "\n")
			for _, row := range s.Rows {
				b.WriteString("| " + strings.Join(mdCells(row), " | ") + " |\n")
			}
		}
		if len(s.Items) > 0 {
			if len(s.Rows) > 0 {
				b.WriteString("\n")
			}
			for _, it := range s.Items {
				fmt.Fprintf(&b, "- %s\n", mdText(it))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdText keeps text from being read as Markdown markup.
func mdText(s string) string {
	r := strings.NewReplacer("\\", "\\\\", "*", "\\*", "_", "\\_", "`", "\\`", "<", "&lt;", ">", "&gt;", "[", "\\[", "]", "\\]", "\n", " ")
	return r.Replace(s)
}

func mdCells(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.ReplaceAll(mdText(c), "|", "\\|")
	}
	return out
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Doc.Title}}</title>
<style>
body{font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#222;margin:24px auto;max-width:1040px;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}
h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}
dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}
tr:nth-child(even) td{background:#fafafa}
.outcome-succeeded{color:#2e8b57}.outcome-failed,.outcome-rolled-back{color:#c0392b}
.timeline{overflow-x:auto;border:1px solid #eee;padding:6px;margin-top:12px}
footer{margin-top:32px;color:#888;font-size:12px}
</style>
</head>
<body>
<h1>{{.Doc.Title}}</h1>
<dl>{{range .Doc.Summary}}<dt>{{index . 0}}</dt><dd{{if eq (index . 0) "Outcome"}} class="outcome-{{index . 1}}"{{end}}>{{index . 1}}</dd>{{end}}</dl>
{{if .SVG}}<div class="timeline">{{.SVG}}</div>{{end}}
{{range .Doc.Sections}}{{if or .Rows .Items .Note}}
<h2>{{.Title}}</h2>
{{if .Note}}<p>{{.Note}}</p>{{end}}
{{if .Rows}}<table><thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>{{end}}
{{if .Items}}<ul>{{range .Items}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{end}}{{end}}
<footer>Written by cutover from the migration's report. Self-contained: no scripts, no network.</footer>
</body>
</html>
`))

// HTML writes the report as one self-contained page: inline CSS and the
// timeline as inline SVG, no scripts and nothing fetched.
func HTML(w io.Writer, r *workflows.MigrationReport) error {
	return htmlPage(w, build(r), TimelineSVG(r))
}

// htmlPage writes a document as the page, with the picture svg (drawn by this
// package, which escapes every text it draws).
func htmlPage(w io.Writer, d document, svg string) error {
	return page.Execute(w, struct {
		Doc document
		SVG template.HTML
	}{Doc: d, SVG: template.HTML(svg)}) // #nosec G203 -- the pictures escape every text they draw
}

// SlackFile renders reports for the notify activities' upload (it is their
// notify.ReportRenderer): the self-contained HTML page, named after the
// migration.
type SlackFile struct{}

// RenderReport decodes the MigrationReport JSON an outcome message carries
// and renders it as HTML.
func (SlackFile) RenderReport(raw json.RawMessage) (string, []byte, error) {
	var r workflows.MigrationReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", nil, fmt.Errorf("report: %w", err)
	}
	var b bytes.Buffer
	if err := HTML(&b, &r); err != nil {
		return "", nil, err
	}
	name := r.Migration
	if name == "" {
		name = "migration"
	}
	return "cutover-report-" + name + ".html", b.Bytes(), nil
}
