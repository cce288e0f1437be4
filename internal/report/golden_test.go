package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/workflows"
)

// -update rewrites testdata/*.golden from the renderers (then review the
// diff: the files are what a change board receives).
var update = flag.Bool("update", false, "rewrite the golden reports in testdata/")

// happy is a blue/green run that went 10/50/100 with both gates approved
// and retired blue.
func happy() *workflows.MigrationReport {
	return &workflows.MigrationReport{
		Migration: "shop-prod-1-31", Outcome: workflows.OutcomeSucceeded,
		Blue: "shop-prod", Green: "shop-prod-1-31", TargetVersion: "1.31",
		Phases: []workflows.PhaseTiming{
			{Phase: "Preflight", Started: at(0), Ended: at(time.Minute), Duration: "1m0s", Outcome: "ok"},
			{Phase: "BuildGreen", Started: at(time.Minute), Ended: at(16 * time.Minute), Duration: "15m0s", Outcome: "ok"},
			{Phase: "ShiftTraffic", Started: at(16 * time.Minute), Ended: at(50 * time.Minute), Duration: "34m0s", Outcome: "ok"},
			{Phase: "RetireBlue", Started: at(50 * time.Minute), Ended: at(70 * time.Minute), Duration: "20m0s", Outcome: "ok"},
		},
		Approvals: []workflows.ApprovalRecord{
			{Gate: "cutover", Approved: true, By: "alice", OpenedAt: at(16 * time.Minute), At: at(20 * time.Minute), Via: "update", Comment: "smoke is green"},
			{Gate: "retire", Approved: true, By: "bob", OpenedAt: at(48 * time.Minute), At: at(52 * time.Minute), Via: "slack"},
		},
		TrafficHistory: []workflows.TrafficEvent{
			{At: at(21 * time.Minute), Step: 1, Blue: 90, Green: 10, Reason: "step 1"},
			{At: at(31 * time.Minute), Step: 2, Blue: 50, Green: 50, Reason: "step 2"},
			{At: at(41 * time.Minute), Step: 3, Blue: 0, Green: 100, Reason: "step 3"},
		},
		HealthReadings: []workflows.HealthReading{
			{At: at(31 * time.Minute), What: "bake of step 1", Green: 10, Healthy: true, Readings: 20, Alarms: []string{"shop-5xx OK"}},
			{At: at(41 * time.Minute), What: "bake of step 2", Green: 50, Healthy: true, Readings: 20, Alarms: []string{"shop-5xx OK"}},
			{At: at(50 * time.Minute), What: "soak", Green: 100, Healthy: true, Readings: 18, Alarms: []string{"shop-5xx OK"}},
		},
		Findings: []finding.Finding{
			{Check: "workload-single-replica", Severity: finding.Warning, Object: "apps/v1 Deployment shop/cart", Message: "1 replica", Fix: "run 2 or more"},
		},
		Addons: []eks.AddonChoice{{Name: "vpc-cni", Version: "v1.18.3-eksbuild.1", Reason: "EKS's default for Kubernetes 1.31"}},
		Parity: &workflows.ParityReport{Passed: true, Rows: []workflows.ParityRow{
			{Check: "node-group", Object: "general", Blue: "AL2 1.29", Green: "AL2023 1.31", OK: true},
			{Check: "irsa", Object: "shop-orders", Blue: "trusted", Green: "trusted", OK: true},
		}},
	}
}

// dryRun is a dry run: preflight only, nothing built.
func dryRun() *workflows.MigrationReport {
	return &workflows.MigrationReport{
		Migration: "shop-prod-1-31-dry-run", Outcome: workflows.OutcomeDryRun,
		Blue: "shop-prod", Green: "shop-prod-1-31", TargetVersion: "1.31",
		Phases: []workflows.PhaseTiming{
			{Phase: "Validate", Started: at(0), Ended: at(time.Second), Duration: "1s", Outcome: "ok"},
			{Phase: "Preflight", Started: at(time.Second), Ended: at(40 * time.Second), Duration: "39s", Outcome: "ok"},
		},
		Findings: []finding.Finding{
			{Check: "removed-api", Severity: finding.Error, Object: "policy/v1beta1 PodDisruptionBudget payments/ledger", Message: "removed in 1.25", Fix: "use policy/v1"},
		},
		Plan: &workflows.Plan{
			Green: eks.GreenPlan{CopiedFrom: "shop-prod", Cluster: eks.ClusterDescription{
				Name: "shop-prod-1-31", Region: "eu-west-1", Version: "1.31", RoleARN: "arn:aws:iam::123456789012:role/eks-cluster",
				VPC:        eks.VPCConfig{SubnetIDs: []string{"subnet-a", "subnet-b"}, SecurityGroupIDs: []string{"sg-1"}},
				NodeGroups: []eks.NodeGroup{{Name: "general", InstanceTypes: []string{"m6i.large"}, AMIType: "AL2023_x86_64_STANDARD", Scaling: eks.Scaling{Min: 2, Max: 6, Desired: 3}}},
				Addons:     []eks.Addon{{Name: "vpc-cni"}, {Name: "coredns"}},
			}},
			Restore: []string{"Velero backup of shop, payments"}, IRSARoles: []string{"shop-orders"},
			TrafficSteps: []int{10, 50, 100}, Gates: []string{"cutover", "retire"}, RetireBlue: "delete",
		},
	}
}

