package workflows

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
)

// planGreen is the pure planner: from blue as observed and the spec, the
// green cluster to build, as the input of the EKS activities that build it
// (eks.GreenPlan). It runs in workflow code, so it must stay deterministic
// (no I/O, no clock, no map iteration that affects output order).
func planGreen(blue eks.ClusterDescription, s spec.MigrationSpec) eks.GreenPlan {
	g := eks.ClusterDescription{
		Name:        s.Green.ClusterName,
		Region:      blue.Region,
		Version:     s.Green.KubernetesVersion,
		RoleARN:     blue.RoleARN,
		VPC:         blue.VPC,
		Access:      blue.Access,
		SupportType: blue.SupportType,
	}
	for _, e := range blue.Encryption {
		e.Resources = slices.Clone(e.Resources)
		g.Encryption = append(g.Encryption, e)
	}
	if blue.Network != nil {
		n := *blue.Network
		g.Network = &n
	}
	g.VPC.SubnetIDs = slices.Clone(blue.VPC.SubnetIDs)
	g.VPC.SecurityGroupIDs = slices.Clone(blue.VPC.SecurityGroupIDs)
	g.VPC.PublicAccessCIDRs = slices.Clone(blue.VPC.PublicAccessCIDRs)
	o := s.Green.Overrides
	if o.RoleARN != "" {
		g.RoleARN = o.RoleARN
	}
	if len(o.SubnetIDs) > 0 {
		g.VPC.SubnetIDs = slices.Clone(o.SubnetIDs)
	}
	if len(o.SecurityGroupIDs) > 0 {
		g.VPC.SecurityGroupIDs = slices.Clone(o.SecurityGroupIDs)
	}
	c := s.Green.Copy
	if c.Logging == nil || *c.Logging {
		g.Logging = slices.Clone(blue.Logging)
	}
	g.Tags = map[string]string{}
	if c.Tags == nil || *c.Tags {
		copyUserTags(g.Tags, blue.Tags)
	}
	copyMap(g.Tags, o.Tags)
	g.Tags[eks.TagManagedBy] = "cutover"
	g.Tags[eks.TagMigration] = s.Name
	g.Tags[eks.TagCopiedFrom] = blue.Name
	if c.AccessEntries == nil || *c.AccessEntries {
		for _, e := range blue.AccessEntries {
			e.KubernetesGroups = slices.Clone(e.KubernetesGroups)
			var pols []eks.AccessPolicy
			for _, p := range e.Policies {
				p.Namespaces = slices.Clone(p.Namespaces)
				pols = append(pols, p)
			}
			e.Policies = pols
			g.AccessEntries = append(g.AccessEntries, e)
		}
	}
	if c.Addons == nil || *c.Addons {
		for _, a := range blue.Addons {
			// The version is chosen for the target Kubernetes version by
			// EnsureAddons; blue's configuration values are carried over.
			g.Addons = append(g.Addons, eks.Addon{Name: a.Name, ConfigurationValues: a.ConfigurationValues, ServiceAccountRoleARN: a.ServiceAccountRoleARN})
		}
	}
	if c.NodeGroups == nil || *c.NodeGroups {
		for _, ng := range blue.NodeGroups {
			n := ng
			n.Version = s.Green.KubernetesVersion
			if succ, gone := amiTypeSuccessor(ng.AMIType, s.Green.KubernetesVersion); gone && succ != "" && s.Green.NodeGroups.AMITypeUpgrade == spec.AMITypeUpgradeSuccessor {
				n.AMIType = succ
			}
			n.ReleaseVersion = ""
			n.Status = ""
			n.SubnetIDs = slices.Clone(ng.SubnetIDs)
			n.InstanceTypes = slices.Clone(ng.InstanceTypes)
			if len(o.NodeGroupInstanceTypes) > 0 && ng.LaunchTemplate == nil {
				n.InstanceTypes = slices.Clone(o.NodeGroupInstanceTypes)
			}
			if ng.Labels != nil {
				n.Labels = map[string]string{}
				copyMap(n.Labels, ng.Labels)
			}
			n.Taints = slices.Clone(ng.Taints)
			if ng.LaunchTemplate != nil {
				lt := *ng.LaunchTemplate
				n.LaunchTemplate = &lt
			}
			if ng.UpdateConfig != nil {
				uc := *ng.UpdateConfig
				n.UpdateConfig = &uc
			}
			n.Tags = map[string]string{}
			copyUserTags(n.Tags, ng.Tags)
			n.Tags[eks.TagManagedBy] = "cutover"
			n.Tags[eks.TagMigration] = s.Name
			n.Tags[eks.TagCopiedFrom] = blue.Name
			g.NodeGroups = append(g.NodeGroups, n)
		}
	}
	return eks.GreenPlan{Cluster: g, CopiedFrom: blue.Name}
}

