package eks

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/finding"
)

// Finding checks produced by EKSUpgradeInsights.
const (
	// CheckInsightPrefix + the insight's name as a slug, e.g.
	// "eks-insight-deprecated-apis-removed-in-kubernetes-v1-32".
	CheckInsightPrefix = "eks-insight-"
	// CheckVersionSupport is the target version's support status.
	CheckVersionSupport = "eks-version-support"
	// SourceInsight is the Finding.Source of these findings.
	SourceInsight = "eks-insight"
	// CheckAddonIncompatible: EKS publishes no version of one of the
	// add-ons for the target (eksup's EKS006), found before anything is
	// built; CheckAddonVersionAtTarget says which version each gets.
	CheckAddonIncompatible    = "addon-incompatible"
	CheckAddonVersionAtTarget = "addon-version-at-target"
	// CheckAddonVersionSkew: in place, an add-on's installed version is
	// not one EKS publishes for the target (eksup's EKS005), or the VPC
	// CNI would move more than one minor version at once; a self-managed
	// aws-node older than every version for the target (VPC CNI skew).
	CheckAddonVersionSkew = "addon-version-skew"
	// SourceEKS is the source of the checks on EKS's own data.
	SourceEKS = "eks"
)

// maxObjects is how many affected resources a finding names.
const maxObjects = 5

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

func slug(s string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// EKSUpgradeInsights turns EKS upgrade insights of a cluster for the target
// version (ListInsights filtered on it, DescribeInsight for each) into
// findings, ERROR -> error, WARNING and UNKNOWN -> warning, PASSING -> info,
// with the recommendation as Fix; and reads the target version's support
// status from DescribeClusterVersions: UNSUPPORTED (or not offered) is an
// error finding, EXTENDED_SUPPORT a warning.
func (a *Activities) EKSUpgradeInsights(ctx context.Context, in InsightsInput) (InsightsResult, error) {
	ref := in.Cluster
	if ref.Name == "" || in.TargetVersion == "" {
		return InsightsResult{}, invalidf("upgrade insights: cluster name and target version are required")
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return InsightsResult{}, err
	}
	log := logger(ctx)
	log.Info("Reading EKS upgrade insights", "cluster", ref.Name, "targetVersion", in.TargetVersion)
	res := InsightsResult{Findings: []Finding{}}

	var summaries []ekstypes.InsightSummary
	pg := awseks.NewListInsightsPaginator(api, &awseks.ListInsightsInput{
		ClusterName: aws.String(ref.Name),
		Filter:      &ekstypes.InsightsFilter{KubernetesVersions: []string{in.TargetVersion}},
	})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return res, awsError(err, "list insights of cluster %s", ref)
		}
		summaries = append(summaries, page.Insights...)
	}
	sort.Slice(summaries, func(i, j int) bool {
		if n, m := aws.ToString(summaries[i].Name), aws.ToString(summaries[j].Name); n != m {
			return n < m
		}
		return aws.ToString(summaries[i].Id) < aws.ToString(summaries[j].Id)
	})
	for _, s := range summaries {
		out, err := api.DescribeInsight(ctx, &awseks.DescribeInsightInput{ClusterName: aws.String(ref.Name), Id: s.Id})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return res, awsError(err, "describe insight %s of cluster %s", aws.ToString(s.Id), ref)
		}
		if out.Insight == nil {
			continue
		}
		res.Findings = append(res.Findings, insightFinding(ref.Name, out.Insight))
	}

	for _, name := range in.Addons {
		activitylog.Heartbeat(ctx, "add-on "+name)
		infos, err := a.addonVersionInfos(ctx, api, name, in.TargetVersion)
		if err != nil {
			return res, err
		}
		v, why, ok := pickAddonVersionWhy(infos, in.TargetVersion)
		if name == VPCCNIAddon {
			res.VPCCNI, res.VPCCNIDefault = compatibleVersions(infos, in.TargetVersion)
		}
		if cur := in.Installed[name]; in.InPlace && cur != "" {
			// The control plane moves one minor at a time: the add-on
			// meets the first hop's version first.
			hop, hopInfos := in.TargetVersion, infos
			if in.FirstHop != "" && in.FirstHop != in.TargetVersion {
				hop = in.FirstHop
				if hopInfos, err = a.addonVersionInfos(ctx, api, name, hop); err != nil {
					return res, err
				}
			}
			if next, _, found := pickAddonVersionWhy(hopInfos, hop); found {
				res.Findings = append(res.Findings, inPlaceAddonSkew(ref.Name, name, cur, next, hop, hopInfos)...)
			}
		}
		if !ok {
			res.Findings = append(res.Findings, Finding{Check: CheckAddonIncompatible, Cluster: ref.Name, Object: "addon/" + name, Severity: finding.Error, Source: SourceEKS,
				Message: fmt.Sprintf("EKS publishes no version of add-on %s for Kubernetes %s", name, in.TargetVersion),
				Fix: fmt.Sprintf("aws eks describe-addon-versions --addon-name %s --kubernetes-version %s lists none: remove the add-on from blue (and run its software another way), "+
					"or choose a target EKS has a version for.", name, in.TargetVersion)})
			continue
		}
		res.AddonVersions = append(res.AddonVersions, AddonChoice{Name: name, Version: v, Reason: why})
		res.Findings = append(res.Findings, Finding{Check: CheckAddonVersionAtTarget, Cluster: ref.Name, Object: "addon/" + name, Severity: finding.Info, Source: SourceEKS,
			Message: fmt.Sprintf("add-on %s runs %s at Kubernetes %s (%s)", name, v, in.TargetVersion, why)})
	}

	if in.VPCCNIVersions && !slices.Contains(in.Addons, VPCCNIAddon) {
		activitylog.Heartbeat(ctx, "add-on "+VPCCNIAddon)
		infos, err := a.addonVersionInfos(ctx, api, VPCCNIAddon, in.TargetVersion)
		if err != nil {
			return res, err
		}
		res.VPCCNI, res.VPCCNIDefault = compatibleVersions(infos, in.TargetVersion)
	}

	vf, status, eos, err := a.versionSupport(ctx, api, ref.Name, in.TargetVersion)
	if err != nil {
		return res, err
	}
	res.TargetStatus, res.EndOfStandardSupport = status, eos
	if vf != nil {
		res.Findings = append(res.Findings, *vf)
	}
	log.Info("Read EKS upgrade insights", "cluster", ref.Name, "findings", len(res.Findings), "targetStatus", status)
	return res, nil
}