// TestGoldenReports: the Markdown, its SVG and the HTML of a happy run,
// an alarm rollback and a dry run are exactly the reviewed files in
// testdata/ (go test ./internal/report -run Golden -update rewrites them).
func TestGoldenReports(t *testing.T) {
	for name, r := range map[string]*workflows.MigrationReport{"happy": happy(), "rolled-back": rolledBack(), "dry-run": dryRun()} {
		t.Run(name, func(t *testing.T) {
			var md, page bytes.Buffer
			if err := Markdown(&md, r, name+".svg"); err != nil {
				t.Fatal(err)
			}
			if err := HTML(&page, r); err != nil {
				t.Fatal(err)
			}
			for file, got := range map[string][]byte{name + ".md": md.Bytes(), name + ".svg": []byte(TimelineSVG(r)), name + ".html": page.Bytes()} {
				golden(t, file, got)
			}
		})
	}
}

// fleetRun is a quarter of a two-wave fleet: the canary succeeded and
// soaked, the gate before the main wave was approved, one main member
// rolled back and one was already at the target.
func fleetRun() *workflows.FleetReport {
	return &workflows.FleetReport{
		Fleet: "prod",
		Results: []workflows.FleetResult{
			{Wave: "canary", Logical: "api-prod", Blue: "api-prod", From: "1.30", To: "1.31", Green: "api-prod-1-31", WorkflowID: "cutover-api-prod-1-31",
				Outcome: workflows.OutcomeSucceeded, Started: at(0), Ended: at(50 * time.Minute)},
			{Wave: "main", Logical: "shop-prod", Blue: "shop-prod-1-30", From: "1.30", To: "1.31", Green: "shop-prod-1-31", WorkflowID: "cutover-shop-prod-1-31",
				Outcome: workflows.OutcomeRolledBack, Reason: "alarm shop-5xx went to ALARM", Started: at(3 * time.Hour), Ended: at(3*time.Hour + 40*time.Minute)},
			{Wave: "main", Logical: "batch-prod", Blue: "batch-prod-1-31", From: "1.31", Outcome: "up-to-date", Reason: "already at 1.31"},
		},
		Approvals: []workflows.ApprovalRecord{{Gate: "before-main", Approved: true, By: "alice", OpenedAt: at(2 * time.Hour), At: at(3 * time.Hour), Via: "update"}},
	}
}

// TestReadingsOnTheTimeline: each watched period's reading is on the
// traffic line, the unhealthy one that triggered the rollback as a cross.
func TestReadingsOnTheTimeline(t *testing.T) {
	d := parseSVG(t, TimelineSVG(rolledBack()))
	if d.count("circle", "reading") != 1 || d.count("path", "unhealthy") != 1 {
		t.Fatalf("readings drawn: %d healthy, %d unhealthy; want 1 and 1", d.count("circle", "reading"), d.count("path", "unhealthy"))
	}
	if h := parseSVG(t, TimelineSVG(happy())); h.count("circle", "reading") != 3 || h.count("path", "unhealthy") != 0 {
		t.Fatalf("happy run's readings: %d healthy, %d unhealthy", h.count("circle", "reading"), h.count("path", "unhealthy"))
	}
}

// TestGoldenFleetReport: the fleet's waves × members as Markdown, SVG and
// HTML are the reviewed files; the picture has a bar per started member,
// coloured by outcome, and the gate.
func TestGoldenFleetReport(t *testing.T) {
	r := fleetRun()
	svg := FleetTimelineSVG(r)
	d := parseSVG(t, svg)
	if d.count("rect", "ok") != 1 || d.count("rect", "rolledback") != 1 || d.count("line", "gate") != 1 || !d.hasText("main / batch-prod") || !d.hasText("up-to-date") {
		t.Errorf("fleet picture:\n%s", svg)
	}
	var md, page bytes.Buffer
	if err := FleetMarkdown(&md, r, "fleet.svg"); err != nil {
		t.Fatal(err)
	}
	if err := FleetHTML(&page, r); err != nil {
		t.Fatal(err)
	}
	for file, got := range map[string][]byte{"fleet.md": md.Bytes(), "fleet.svg": []byte(svg), "fleet.html": page.Bytes()} {
		golden(t, file, got)
	}
}

// golden compares got with testdata/<file>.golden (-update writes it).
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update and review the diff)\n--- got\n%s", file, path, got)
	}
}