// CheckAMITypeUnavailable is the preflight check ID of a node group whose
// AMI type the target Kubernetes version does not offer.
const CheckAMITypeUnavailable = "ami-type-unavailable"

// amiTypeSuccessor is spec.AMITypeSuccessor: whether amiType is gone at
// Kubernetes version target, and its successor then.
func amiTypeSuccessor(amiType, target string) (successor string, gone bool) {
	return spec.AMITypeSuccessor(amiType, target)
}

// amiTypeFindings are preflight's findings about blue's node groups whose
// AMI type does not exist at the target version: an error (it blocks)
// unless green.nodeGroups.amiTypeUpgrade allows the successor, then an
// info finding saying what green gets. Pure, beside planGreen which makes
// the same choice.
func amiTypeFindings(blue eks.ClusterDescription, s spec.MigrationSpec) []finding.Finding {
	if s.Green.Copy.NodeGroups != nil && !*s.Green.Copy.NodeGroups {
		return nil
	}
	target := s.Green.KubernetesVersion
	var out []finding.Finding
	for _, ng := range blue.NodeGroups {
		succ, gone := amiTypeSuccessor(ng.AMIType, target)
		if !gone {
			continue
		}
		f := finding.Finding{Check: CheckAMITypeUnavailable, Cluster: blue.Name, Object: "nodegroup/" + ng.Name, Source: "eks"}
		if succ != "" && s.Green.NodeGroups.AMITypeUpgrade == spec.AMITypeUpgradeSuccessor {
			f.Severity = finding.Info
			f.Message = fmt.Sprintf("AMI type %s does not exist at Kubernetes %s; green's node group %s is built on its successor %s", ng.AMIType, target, ng.Name, succ)
			if ng.LaunchTemplate != nil {
				f.Message += " (its launch template's user data must suit " + succ + ")"
			}
		} else {
			f.Severity = finding.Error
			f.Message = fmt.Sprintf("AMI type %s of node group %s does not exist at Kubernetes %s (EKS publishes no Amazon Linux 2 AMIs from 1.33)", ng.AMIType, ng.Name, target)
			f.Fix = fmt.Sprintf("set green.nodeGroups.amiTypeUpgrade to %q to build green's node group on %s, or move blue's node group to it first", spec.AMITypeUpgradeSuccessor, succ)
		}
		out = append(out, f)
	}
	return out
}

// checkInsightAL2 is EKS's upgrade insight about managed node groups on
// Amazon Linux 2 (as EKSUpgradeInsights names it).
const checkInsightAL2 = eks.CheckInsightPrefix + "amazon-linux-2-compatibility"

// settleAMITypeInsights returns EKS's insight findings for preflight. With
// green.nodeGroups.amiTypeUpgrade "successor", the Amazon Linux 2 insight
// is what cutover resolves by building green's node groups on AL2023, so
// it is reported as info instead of blocking; otherwise nothing changes.
func settleAMITypeInsights(fs []finding.Finding, s spec.MigrationSpec) []finding.Finding {
	if s.Green.NodeGroups.AMITypeUpgrade != spec.AMITypeUpgradeSuccessor {
		return fs
	}
	out := slices.Clone(fs)
	for i, f := range out {
		if f.Check == checkInsightAL2 && f.Severity != finding.Info {
			out[i].Severity = finding.Info
			out[i].Message = strings.TrimSpace(f.Message + " (green's node groups are built on the AL2023 successor: green.nodeGroups.amiTypeUpgrade is \"successor\")")
		}
	}
	return out
}

// copyUserTags copies the tags a user may set: AWS refuses "aws:" keys, and
// blue's own cutover tags (from the migration that built blue) are replaced.
func copyUserTags(dst, src map[string]string) {
	//workflowcheck:ignore the result does not depend on the iteration order
	for k, v := range src {
		if strings.HasPrefix(strings.ToLower(k), "aws:") || strings.HasPrefix(k, "cutover.dev/") {
			continue
		}
		dst[k] = v
	}
}

// copyMap copies src into dst. It is maps.Copy without the map range
// workflowcheck refuses: the result does not depend on the order.
func copyMap(dst, src map[string]string) {
	//workflowcheck:ignore the result does not depend on the iteration order
	for k, v := range src {
		dst[k] = v
	}
}
