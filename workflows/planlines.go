package workflows

import (
	"fmt"
	"strings"
)

// Lines is the plan for people, one line per thing a run would do: what
// `cutover result` prints for a dry run and the report's Plan section.
func (p *Plan) Lines() []string {
	g := p.Green.Cluster
	lines := []string{
		fmt.Sprintf("green %s (%s) at Kubernetes %s, copied from %s", g.Name, g.Region, g.Version, p.Green.CopiedFrom),
		fmt.Sprintf("  role %s, subnets %s, security groups %s", g.RoleARN, strings.Join(g.VPC.SubnetIDs, ","), strings.Join(g.VPC.SecurityGroupIDs, ",")),
	}
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	for _, ng := range g.NodeGroups {
		add("  node group %s: %s %s, %d-%d (desired %d)", ng.Name, strings.Join(ng.InstanceTypes, ","), ng.AMIType, ng.Scaling.Min, ng.Scaling.Max, ng.Scaling.Desired)
	}
	for _, ad := range g.Addons {
		add("  add-on %s (version for %s chosen at build time)", ad.Name, g.Version)
	}
	for _, r := range p.Restore {
		add("restore: %s", r)
	}
	for _, r := range p.IRSARoles {
		add("IAM role %s: trust green's OIDC issuer too (IRSA)", r)
	}
	for _, a := range p.PodIdentity {
		add("Pod Identity %s/%s: role %s", a.Namespace, a.ServiceAccount, a.RoleARN)
	}
	for _, lt := range p.LaunchTemplates {
		add("launch template %s of node group %s: %s (%s)", lt.LaunchTemplateID, lt.NodeGroup, lt.Action, lt.Reason)
	}
	for _, r := range p.ArgoCDAccess {
		add("access entry for Argo CD's role %s (cluster admin)", r)
	}
	for _, m := range p.AWSAuth {
		add("aws-auth %s %s: carried to green", m.Kind, m.ARN)
	}
	if p.ArgoCD != "" {
		add("argocd: %s", p.ArgoCD)
	}
	add("traffic steps (green %%): %v; gates: %s; blue afterwards: %s", p.TrafficSteps, strings.Join(p.Gates, ", "), p.RetireBlue)
	return lines
}
