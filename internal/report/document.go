package report

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/workflows"
)

// document is what a report says, once, for the Markdown and HTML
// renderers: a title, a summary, then sections of tables and lists.
type document struct {
	Title    string
	Summary  [][2]string
	Sections []section
}

type section struct {
	Title string
	// Note is a sentence under the title.
	Note   string
	Header []string
	Rows   [][]string
	// Items are a list instead of (or after) the table.
	Items []string
}

func (s section) empty() bool { return len(s.Rows) == 0 && len(s.Items) == 0 && s.Note == "" }

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// build turns the report into the document.
func build(r *workflows.MigrationReport) document {
	d := document{Title: "Migration " + r.Migration}
	add := func(k, v string) {
		if v != "" {
			d.Summary = append(d.Summary, [2]string{k, v})
		}
	}
	add("Outcome", r.Outcome)
	add("Reason", r.Reason)
	add("Strategy", strategy(r))
	add("Blue", r.Blue)
	add("Green", r.Green)
	add("Target version", r.TargetVersion)
	if s, ok := timeSpan(r); ok {
		add("Started", ts(s.from))
		add("Ended", ts(s.to))
		add("Took", s.to.Sub(s.from).Round(time.Second).String())
	}
	add("Logical cluster", r.LogicalCluster)

	phases := section{Title: "Phases", Header: []string{"Phase", "Outcome", "Started", "Ended", "Took"}}
	for _, p := range r.Phases {
		phases.Rows = append(phases.Rows, []string{p.Phase, p.Outcome, ts(p.Started), ts(p.Ended), p.Duration})
	}
	d.Sections = append(d.Sections, phases)

	if in := r.InPlace; in != nil {
		sec := section{Title: "In-place upgrade", Note: fmt.Sprintf("From %s to %s in %d hops.", in.From, in.Target, len(in.Plan)),
			Header: []string{"Kind", "Name", "From", "To", "Status", "Update", "Detail"}}
		for _, st := range in.Steps {
			sec.Rows = append(sec.Rows, []string{st.Kind, st.Name, st.From, st.To, st.Status, st.UpdateID, st.Detail})
		}
		if in.Now != nil {
			var ngs []string
			for _, ng := range in.Now.NodeGroups {
				ngs = append(ngs, ng.Name+" "+ng.Version)
			}
			sec.Items = append(sec.Items, fmt.Sprintf("Now: control plane %s; node groups %s", in.Now.ControlPlane, strings.Join(ngs, ", ")))
		}
		d.Sections = append(d.Sections, sec)
	}

	if p := r.Parity; p != nil {
		sec := section{Title: "Before and after", Note: "Blue and green compared after green was built.", Header: []string{"Check", "Object", "Blue", "Green", "OK", "Fix"}}
		if p.Passed {
			sec.Note += " Parity passed."
		} else {
			sec.Note += " Parity failed."
		}
		for _, row := range p.Rows {
			ok := "yes"
			if !row.OK {
				ok = "no"
				if row.Blocking {
					ok = "no (blocking)"
				}
			}
			sec.Rows = append(sec.Rows, []string{row.Check, row.Object, row.Blue, row.Green, ok, row.Fix})
		}
		d.Sections = append(d.Sections, sec)
	}

	if r.Plan != nil {
		d.Sections = append(d.Sections, section{Title: "Plan", Note: "What the run would build and do; nothing was created.", Items: r.Plan.Lines()})
	}

	if len(r.Addons) > 0 {
		sec := section{Title: "Green's add-ons", Header: []string{"Add-on", "Version", "Why"}}
		for _, a := range r.Addons {
			sec.Rows = append(sec.Rows, []string{a.Name, a.Version, a.Reason})
		}
		d.Sections = append(d.Sections, sec)
	}

	if len(r.HealthReadings) > 0 {
		sec := section{Title: "Alarm and probe readings", Note: "One row per watched period (a bake, a gate's wait, the soak): its last reading, or the unhealthy one.",
			Header: []string{"At", "Watched", "Green %", "Healthy", "Alarms", "Why"}}
		for _, h := range r.HealthReadings {
			sec.Rows = append(sec.Rows, []string{ts(h.At), h.What, fmt.Sprint(h.Green), yesNo(h.Healthy), strings.Join(h.Alarms, ", "), strings.Join(h.Reasons, "; ")})
		}
		d.Sections = append(d.Sections, sec)
	}

	if len(r.Approvals) > 0 {
		d.Sections = append(d.Sections, approvals("Approvals", r.Approvals))
	}

	if len(r.TrafficHistory) > 0 {
		sec := section{Title: "Traffic", Header: []string{"At", "Step", "Blue %", "Green %", "Why"}}
		for _, e := range r.TrafficHistory {
			step := fmt.Sprint(e.Step)
			if e.Step == 0 {
				step = "rollback"
			}
			sec.Rows = append(sec.Rows, []string{ts(e.At), step, fmt.Sprint(e.Blue), fmt.Sprint(e.Green), e.Reason})
		}
		d.Sections = append(d.Sections, sec)
	}

	if sm := r.Smoke; sm != nil {
		sec := section{Title: "Smoke tests", Header: []string{"Check", "Passed", "Message"}}
		for _, c := range sm.Checks {
			sec.Rows = append(sec.Rows, []string{c.Name, yesNo(c.Passed), c.Message})
		}
		for _, p := range sm.Probes {
			sec.Rows = append(sec.Rows, []string{"probe " + p.Name, yesNo(p.Passed), p.Message})
		}
		d.Sections = append(d.Sections, sec)
	}

	// Findings by severity, most severe first, each with its fix.
	bySev := map[string][]finding.Finding{}
	for _, f := range r.Findings {
		bySev[string(f.Severity)] = append(bySev[string(f.Severity)], f)
	}
	sevs := make([]string, 0, len(bySev))
	for s := range bySev {
		sevs = append(sevs, s)
	}
	sort.Slice(sevs, func(i, j int) bool { return severityRank(sevs[i]) < severityRank(sevs[j]) })
	for _, s := range sevs {
		sec := section{Title: fmt.Sprintf("Findings: %s (%d)", s, len(bySev[s])), Header: []string{"Check", "Object", "Message", "Fix"}}
		for _, f := range bySev[s] {
			object := f.Object
			if len(f.Objects) > 0 {
				object = strings.TrimPrefix(object+", ", ", ") + strings.Join(f.Objects, ", ")
			}
			sec.Rows = append(sec.Rows, []string{f.Check, object, f.Message, f.Fix})
		}
		d.Sections = append(d.Sections, sec)
	}

	if len(r.StillPointsAtBlue) > 0 {
		sec := section{Title: "Still pointing at blue"}
		for _, b := range r.StillPointsAtBlue {
			sec.Items = append(sec.Items, b.Object+" "+b.Field+" ("+b.Match+")")
		}
		d.Sections = append(d.Sections, sec)
	}
	if len(r.Errors) > 0 || len(r.VeleroFailures) > 0 {
		sec := section{Title: "Errors", Items: append(append([]string(nil), r.Errors...), prefixed("Velero: ", r.VeleroFailures)...)}
		d.Sections = append(d.Sections, sec)
	}
	return d
}

func strategy(r *workflows.MigrationReport) string {
	if r.InPlace != nil {
		return "in place"
	}
	if r.Green != "" {
		return "blue/green"
	}
	return ""
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func severityRank(s string) int {
	switch s {
	case string(finding.Error):
		return 0
	case string(finding.Warning):
		return 1
	case string(finding.Info):
		return 2
	}
	return 3
}

func prefixed(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}

// approvals is the table of gate decisions: who, when, after how long.
func approvals(title string, records []workflows.ApprovalRecord) section {
	sec := section{Title: title, Header: []string{"Gate", "Decision", "By", "At", "Waited", "Via", "Comment"}}
	for _, a := range records {
		verb := "rejected"
		if a.Approved {
			verb = "approved"
		}
		waited := ""
		if !a.OpenedAt.IsZero() && !a.At.IsZero() {
			waited = a.At.Sub(a.OpenedAt).Round(time.Second).String()
		}
		sec.Rows = append(sec.Rows, []string{a.Gate, verb, a.By, ts(a.At), waited, a.Via, a.Comment})
	}
	return sec
}
