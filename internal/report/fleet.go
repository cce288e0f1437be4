package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/workflows"
)

// Fleet reports: a FleetUpgrade run's waves × members, as a picture (one
// bar per member's migration on a time axis, by wave, coloured by its
// outcome), Markdown and HTML, like a migration's report.

// fleetSpan is from the first member's start to the last end.
func fleetSpan(r *workflows.FleetReport) (span, bool) {
	var s span
	for _, m := range r.Results {
		s.see(m.Started)
		s.see(m.Ended)
	}
	for _, a := range r.Approvals {
		if a.At.After(s.to) && !s.from.IsZero() {
			s.see(a.At)
		}
	}
	return s, s.drawn()
}

// memberClass is the CSS class of a member's bar by its outcome.
func memberClass(outcome string) string {
	switch outcome {
	case workflows.OutcomeSucceeded:
		return "ok"
	case workflows.OutcomeFailed:
		return "failed"
	case workflows.OutcomeRolledBack:
		return "rolledback"
	default:
		return "other"
	}
}

// memberName is how a member is named in the report: its logical
// cluster, else its blue.
func memberName(m workflows.FleetResult) string {
	if m.Logical != "" {
		return m.Logical
	}
	return m.Blue
}

// FleetTimelineSVG draws the fleet: a row per member, grouped by wave, a
// bar from its migration's start to its end (to the picture's end while
// it runs), the fleet's gate decisions marked. A fleet with no member
// started draws nothing ("").
func FleetTimelineSVG(r *workflows.FleetReport) string {
	s, ok := fleetSpan(r)
	if !ok {
		return ""
	}
	height := topMargin + len(r.Results)*rowHeight + 24
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		svgWidth, height, svgWidth, height, esc("Timeline of fleet "+r.Fleet))
	b.WriteString(svgStyle)
	fmt.Fprintf(&b, `<text x="4" y="16" font-weight="bold">fleet %s</text>`, esc(r.Fleet))
	bottom := topMargin + len(r.Results)*rowHeight
	for _, a := range r.Approvals {
		if a.At.IsZero() {
			continue
		}
		x := s.x(a.At)
		fmt.Fprintf(&b, `<line class="gate" x1="%.1f" y1="%d" x2="%.1f" y2="%d"><title>%s</title></line><text class="gatelabel" x="%.1f" y="%d">%s</text>`,
			x, topMargin-6, x, bottom, esc(gateText(a)), x+2, topMargin-8, esc(shortGate(a)))
	}
	for i, m := range r.Results {
		y := topMargin + i*rowHeight
		fmt.Fprintf(&b, `<text x="4" y="%d">%s</text>`, y+barHeight-2, esc(truncate(m.Wave+" / "+memberName(m), 28)))
		if m.Started.IsZero() {
			fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d">%s</text>`, labelWidth+4, y+barHeight-3, esc(m.Outcome))
			continue
		}
		end := m.Ended
		if end.IsZero() {
			end = s.to
		}
		x0, x1 := s.x(m.Started), s.x(end)
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"><title>%s</title></rect>`,
			memberClass(m.Outcome), x0, y, max(x1-x0, 1.5), barHeight,
			esc(fmt.Sprintf("%s %s → %s %s (%s → %s)", memberName(m), m.From, m.To, m.Outcome, clock(m.Started), clock(m.Ended))))
	}
	drawAxis(&b, s, bottom+4)
	b.WriteString(`</svg>`)
	return b.String()
}

// buildFleet turns a fleet report into the document: outcomes counted,
// the waves × members table, the fleet's gate decisions.
func buildFleet(r *workflows.FleetReport) document {
	d := document{Title: "Fleet " + r.Fleet}
	counts := map[string]int{}
	var waves []string
	for _, m := range r.Results {
		counts[m.Outcome]++
		if len(waves) == 0 || waves[len(waves)-1] != m.Wave {
			waves = append(waves, m.Wave)
		}
	}
	outcomes := make([]string, 0, len(counts))
	for o := range counts {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	parts := make([]string, len(outcomes))
	for i, o := range outcomes {
		parts[i] = fmt.Sprintf("%d %s", counts[o], o)
	}
	d.Summary = append(d.Summary, [2]string{"Members", fmt.Sprintf("%d in %d waves", len(r.Results), len(waves))})
	if len(parts) > 0 {
		d.Summary = append(d.Summary, [2]string{"Outcomes", strings.Join(parts, ", ")})
	}
	if s, ok := fleetSpan(r); ok {
		d.Summary = append(d.Summary, [2]string{"Started", ts(s.from)}, [2]string{"Ended", ts(s.to)}, [2]string{"Took", s.to.Sub(s.from).Round(time.Second).String()})
	}
	sec := section{Title: "Waves and members", Header: []string{"Wave", "Cluster", "Blue", "Version", "Green", "Outcome", "Migration", "Took", "Why"}}
	for _, m := range r.Results {
		version := m.From
		if m.To != "" {
			version = m.From + " → " + m.To
		}
		took := ""
		if !m.Started.IsZero() && !m.Ended.IsZero() {
			took = m.Ended.Sub(m.Started).Round(time.Second).String()
		}
		sec.Rows = append(sec.Rows, []string{m.Wave, memberName(m), m.Blue, version, m.Green, m.Outcome, m.WorkflowID, took, m.Reason})
	}
	d.Sections = append(d.Sections, sec)
	if len(r.Approvals) > 0 {
		d.Sections = append(d.Sections, approvals("Fleet gates", r.Approvals))
	}
	d.Sections = append(d.Sections, section{Title: "Each migration", Note: "Every member's own report: cutover report <Migration> -o html."})
	return d
}

// FleetMarkdown writes the fleet report as Markdown, with the picture
// linked as svgName ("" leaves it out).
func FleetMarkdown(w io.Writer, r *workflows.FleetReport, svgName string) error {
	if _, drawn := fleetSpan(r); !drawn {
		svgName = ""
	}
	return markdown(w, buildFleet(r), svgName, "Timeline of fleet "+r.Fleet)
}

// FleetHTML writes the fleet report as one self-contained page.
func FleetHTML(w io.Writer, r *workflows.FleetReport) error {
	return htmlPage(w, buildFleet(r), FleetTimelineSVG(r))
}
