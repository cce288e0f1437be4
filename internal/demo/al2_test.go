package demo_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// al2Target is the first Kubernetes version without Amazon Linux 2 AMIs.
const al2Target = "1.33"

// assertAL2RefusedInPreflight runs migrations of the seeded blue to 1.33,
// where EKS has no Amazon Linux 2 AMIs, through the CLI and the real
// activities. With green.nodeGroups.amiTypeUpgrade "refuse" (the default)
// preflight blocks on blue's two AL2 node groups and on the custom launch
// template (an AL2 AMI bootstrapped with bootstrap.sh, which AL2023 lacks)
// before anything is built: no green cluster exists afterwards. With
// "successor" a dry run plans the AL2 groups on AL2023 and still refuses
// the custom template, naming why.
func assertAL2RefusedInPreflight(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, eksc *awseks.Client, cutover func(args ...string) (int, string)) {
	t.Helper()
	write := func(s spec.MigrationSpec) string {
		path := filepath.Join(t.TempDir(), s.Name+".json")
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	base := demo.Spec(sb.Seed, al2Target)
	base.Green.ClusterName = "green-1-33"
	base.Preflight.BlockOn = "error"

	refuse := base
	refuse.Name = "demo-al2-refuse"
	if code, o := cutover("start", "-f", write(refuse)); code != 0 {
		t.Fatalf("start %s: %s", refuse.Name, o)
	}
	code, o := cutover("watch", refuse.WorkflowID(), "-o", "json")
	if code != cli.ExitFailed {
		t.Fatalf("%s: exit %d, want the preflight to block:\n%s", refuse.Name, code, o)
	}
	_, o = cutover("result", refuse.WorkflowID(), "-o", "json")
	var rep workflows.MigrationReport
	if err := json.Unmarshal([]byte(o), &rep); err != nil {
		t.Fatalf("report of %s: %v\n%s", refuse.Name, err, o)
	}
	if !strings.Contains(rep.Reason, "preflight") {
		t.Errorf("%s ended %q: %s, want a preflight block", refuse.Name, rep.Outcome, rep.Reason)
	}
	blocking := func(check, object string) bool {
		return slices.ContainsFunc(rep.Findings, func(f finding.Finding) bool {
			return f.Check == check && strings.HasSuffix(f.Object, object) && f.Severity == finding.Error
		})
	}
	for _, ng := range sb.Seed.Nodes.AL2 {
		if !blocking(workflows.CheckAMITypeUnavailable, ng) {
			t.Errorf("no blocking %s finding for AL2 node group %s: %+v", workflows.CheckAMITypeUnavailable, ng, rep.Findings)
		}
	}
	if !blocking(eks.CheckLaunchTemplateUnsupported, sb.Seed.Nodes.Custom) {
		t.Errorf("no blocking %s finding for %s: %+v", eks.CheckLaunchTemplateUnsupported, sb.Seed.Nodes.Custom, rep.Findings)
	}
	for _, f := range rep.Findings {
		if f.Check == workflows.CheckAMITypeUnavailable && !strings.Contains(f.Fix, "green.nodeGroups.amiTypeUpgrade") {
			t.Errorf("finding %+v does not name the spec field that allows the successor", f)
		}
	}
	// A missing alarm would block here too, with its field path: the
	// traffic section is checked in preflight against moto.
	if slices.ContainsFunc(rep.Findings, func(f finding.Finding) bool { return f.Source == "traffic" }) {
		t.Errorf("traffic findings on the seeded estate: %+v", rep.Findings)
	}
	clusters, err := eksc.ListClusters(ctx, &awseks.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(clusters.Clusters, base.Green.ClusterName) {
		t.Errorf("clusters %v: preflight refused, yet %s was created", clusters.Clusters, base.Green.ClusterName)
	}

	succ := base
	succ.Name = "demo-al2-successor"
	succ.DryRun = true
	succ.Green.NodeGroups.AMITypeUpgrade = spec.AMITypeUpgradeSuccessor
	if code, o := cutover("start", "-f", write(succ)); code != 0 {
		t.Fatalf("start %s: %s", succ.Name, o)
	}
	if code, o := cutover("watch", succ.WorkflowID(), "-o", "json"); code != 0 {
		t.Fatalf("%s: exit %d:\n%s", succ.Name, code, o)
	}
	_, o = cutover("result", succ.WorkflowID(), "-o", "json")
	var dry workflows.MigrationReport
	if err := json.Unmarshal([]byte(o), &dry); err != nil || dry.Plan == nil {
		t.Fatalf("report of %s: %v\n%s", succ.Name, err, o)
	}
	for _, ng := range dry.Plan.Green.Cluster.NodeGroups {
		if slices.Contains(sb.Seed.Nodes.AL2, ng.Name) && ng.AMIType != "AL2023_x86_64_STANDARD" {
			t.Errorf("dry run plans %s on %s, want AL2023_x86_64_STANDARD", ng.Name, ng.AMIType)
		}
	}
	i := slices.IndexFunc(dry.Plan.LaunchTemplates, func(p eks.LaunchTemplatePlan) bool { return p.NodeGroup == sb.Seed.Nodes.Custom })
	if i < 0 || dry.Plan.LaunchTemplates[i].Action != eks.LaunchTemplateRefuse || !strings.Contains(dry.Plan.LaunchTemplates[i].Reason, "bootstrap.sh") {
		t.Errorf("dry-run launch templates %+v: want %s refused for its bootstrap.sh user data", dry.Plan.LaunchTemplates, sb.Seed.Nodes.Custom)
	}
	// With AL2023 allowed the AL2 groups no longer block (EKS's AL2 insight
	// is settled to info); the custom template still does.
	for _, f := range dry.Findings {
		if f.Check == workflows.CheckAMITypeUnavailable && f.Severity == finding.Error {
			t.Errorf("dry run with amiTypeUpgrade successor still blocks on %+v", f)
		}
	}
	if !slices.ContainsFunc(dry.Findings, func(f finding.Finding) bool {
		return f.Check == eks.CheckLaunchTemplateUnsupported && strings.HasSuffix(f.Object, sb.Seed.Nodes.Custom) && f.Severity == finding.Error
	}) || !strings.HasPrefix(dry.Reason, "preflight would block") {
		t.Errorf("dry run findings %+v, reason %q: want %s to block", dry.Findings, dry.Reason, sb.Seed.Nodes.Custom)
	}
	if _, err := eksc.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(base.Green.ClusterName)}); err == nil {
		t.Errorf("a dry run created %s", base.Green.ClusterName)
	}
}
