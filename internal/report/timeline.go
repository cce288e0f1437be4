// Package report renders a MigrationReport for people: a timeline picture
// (SVG), Markdown and a self-contained HTML page (inline CSS and SVG, no
// network), with the same content in each.
package report

import (
	"fmt"
	"html"
	"sort"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/workflows"
)

// Layout of the timeline picture, in SVG user units.
const (
	svgWidth    = 960
	labelWidth  = 190
	rowHeight   = 22
	barHeight   = 14
	topMargin   = 28
	trafficH    = 90
	rightMargin = 20
)

// span is the time the picture covers.
type span struct{ from, to time.Time }

func (s span) x(t time.Time) float64 {
	total := s.to.Sub(s.from)
	if total <= 0 {
		return labelWidth
	}
	f := float64(t.Sub(s.from)) / float64(total)
	f = min(max(f, 0), 1)
	return labelWidth + f*float64(svgWidth-labelWidth-rightMargin)
}

// see widens the span to take t in (a zero t is nothing).
func (s *span) see(t time.Time) {
	if t.IsZero() {
		return
	}
	if s.from.IsZero() || t.Before(s.from) {
		s.from = t
	}
	if t.After(s.to) {
		s.to = t
	}
}

// drawn reports whether the span is long enough to draw.
func (s span) drawn() bool { return !s.from.IsZero() && s.to.After(s.from) }

// timeSpan is from the first phase's start to the last thing that happened.
func timeSpan(r *workflows.MigrationReport) (span, bool) {
	var s span
	see := s.see
	for _, p := range r.Phases {
		see(p.Started)
		see(p.Ended)
	}
	for _, a := range r.Approvals {
		see(a.OpenedAt)
		see(a.At)
	}
	for _, e := range r.TrafficHistory {
		see(e.At)
	}
	for _, h := range r.HealthReadings {
		see(h.At)
	}
	return s, s.drawn()
}

// phaseClass is the CSS class of a phase bar by its outcome.
func phaseClass(outcome string) string {
	switch outcome {
	case "ok", "":
		return "ok"
	case "failed":
		return "failed"
	case "rolled-back", "rolledBack", "rollback":
		return "rolledback"
	default:
		return "other"
	}
}

// rollbackEvent is the traffic change that rolled back (step 0), if any.
func rollbackEvent(r *workflows.MigrationReport) (workflows.TrafficEvent, bool) {
	for _, e := range r.TrafficHistory {
		if e.Step == 0 && e.Green == 0 && strings.TrimSpace(e.Reason) != "" && len(r.TrafficHistory) > 1 {
			return e, true
		}
	}
	return workflows.TrafficEvent{}, false
}