func insightSeverity(s ekstypes.InsightStatusValue) finding.Severity {
	switch s {
	case ekstypes.InsightStatusValuePassing:
		return finding.Info
	case ekstypes.InsightStatusValueError:
		return finding.Error
	default: // WARNING, UNKNOWN: not proven safe
		return finding.Warning
	}
}

func insightFinding(cluster string, in *ekstypes.Insight) Finding {
	name := aws.ToString(in.Name)
	st := ekstypes.InsightStatusValueUnknown
	reason := ""
	if in.InsightStatus != nil {
		st, reason = in.InsightStatus.Status, aws.ToString(in.InsightStatus.Reason)
	}
	f := Finding{
		Check:    CheckInsightPrefix + slug(name),
		Cluster:  cluster,
		Severity: insightSeverity(st),
		Fix:      aws.ToString(in.Recommendation),
		Source:   SourceInsight,
	}
	msg := name + " (" + string(st) + ")"
	if reason != "" {
		msg += ": " + reason
	}
	if in.CategorySpecificSummary != nil {
		var deps []string
		for _, d := range in.CategorySpecificSummary.DeprecationDetails {
			s := aws.ToString(d.Usage)
			if r := aws.ToString(d.ReplacedWith); r != "" {
				s += " -> " + r
			}
			if v := aws.ToString(d.StopServingVersion); v != "" {
				s += " (removed in " + v + ")"
			}
			deps = append(deps, s)
		}
		if len(deps) > 0 {
			msg += "; deprecated: " + strings.Join(deps, ", ")
		}
	}
	f.Message = msg
	// Name the affected resources (those not passing).
	var objs []string
	for _, r := range in.Resources {
		if r.InsightStatus != nil && r.InsightStatus.Status == ekstypes.InsightStatusValuePassing {
			continue
		}
		o := aws.ToString(r.KubernetesResourceUri)
		if o == "" {
			o = aws.ToString(r.Arn)
		}
		if o != "" {
			objs = append(objs, o)
		}
	}
	sort.Strings(objs)
	if len(objs) > maxObjects {
		objs = append(objs[:maxObjects], fmt.Sprintf("and %d more", len(objs)-maxObjects))
	}
	f.Object = strings.Join(objs, ", ")
	if f.Fix == "" && st != ekstypes.InsightStatusValuePassing {
		f.Fix = "see the insight in the EKS console (Upgrade insights) for the remediation"
	}
	return f
}

