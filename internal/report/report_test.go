package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/workflows"
)

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// rolledBack is a blue/green run that moved 10 % to green, waited at a
// gate, went to 50 % and rolled back on an alarm.
func rolledBack() *workflows.MigrationReport {
	return &workflows.MigrationReport{
		Migration: "shop-prod-1-31", Outcome: workflows.OutcomeRolledBack, Reason: "alarm shop-5xx went to ALARM <at 50%>",
		Blue: "shop-prod", Green: "shop-prod-1-31", TargetVersion: "1.31",
		Phases: []workflows.PhaseTiming{
			{Phase: "Preflight", Started: at(0), Ended: at(time.Minute), Duration: "1m0s", Outcome: "ok"},
			{Phase: "BuildGreen", Started: at(time.Minute), Ended: at(15 * time.Minute), Duration: "14m0s", Outcome: "ok"},
			{Phase: "ShiftTraffic", Started: at(15 * time.Minute), Ended: at(40 * time.Minute), Duration: "25m0s", Outcome: "failed"},
			{Phase: "Rollback", Started: at(40 * time.Minute), Ended: at(42 * time.Minute), Duration: "2m0s", Outcome: "ok"},
		},
		Approvals: []workflows.ApprovalRecord{{Gate: "cutover", Approved: true, By: "alice", OpenedAt: at(15 * time.Minute), At: at(20 * time.Minute), Via: "update", Comment: "smoke is green"}},
		TrafficHistory: []workflows.TrafficEvent{
			{At: at(21 * time.Minute), Step: 1, Blue: 90, Green: 10, Reason: "step 1"},
			{At: at(30 * time.Minute), Step: 2, Blue: 50, Green: 50, Reason: "step 2"},
			{At: at(40 * time.Minute), Step: 0, Blue: 100, Green: 0, Reason: "alarm shop-5xx went to ALARM"},
		},
		HealthReadings: []workflows.HealthReading{
			{At: at(30 * time.Minute), What: "bake of step 1", Green: 10, Healthy: true, Readings: 18, Alarms: []string{"shop-5xx OK"}},
			{At: at(39*time.Minute + 30*time.Second), What: "bake of step 2", Green: 50, Readings: 6, Reasons: []string{"alarm shop-5xx is in ALARM"}, Alarms: []string{"shop-5xx ALARM"}},
		},
		Findings: []finding.Finding{
			{Check: "removed-api", Severity: finding.Error, Object: "policy/v1beta1 PodDisruptionBudget payments/ledger", Message: "removed in 1.25", Fix: "use policy/v1"},
			{Check: "workload-without-pdb", Severity: finding.Warning, Object: "apps/v1 Deployment shop/api", Message: "no PDB", Fix: "add one"},
		},
		Parity: &workflows.ParityReport{Passed: true, Rows: []workflows.ParityRow{{Check: "node-group", Object: "general", Blue: "AL2 1.29", Green: "AL2 1.31", OK: true}}},
		Errors: []string{"describe after the failure: throttled"},
	}
}

// svgDoc is the picture parsed as XML: every element by name, with its attributes.
type svgDoc struct {
	elems []xml.StartElement
	texts []string
}

func parseSVG(t *testing.T, s string) svgDoc {
	t.Helper()
	var d svgDoc
	dec := xml.NewDecoder(strings.NewReader(s))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the timeline is not well-formed XML: %v\n%s", err, s)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			d.elems = append(d.elems, v.Copy())
		case xml.CharData:
			if txt := strings.TrimSpace(string(v)); txt != "" {
				d.texts = append(d.texts, txt)
			}
		}
	}
	return d
}

func (d svgDoc) count(name, class string) int {
	n := 0
	for _, e := range d.elems {
		if e.Name.Local != name {
			continue
		}
		if class == "" {
			n++
			continue
		}
		for _, a := range e.Attr {
			if a.Name.Local == "class" && a.Value == class {
				n++
			}
		}
	}
	return n
}

func (d svgDoc) hasText(sub string) bool {
	for _, t := range d.texts {
		if strings.Contains(t, sub) {
			return true
		}
	}
	return false
}