// TimelineSVG draws the run: one bar per phase on a time axis, the gate
// waits shaded across the picture with who decided and when, the traffic
// on green as a step line under it, and the rollback marked where it was
// triggered, with its reason. A report without timings draws nothing ("").
func TimelineSVG(r *workflows.MigrationReport) string {
	s, ok := timeSpan(r)
	if !ok {
		return ""
	}
	phasesH := len(r.Phases) * rowHeight
	height := topMargin + phasesH + 20
	hasTraffic := len(r.TrafficHistory) > 0
	if hasTraffic {
		height += trafficH + 30
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s">`,
		svgWidth, height, svgWidth, height, esc("Timeline of migration "+r.Migration))
	b.WriteString(svgStyle)
	fmt.Fprintf(&b, `<text x="4" y="16" font-weight="bold">%s: %s</text>`, esc(r.Migration), esc(r.Outcome))
	bottom := topMargin + phasesH
	if hasTraffic {
		bottom += 30 + trafficH
	}
	// Gate waits, behind everything.
	for _, a := range r.Approvals {
		if a.OpenedAt.IsZero() || a.At.IsZero() {
			continue
		}
		x0, x1 := s.x(a.OpenedAt), s.x(a.At)
		fmt.Fprintf(&b, `<rect class="gate" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s</title></rect>`,
			x0, topMargin-6, max(x1-x0, 1), bottom-topMargin+6, esc(gateText(a)))
		fmt.Fprintf(&b, `<text class="gatelabel" x="%.1f" y="%d">%s</text>`, x0+2, topMargin-8, esc(shortGate(a)))
	}
	// Phases.
	for i, p := range r.Phases {
		y := topMargin + i*rowHeight
		fmt.Fprintf(&b, `<text x="4" y="%d">%s</text>`, y+barHeight-2, esc(p.Phase))
		end := p.Ended
		if end.IsZero() {
			end = s.to
		}
		x0, x1 := s.x(p.Started), s.x(end)
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"><title>%s</title></rect>`,
			phaseClass(p.Outcome), x0, y, max(x1-x0, 1.5), barHeight, esc(fmt.Sprintf("%s %s %s (%s → %s)", p.Phase, p.Outcome, p.Duration, clock(p.Started), clock(p.Ended))))
	}
	axisY := topMargin + phasesH + 4
	drawAxis(&b, s, axisY)
	// Traffic on green, a step line from 0 to 100 %.
	if hasTraffic {
		top := axisY + 30
		base := top + trafficH
		fmt.Fprintf(&b, `<text x="4" y="%d">traffic on green</text>`, top+12)
		fmt.Fprintf(&b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, labelWidth, base, svgWidth-rightMargin, base)
		fmt.Fprintf(&b, `<text class="tick" x="%d" y="%d" text-anchor="end">100%%</text><text class="tick" x="%d" y="%d" text-anchor="end">0%%</text>`,
			labelWidth-4, top+4, labelWidth-4, base)
		events := append([]workflows.TrafficEvent(nil), r.TrafficHistory...)
		sort.SliceStable(events, func(i, j int) bool { return events[i].At.Before(events[j].At) })
		yOf := func(green int) float64 { return float64(base) - float64(min(max(green, 0), 100))/100*float64(trafficH) }
		var pts []string
		prev := 0
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", s.x(s.from), yOf(0)))
		for _, e := range events {
			x := s.x(e.At)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, yOf(prev)), fmt.Sprintf("%.1f,%.1f", x, yOf(e.Green)))
			prev = e.Green
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", s.x(s.to), yOf(prev)))
		fmt.Fprintf(&b, `<polyline class="traffic" points="%s"/>`, strings.Join(pts, " "))
		for _, e := range events {
			fmt.Fprintf(&b, `<circle class="change" cx="%.1f" cy="%.1f" r="3" fill="#1f6fb2"><title>%s</title></circle>`, s.x(e.At), yOf(e.Green),
				esc(fmt.Sprintf("%s: blue %d%% / green %d%%: %s", clock(e.At), e.Blue, e.Green, e.Reason)))
		}
		// The alarm and probe readings of each watched period, on the
		// line at the split they were read at: a hollow dot when healthy,
		// a red cross when not.
		for _, h := range r.HealthReadings {
			x, y := s.x(h.At), yOf(h.Green)
			title := esc(readingText(h))
			if h.Healthy {
				fmt.Fprintf(&b, `<circle class="reading" cx="%.1f" cy="%.1f" r="4"><title>%s</title></circle>`, x, y, title)
				continue
			}
			fmt.Fprintf(&b, `<path class="unhealthy" d="M%.1f %.1fl8 8m0 -8l-8 8"><title>%s</title></path>`, x-4, y-4, title)
		}
		if rb, ok := rollbackEvent(r); ok {
			x := s.x(rb.At)
			fmt.Fprintf(&b, `<line class="rollback" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x, topMargin-6, x, base)
			fmt.Fprintf(&b, `<text class="rollbacklabel" x="%.1f" y="%d" text-anchor="end">rollback: %s</text>`, x-4, base-4, esc(truncate(rb.Reason, 80)))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// svgStyle is the pictures' CSS.
const svgStyle = `<style>
text{font:12px sans-serif;fill:#222}
.axis{stroke:#999;stroke-width:1}
.tick{font-size:10px;fill:#666}
.ok{fill:#2e8b57}.failed{fill:#c0392b}.rolledback{fill:#e67e22}.other{fill:#5b7db1}
.gate{fill:#f1c40f;fill-opacity:.22;stroke:#d4ac0d;stroke-dasharray:3 2}
.gatelabel{font-size:10px;fill:#7d6608}
.traffic{fill:none;stroke:#1f6fb2;stroke-width:2}
.rollback{stroke:#c0392b;stroke-width:2}
.rollbacklabel{font-size:11px;fill:#c0392b;font-weight:bold}
.reading{fill:#fff;stroke:#2e8b57;stroke-width:1.5}
.unhealthy{stroke:#c0392b;stroke-width:2.5}
</style>`

// readingText says what a watched period read.
func readingText(h workflows.HealthReading) string {
	state := "healthy"
	if !h.Healthy {
		state = "UNHEALTHY: " + strings.Join(h.Reasons, "; ")
	}
	t := fmt.Sprintf("%s %s at %d%% green: %s", clock(h.At), h.What, h.Green, state)
	if len(h.Alarms) > 0 {
		t += " (" + strings.Join(h.Alarms, ", ") + ")"
	}
	return t
}

// drawAxis draws the time axis at y with its ticks.
func drawAxis(b *strings.Builder, s span, y int) {
	fmt.Fprintf(b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, labelWidth, y, svgWidth-rightMargin, y)
	for _, t := range ticks(s) {
		x := s.x(t)
		fmt.Fprintf(b, `<line class="axis" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`,
			x, y, x, y+4, x, y+15, clock(t))
	}
}

// ticks are about six round times across the span.
func ticks(s span) []time.Time {
	total := s.to.Sub(s.from)
	steps := []time.Duration{time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute,
		10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	step := steps[len(steps)-1]
	for _, d := range steps {
		if total/d <= 6 {
			step = d
			break
		}
	}
	var out []time.Time
	for t := s.from.Truncate(step).Add(step); !t.After(s.to); t = t.Add(step) {
		out = append(out, t)
	}
	return out
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "…"
	}
	return t.UTC().Format("15:04:05")
}

func gateText(a workflows.ApprovalRecord) string {
	verb := "rejected"
	if a.Approved {
		verb = "approved"
	}
	by := a.By
	if a.Via == "timeout" {
		by = "timeout"
	}
	s := fmt.Sprintf("gate %s: %s by %s at %s, waited %s", a.Gate, verb, by, a.At.UTC().Format(time.RFC3339), a.At.Sub(a.OpenedAt).Round(time.Second))
	if a.Comment != "" {
		s += " (" + a.Comment + ")"
	}
	return s
}

func shortGate(a workflows.ApprovalRecord) string {
	verb := "✗"
	if a.Approved {
		verb = "✓"
	}
	return fmt.Sprintf("%s %s %s %s", a.Gate, verb, a.By, clock(a.At))
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func esc(s string) string { return html.EscapeString(s) }