// versionSupport reads the target version's support status. It returns a
// finding when the version is unsupported, unknown or in extended support.
func (a *Activities) versionSupport(ctx context.Context, api EKSAPI, cluster, version string) (*Finding, string, string, error) {
	out, err := api.DescribeClusterVersions(ctx, &awseks.DescribeClusterVersionsInput{
		ClusterVersions: []string{version},
		IncludeAll:      aws.Bool(true),
	})
	if err != nil {
		return nil, "", "", awsError(err, "describe EKS cluster version %s", version)
	}
	var info *ekstypes.ClusterVersionInformation
	for i := range out.ClusterVersions {
		if aws.ToString(out.ClusterVersions[i].ClusterVersion) == version {
			info = &out.ClusterVersions[i]
			break
		}
	}
	if info == nil {
		return &Finding{
			Check: CheckVersionSupport, Cluster: cluster, Severity: finding.Error, Source: SourceInsight,
			Message: fmt.Sprintf("EKS does not offer Kubernetes %s", version),
			Fix:     "choose a Kubernetes version EKS offers (aws eks describe-cluster-versions)",
		}, "", "", nil
	}
	status := string(info.VersionStatus)
	if status == "" {
		switch info.Status {
		case ekstypes.ClusterVersionStatusStandardSupport:
			status = string(ekstypes.VersionStatusStandardSupport)
		case ekstypes.ClusterVersionStatusExtendedSupport:
			status = string(ekstypes.VersionStatusExtendedSupport)
		case ekstypes.ClusterVersionStatusUnsupported:
			status = string(ekstypes.VersionStatusUnsupported)
		}
	}
	eos := ""
	if info.EndOfStandardSupportDate != nil {
		eos = info.EndOfStandardSupportDate.UTC().Format(time.RFC3339)
	}
	switch ekstypes.VersionStatus(status) {
	case ekstypes.VersionStatusUnsupported:
		return &Finding{
			Check: CheckVersionSupport, Cluster: cluster, Severity: finding.Error, Source: SourceInsight,
			Message: fmt.Sprintf("Kubernetes %s is no longer supported by EKS", version),
			Fix:     "choose a version in standard support",
		}, status, eos, nil
	case ekstypes.VersionStatusExtendedSupport:
		msg := fmt.Sprintf("Kubernetes %s is in EKS extended support (extra cost)", version)
		if eos != "" {
			msg += "; standard support ended " + eos[:10]
		}
		if info.EndOfExtendedSupportDate != nil {
			msg += "; extended support ends " + info.EndOfExtendedSupportDate.UTC().Format("2006-01-02")
		}
		return &Finding{
			Check: CheckVersionSupport, Cluster: cluster, Severity: finding.Warning, Source: SourceInsight,
			Message: msg, Fix: "choose a version in standard support",
		}, status, eos, nil
	}
	return nil, status, eos, nil
}

// VPCCNIAddon is the Amazon VPC CNI's EKS add-on name.
const VPCCNIAddon = "vpc-cni"

// compatibleVersions lists the add-on versions EKS marks compatible with
// k8sVersion, newest first, and the one it marks default.
func compatibleVersions(infos []ekstypes.AddonInfo, k8sVersion string) (versions []string, def string) {
	for _, info := range infos {
		for _, v := range info.AddonVersions {
			for _, c := range v.Compatibilities {
				if aws.ToString(c.ClusterVersion) != k8sVersion {
					continue
				}
				versions = append(versions, aws.ToString(v.AddonVersion))
				if c.DefaultVersion {
					def = aws.ToString(v.AddonVersion)
				}
			}
		}
	}
	sort.Slice(versions, func(i, j int) bool { return compareVersions(versions[i], versions[j]) > 0 })
	return slices.Compact(versions), def
}

