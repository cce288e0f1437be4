package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// The demo's second blue (Options.SecondMigration): a smaller estate
// beside the seeded one, for a migration started from the Temporal UI.
const (
	// SecondBlue is its EKS cluster (at sandbox.BlueVersion) and
	// SecondGreen the cluster its migration builds.
	SecondBlue  = "api-blue"
	SecondGreen = "api-green"
	// SecondNamespace holds its workloads (Deployment, Service, Ingress
	// sandbox.EntryPointIngress) and SecondRecord is its simple record.
	SecondNamespace = "api"
	SecondRecord    = "api." + sandbox.ZoneName
	// UISpecFile is the file (in the demo's Dir) holding the second
	// migration's spec, ready to paste into the UI's Start Workflow form.
	UISpecFile = "ui-migration.json"
)

// SecondSpec is the second migration: SecondBlue to SecondGreen at
// version, its simple record switched in steps to the load balancer of
// green's Ingress (discovered, not written here, so the spec holds
// nothing that changes per sandbox run but the hosted zone) and made simple
// again, at green, once blue is retired. It has no Argo CD; Velero carries
// its namespace.
func SecondSpec(seed *sandbox.Seed, m *sandbox.FleetMember, version string) spec.MigrationSpec {
	yes := true
	return spec.MigrationSpec{
		Name:   "api",
		Blue:   spec.BlueSpec{ClusterName: m.Cluster, Region: seed.Region},
		Green:  spec.GreenSpec{ClusterName: SecondGreen, KubernetesVersion: version},
		ArgoCD: spec.ArgoCDSpec{Mode: spec.ArgoCDModeNone},
		Velero: spec.VeleroSpec{Enabled: true, Namespace: sandbox.VeleroNamespace, IncludedNamespaces: []string{m.Namespace}, Timeout: spec.Duration(5 * time.Minute)},
		Smoke:  spec.SmokeSpec{Kubernetes: spec.KubeSmokeSpec{Namespaces: []string{m.Namespace}}, Timeout: spec.Duration(5 * time.Minute)},
		Traffic: spec.TrafficSpec{
			Provider: spec.ProviderRoute53,
			Route53: &spec.Route53Spec{HostedZoneID: seed.HostedZoneID, RecordName: m.RecordName, AfterMigration: spec.AfterMigrationSimple,
				GreenTargetFrom: &spec.EntryPointSpec{Kind: "Ingress", Namespace: m.Namespace, Name: sandbox.EntryPointIngress}},
			Steps:         []int{10, 50, 100},
			BakeTime:      spec.Duration(30 * time.Second),
			CheckInterval: spec.Duration(5 * time.Second),
			Alarms:        m.AlarmNames,
		},
		Approvals: spec.ApprovalsSpec{
			Cutover: spec.GateSpec{Timeout: spec.Duration(time.Hour)},
			Retire:  spec.GateSpec{Enabled: &yes, Timeout: spec.Duration(time.Hour)},
		},
		Retire: spec.RetireSpec{Soak: spec.Duration(30 * time.Second), Blue: spec.FateDelete},
	}
}

// addSecond adds the second blue and its green to the sandbox, a
// simulator for the pair, and writes the UI spec; it returns the spec and
// the file.
func (d *Demo) addSecond(ctx context.Context, o Options, lbs *elbv2.Client) (spec.MigrationSpec, string, error) {
	m, err := d.Sandbox.AddMember(ctx, sandbox.MemberSpec{Logical: SecondBlue, RecordName: SecondRecord, Namespace: SecondNamespace, VPCCIDR: "10.1.0.0/16"},
		[]string{SecondGreen}, []string{o.TargetVersion})
	if err != nil {
		return spec.MigrationSpec{}, "", err
	}
	d.runSimulator(&Simulator{Blue: m.Blue, Green: m.Kubes[0], GreenVersion: o.TargetVersion,
		Logger: d.logger.With("component", "simulator", "blue", m.Cluster, "green", SecondGreen), LoadBalancers: lbs, Subnets: m.SubnetIDs})
	s := SecondSpec(d.Sandbox.Seed, m, o.TargetVersion)
	if o.Fast {
		fast(&s)
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	// What the UI's form will send is read as the workflow reads it.
	if _, err := spec.Parse(b); err != nil {
		return spec.MigrationSpec{}, "", fmt.Errorf("the demo's second spec: %w", err)
	}
	path := filepath.Join(o.Dir, UISpecFile)
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return spec.MigrationSpec{}, "", err
	}
	return s, path, nil
}

// printUIForm says how to start the second migration from the UI: the
// form's URL with ID, queue and type filled in, and what goes in its
// Input, Summary and Details boxes.
func printUIForm(o Options, ui, namespace string, s spec.MigrationSpec, path string) {
	compact, _ := json.Marshal(s)
	where := "the Temporal UI's Workflows page"
	if ui != "" {
		where = fmt.Sprintf("%s/namespaces/%s/workflows/start-workflow?%s", ui, namespace, url.Values{
			"workflowId": {s.WorkflowID()}, "taskQueue": {workflows.TaskQueue}, "workflowType": {workflows.WorkflowType}}.Encode())
	}
	fmt.Fprintf(o.Stdout, `
Second migration, from the Temporal UI (Start Workflow: %s):
  Workflow ID:    %s
  Task Queue:     %s
  Workflow Type:  %s
  Input (JSON):   the contents of %s, i.e.
%s
  Summary:        %s
  Details:        %s
`, where, s.WorkflowID(), workflows.TaskQueue, workflows.WorkflowType, path, compact, s.Summary(), strings.ReplaceAll(s.Details(), "  \n", " "))
}