func TestTimelineSVG(t *testing.T) {
	tests := []struct {
		name   string
		report *workflows.MigrationReport
		check  func(t *testing.T, d svgDoc)
	}{
		{"a rolled-back blue/green run", rolledBack(), func(t *testing.T, d svgDoc) {
			if n := d.count("rect", "ok") + d.count("rect", "failed"); n != 4 {
				t.Errorf("%d phase bars, want 4", n)
			}
			if d.count("rect", "failed") != 1 {
				t.Error("the failed phase is not drawn as failed")
			}
			if d.count("rect", "gate") != 1 || !d.hasText("cutover ✓ alice 10:20:00") {
				t.Errorf("gate wait not shaded with who and when: %v", d.texts)
			}
			if d.count("polyline", "traffic") != 1 || d.count("circle", "change") != 3 {
				t.Error("traffic not drawn as a step line with its three changes")
			}
			if d.count("line", "rollback") != 1 || !d.hasText("rollback: alarm shop-5xx went to ALARM") {
				t.Errorf("rollback not marked with its reason: %v", d.texts)
			}
			if !d.hasText("shop-prod-1-31: rolled-back") {
				t.Errorf("no title: %v", d.texts)
			}
		}},
		{"an in-place run without traffic", &workflows.MigrationReport{Migration: "shop-inplace", Outcome: workflows.OutcomeSucceeded,
			Phases: []workflows.PhaseTiming{{Phase: "UpgradeControlPlane", Started: at(0), Ended: at(12 * time.Minute), Outcome: "ok"}}},
			func(t *testing.T, d svgDoc) {
				if d.count("rect", "ok") != 1 || d.count("polyline", "traffic") != 0 || d.count("line", "rollback") != 0 {
					t.Error("want one bar, no traffic line, no rollback")
				}
			}},
		{"a phase still running ends at the last event", &workflows.MigrationReport{Migration: "m", Outcome: "",
			Phases:    []workflows.PhaseTiming{{Phase: "Preflight", Started: at(0), Ended: at(time.Minute)}, {Phase: "BuildGreen", Started: at(time.Minute)}},
			Approvals: []workflows.ApprovalRecord{{Gate: "g", OpenedAt: at(2 * time.Minute), At: at(3 * time.Minute), Approved: false, By: "bob"}}},
			func(t *testing.T, d svgDoc) {
				if d.count("rect", "ok") != 2 || !d.hasText("g ✗ bob") {
					t.Errorf("bars %d, texts %v", d.count("rect", "ok"), d.texts)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := TimelineSVG(tc.report)
			if strings.Contains(s, "href") || strings.Count(s, "http") != 1 {
				t.Errorf("the picture refers to something outside itself:\n%s", s)
			}
			tc.check(t, parseSVG(t, s))
		})
	}
	if s := TimelineSVG(&workflows.MigrationReport{Migration: "empty"}); s != "" {
		t.Errorf("a report without timings drew %q", s)
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, rolledBack(), "shop-prod-1-31-timeline.svg"); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"# Migration shop-prod-1-31\n",
		"![Timeline of shop-prod-1-31](shop-prod-1-31-timeline.svg)",
		"- **Outcome:** rolled-back",
		"- **Reason:** alarm shop-5xx went to ALARM &lt;at 50%&gt;",
		"## Phases", "| ShiftTraffic | failed |",
		"## Approvals", "| cutover | approved | alice | 2026-12-03T10:20:00Z | 5m0s | update | smoke is green |",
		"## Traffic", "| rollback | 100 | 0 |",
		"## Findings: error (1)", "## Findings: warning (1)", "use policy/v1",
		"## Before and after", "## Errors",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Index(md, "Findings: error") > strings.Index(md, "Findings: warning") {
		t.Error("errors come after warnings")
	}
	b.Reset()
	if err := Markdown(&b, rolledBack(), ""); err != nil || strings.Contains(b.String(), "![") {
		t.Errorf("without an SVG name the picture is still linked: %v", err)
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	r := rolledBack()
	r.Findings = append(r.Findings, finding.Finding{Check: "x", Severity: finding.Info, Message: `<script>alert("pwned")</script>`})
	var b bytes.Buffer
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Contains(page, "<script") {
		t.Error("a finding's text became a script")
	}
	if !strings.Contains(page, "&lt;script&gt;") {
		t.Error("the finding's text is not on the page, escaped")
	}
	// Nothing fetched: no src/href, and the only URL is the SVG namespace.
	if regexp.MustCompile(`(?i)\b(src|href)\s*=`).MatchString(page) {
		t.Error("the page links to something")
	}
	if urls := regexp.MustCompile(`https?://[^"'\s<>]+`).FindAllString(page, -1); len(urls) != 1 || urls[0] != "http://www.w3.org/2000/svg" {
		t.Errorf("URLs on the page: %v", urls)
	}
	for _, want := range []string{"<svg", `class="rollback"`, "<h2>Approvals</h2>", "<h2>Findings: error (1)</h2>", `class="outcome-rolled-back"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestSummaryFindingListsEveryObject: a check's summary finding (the
// findings past the per-check cap) names each of its objects in the report.
func TestSummaryFindingListsEveryObject(t *testing.T) {
	r := rolledBack()
	r.Findings = append(r.Findings, finding.Finding{Check: "removed-api", Severity: finding.Error,
		Message: "3 more \"removed-api\" findings, one per object listed here",
		Objects: []string{"extensions/v1beta1 Ingress shop/a", "extensions/v1beta1 Ingress shop/b", "batch/v1beta1 CronJob shop/c"}})
	var md, html bytes.Buffer
	if err := Markdown(&md, r, ""); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&html, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"extensions/v1beta1 Ingress shop/a", "extensions/v1beta1 Ingress shop/b", "batch/v1beta1 CronJob shop/c"} {
		if !strings.Contains(md.String(), want) || !strings.Contains(html.String(), want) {
			t.Errorf("the report does not name %q", want)
		}
	}
}