// inPlaceAddonSkew: in place EKS updates the control plane first, so an
// add-on runs its installed version at the target until its own update.
// One EKS does not publish for the target is an error; the VPC CNI moving
// more than one minor version at once is a warning (AWS updates it one
// minor at a time).
func inPlaceAddonSkew(cluster, name, installed, next, target string, infos []ekstypes.AddonInfo) []Finding {
	compat, _ := compatibleVersions(infos, target)
	obj := "addon/" + name
	var out []Finding
	if !slices.Contains(compat, installed) {
		out = append(out, Finding{Check: CheckAddonVersionSkew, Cluster: cluster, Object: obj, Severity: finding.Error, Source: SourceEKS,
			Message: fmt.Sprintf("add-on %s runs %s, which EKS does not publish for Kubernetes %s: after the control plane's update it would run unsupported until the add-on is updated to %s", name, installed, target, next),
			Fix:     fmt.Sprintf("Update %s on blue first to a version EKS publishes for both its current version and %s (aws eks describe-addon-versions --addon-name %s --kubernetes-version %s), then upgrade.", name, target, name, target)})
	}
	if name == VPCCNIAddon {
		if from, to := minorOf(installed), minorOf(next); from > 0 && to-from > 1 {
			out = append(out, Finding{Check: CheckAddonVersionSkew, Cluster: cluster, Object: obj, Severity: finding.Warning, Source: SourceEKS,
				Message: fmt.Sprintf("the VPC CNI would move from %s to %s, %d minor versions at once; AWS updates it one minor version at a time", installed, next, to-from),
				Fix:     fmt.Sprintf("Update vpc-cni on blue one minor version at a time towards %s before the upgrade (aws eks update-addon --addon-name vpc-cni --addon-version ...).", next)})
		}
	}
	return out
}

// minorOf is the minor of an add-on version such as v1.18.3-eksbuild.1
// (0 when it does not parse).
func minorOf(v string) int {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return 0
	}
	n := 0
	for _, r := range parts[1] {
		if r < '0' || r > '9' {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// SelfManagedCNIFindings compares a self-managed VPC CNI (blue's
// kube-system/aws-node, not an EKS add-on; image and its tag version) with
// the versions EKS publishes for the target (newest first, and the
// default). Older than all of them: in place an error (the control plane
// moves first, and cutover does not update a self-managed CNI), blue/green
// an info (green gets EKS's default). An untagged image is a warning. Pure:
// the workflow calls it with PreflightBlue's and EKSUpgradeInsights'
// results.
func SelfManagedCNIFindings(cluster, image, version string, versions []string, def, target string, inPlace bool) []Finding {
	if image == "" || len(versions) == 0 {
		return nil
	}
	obj := "apps/v1 DaemonSet kube-system/aws-node"
	if version == "" || minorOf(version) == 0 {
		return []Finding{{Check: CheckAddonVersionSkew, Cluster: cluster, Object: obj, Severity: finding.Warning, Source: SourceEKS,
			Message: fmt.Sprintf("the self-managed VPC CNI's image %q carries no version in its tag: it was not compared with the versions EKS publishes for Kubernetes %s", image, target),
			Fix:     "Run the vpc-cni EKS add-on (aws eks create-addon --addon-name vpc-cni --resolve-conflicts OVERWRITE), or a tagged image."}}
	}
	oldest := versions[len(versions)-1]
	if compareVersions(coreVersion(version), coreVersion(oldest)) >= 0 {
		return nil
	}
	if def == "" {
		def = versions[0]
	}
	f := Finding{Check: CheckAddonVersionSkew, Cluster: cluster, Object: obj, Severity: finding.Info, Source: SourceEKS,
		Message: fmt.Sprintf("the self-managed VPC CNI %s is older than every version EKS publishes for Kubernetes %s (oldest %s, default %s); green runs EKS's default", version, target, oldest, def)}
	if inPlace {
		f.Severity = finding.Error
		f.Message = fmt.Sprintf("the self-managed VPC CNI %s is older than every version EKS publishes for Kubernetes %s (oldest %s, default %s): after the control plane's update it runs unsupported, and cutover does not update a self-managed CNI", version, target, oldest, def)
		f.Fix = fmt.Sprintf("Adopt the CNI as the vpc-cni EKS add-on, or update aws-node one minor version at a time to at least %s, before the upgrade.", oldest)
	}
	return []Finding{f}
}

// coreVersion drops an EKS build suffix: v1.18.3-eksbuild.1 -> v1.18.3.
func coreVersion(v string) string {
	if i := strings.IndexByte(v, '-'); i > 0 {
		return v[:i]
	}
	return v
}
