package eks

// In-place upgrades (issue 14): the three EKS updates of one minor-version
// hop, each an activity that starts the update or finds the one already
// InProgress (an earlier attempt's, whose ID the heartbeat carries, or one
// started by an attempt that died before heartbeating: ListUpdates), and
// waits for it, heartbeating. EKS cannot downgrade: a Failed update is a
// non-retryable UpdateFailed (PodEvictionBlocked for a node group whose
// pods could not be evicted) carrying EKS's errors.

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/spec"
)

// Steps of UpdateProgress.
const (
	StepClusterVersion   = "cluster-version"
	StepNodegroupUpdate  = "nodegroup-update"
	StepAddonToVersion   = "addon-update"
	updateKindVersion    = string(ekstypes.UpdateTypeVersionUpdate)
	updateKindConfig     = string(ekstypes.UpdateTypeConfigUpdate)
	updateKindAddon      = string(ekstypes.UpdateTypeAddonUpdate)
	updateParamVersion   = string(ekstypes.UpdateParamTypeVersion)
	updateParamAddonVers = string(ekstypes.UpdateParamTypeAddonVersion)
)

// UpdateIssue is one error EKS reports on a failed update (ErrorDetail).
type UpdateIssue struct {
	// Code is EKS's error code, e.g. PodEvictionFailure.
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
	// ResourceIDs are what the error is about (pods, budgets, instances).
	ResourceIDs []string `json:"resourceIds,omitempty"`
}

// UpdateProgress is the heartbeat of the update activities. A retry reads
// it back and waits on the recorded update instead of starting another.
type UpdateProgress struct {
	Step    string `json:"step"`
	Cluster string `json:"cluster"`
	// Subject is what is updated: "control-plane", a node group or an add-on.
	Subject string `json:"subject"`
	// Target is the version asked for.
	Target string `json:"target"`
	// UpdateIDs are the EKS updates this activity waits or waited on, by
	// kind (VersionUpdate, ConfigUpdate, AddonUpdate).
	UpdateIDs map[string]string `json:"updateIds,omitempty"`
	// Status is the last status seen: the update's, and the node group's or
	// add-on's.
	Status string `json:"status,omitempty"`
	Polls  int    `json:"polls"`
	Since  string `json:"since,omitempty"`
}

// UpdateResult says what an update activity did.
type UpdateResult struct {
	Subject string `json:"subject"`
	// From and To are the versions before and after.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// UpdateID is the version (or add-on) update waited on; empty when
	// nothing needed changing.
	UpdateID string `json:"updateId,omitempty"`
	// ConfigUpdateID is a node group's updateConfig change, if one was made.
	ConfigUpdateID string `json:"configUpdateId,omitempty"`
	// Adopted is true when the update was found InProgress (started by an
	// earlier attempt or someone else) rather than started by this attempt.
	Adopted bool `json:"adopted,omitempty"`
	// Params are the update's parameters as EKS reports them (Version,
	// ReleaseVersion, LaunchTemplateVersion, AddonVersion...).
	Params map[string]string `json:"params,omitempty"`
	// Reason says why this version (add-ons) or why nothing was done.
	Reason string `json:"reason,omitempty"`
}

// UpdateClusterVersionInput is one control-plane hop.
type UpdateClusterVersionInput struct {
	Cluster clusters.Ref `json:"cluster"`
	// Version is the next minor version, e.g. "1.31".
	Version string `json:"version"`
	// Force overrides EKS's upgrade-readiness (insights) refusal.
	Force bool `json:"force,omitempty"`
}

// UpdateNodegroupInput is one managed node group's rolling update.
type UpdateNodegroupInput struct {
	Cluster   clusters.Ref `json:"cluster"`
	Nodegroup string       `json:"nodegroup"`
	// Version is the Kubernetes version of the nodes (default: the
	// cluster's). Must be empty for a launch template with a custom AMI.
	Version string `json:"version,omitempty"`
	// ReleaseVersion is the AMI release (default: EKS's newest for Version).
	ReleaseVersion string `json:"releaseVersion,omitempty"`
	// LaunchTemplate is the node group's own launch template at a new
	// version (name or id, and version).
	LaunchTemplate *LaunchTemplate `json:"launchTemplate,omitempty"`
	// UpdateConfig is the spec's maxUnavailable (count or percentage);
	// applied with UpdateNodegroupConfig before the version update when it
	// differs from the node group's.
	UpdateConfig *UpdateConfig `json:"updateConfig,omitempty"`
	// Force replaces nodes even when pods cannot be evicted (PDBs).
	Force bool `json:"force,omitempty"`
}

// UpdateAddonInput moves one add-on to the newest version compatible with
// a Kubernetes minor version.
type UpdateAddonInput struct {
	Cluster clusters.Ref `json:"cluster"`
	Addon   string       `json:"addon"`
	// KubernetesVersion is the minor the add-on must be compatible with.
	KubernetesVersion string `json:"kubernetesVersion"`
	// ResolveConflicts is EKS's NONE, OVERWRITE or PRESERVE (default
	// PRESERVE: keep changes made in the cluster to the add-on's objects).
	ResolveConflicts string `json:"resolveConflicts,omitempty"`
}

func resumeUpdate(ctx context.Context, step, cluster, subject, target string) UpdateProgress {
	fresh := UpdateProgress{Step: step, Cluster: cluster, Subject: subject, Target: target,
		UpdateIDs: map[string]string{}, Since: time.Now().UTC().Format(time.RFC3339)}
	p, ok := activitylog.Resume[UpdateProgress](ctx)
	if !ok || p.Step != step || p.Cluster != cluster || p.Subject != subject || p.Target != target {
		return fresh
	}
	if p.UpdateIDs == nil {
		p.UpdateIDs = map[string]string{}
	}
	logger(ctx).Info("Resuming the update from the last heartbeat", "cluster", cluster, "subject", subject,
		"target", target, "updates", p.UpdateIDs, "polls", p.Polls)
	return p
}

// updateTarget names what an update is about in ListUpdates/DescribeUpdate.
type updateTarget struct {
	nodegroup, addon string
}

func (t updateTarget) listInput(ref clusters.Ref, token *string) *awseks.ListUpdatesInput {
	return &awseks.ListUpdatesInput{Name: aws.String(ref.Name), NodegroupName: optString(t.nodegroup),
		AddonName: optString(t.addon), NextToken: token}
}

func (t updateTarget) describeInput(ref clusters.Ref, id string) *awseks.DescribeUpdateInput {
	return &awseks.DescribeUpdateInput{Name: aws.String(ref.Name), UpdateId: aws.String(id),
		NodegroupName: optString(t.nodegroup), AddonName: optString(t.addon)}
}

func (t updateTarget) String() string {
	switch {
	case t.nodegroup != "":
		return "node group " + t.nodegroup
	case t.addon != "":
		return "add-on " + t.addon
	}
	return "control plane"
}

func updateParams(u *ekstypes.Update) map[string]string {
	out := map[string]string{}
	for _, p := range u.Params {
		out[string(p.Type)] = aws.ToString(p.Value)
	}
	return out
}

// findInProgress returns the InProgress update of kind on target whose
// params match want (every key of want equal), or nil.
func findInProgress(ctx context.Context, api EKSAPI, ref clusters.Ref, t updateTarget, kind string, want map[string]string) (*ekstypes.Update, error) {
	var ids []string
	var token *string
	for {
		out, err := api.ListUpdates(ctx, t.listInput(ref, token))
		if err != nil {
			return nil, awsError(err, "list updates of %s of cluster %s", t, ref)
		}
		ids = append(ids, out.UpdateIds...)
		if aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	for i := len(ids) - 1; i >= 0; i-- {
		out, err := api.DescribeUpdate(ctx, t.describeInput(ref, ids[i]))
		if err != nil {
			return nil, awsError(err, "describe update %s of %s of cluster %s", ids[i], t, ref)
		}
		u := out.Update
		if u == nil || u.Status != ekstypes.UpdateStatusInProgress || string(u.Type) != kind {
			continue
		}
		params := updateParams(u)
		match := true
		for k, v := range want {
			if params[k] != v {
				match = false
			}
		}
		if match {
			return u, nil
		}
	}
	return nil, nil
}

func updateIssues(u *ekstypes.Update) []UpdateIssue {
	var out []UpdateIssue
	for _, e := range u.Errors {
		out = append(out, UpdateIssue{Code: string(e.ErrorCode), Message: aws.ToString(e.ErrorMessage), ResourceIDs: e.ResourceIds})
	}
	return out
}

func issuesText(issues []UpdateIssue) string {
	if len(issues) == 0 {
		return "EKS reports no errors"
	}
	var parts []string
	for _, i := range issues {
		parts = append(parts, issueText(i.Code, i.Message, i.ResourceIDs))
	}
	return strings.Join(parts, "; ")
}

// waitUpdate polls DescribeUpdate until the update is Successful; Failed or
// Cancelled is UpdateFailed (PodEvictionBlocked when an error is
// PodEvictionFailure). extra, if set, adds the subject's status to the
// heartbeat.
func (a *Activities) waitUpdate(ctx context.Context, api EKSAPI, ref clusters.Ref, t updateTarget, id string, p *UpdateProgress, extra func(context.Context) string) (*ekstypes.Update, error) {
	var last *ekstypes.Update
	err := a.pollUpdate(ctx, p, func(ctx context.Context) (bool, error) {
		out, err := api.DescribeUpdate(ctx, t.describeInput(ref, id))
		if err != nil {
			return false, awsError(err, "describe update %s of %s of cluster %s", id, t, ref)
		}
		last = out.Update
		p.Status = "update " + string(last.Status)
		if extra != nil {
			if s := extra(ctx); s != "" {
				p.Status += ", " + s
			}
		}
		switch last.Status {
		case ekstypes.UpdateStatusSuccessful:
			return true, nil
		case ekstypes.UpdateStatusFailed, ekstypes.UpdateStatusCancelled:
			issues := updateIssues(last)
			typ := UpdateFailed
			for _, i := range issues {
				if i.Code == string(ekstypes.ErrorCodePodEvictionFailure) {
					typ = PodEvictionBlocked
				}
			}
			return false, updateFailedf(typ, issues, "%s update %s of %s of cluster %s is %s: %s",
				last.Type, id, t, ref, last.Status, issuesText(issues))
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	logger(ctx).Info("EKS update finished", "cluster", ref.String(), "subject", t.String(), "update", id, "polls", p.Polls)
	return last, nil
}

// UpdateClusterVersion moves the control plane to the next minor version
// (UpdateClusterVersion) and waits until the update is Successful and the
// cluster ACTIVE at it. Idempotent: at the version already, nothing is
// done; an InProgress update to the version (the heartbeat's, or found
// with ListUpdates) is waited on, never a second one started. A cluster
// newer than the version is InvalidParameter (EKS cannot downgrade).
func (a *Activities) UpdateClusterVersion(ctx context.Context, in UpdateClusterVersionInput) (UpdateResult, error) {
	ref := in.Cluster
	if in.Version == "" {
		return UpdateResult{}, invalidf("update cluster %s: version is empty", ref)
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return UpdateResult{}, err
	}
	t := updateTarget{}
	p := resumeUpdate(ctx, StepClusterVersion, ref.Name, "control-plane", in.Version)
	res := UpdateResult{Subject: "control-plane", To: in.Version}
	d, found, err := describeCluster(ctx, api, ref)
	if err != nil {
		return res, err
	}
	if !found {
		return res, notFoundf("update cluster %s: no such cluster", ref)
	}
	res.From = d.Version
	id := p.UpdateIDs[updateKindVersion]
	if id == "" {
		u, err := findInProgress(ctx, api, ref, t, updateKindVersion, map[string]string{updateParamVersion: in.Version})
		if err != nil {
			return res, err
		}
		if u != nil {
			id, res.Adopted = aws.ToString(u.Id), true
			logger(ctx).Info("Found the control-plane update in progress", "cluster", ref.String(), "update", id)
		}
	} else {
		res.Adopted = true
	}
	if id == "" {
		switch c := compareVersions(d.Version, in.Version); {
		case c == 0 && d.Status == string(ekstypes.ClusterStatusActive):
			res.Reason = "the control plane is at " + in.Version + " already"
			return res, nil
		case c > 0:
			return res, invalidf("update cluster %s to %s: it is at %s, EKS cannot downgrade", ref, in.Version, d.Version)
		case d.Status != string(ekstypes.ClusterStatusActive):
			return res, notReadyf("update cluster %s to %s: it is %s", ref, in.Version, d.Status)
		}
		out, err := api.UpdateClusterVersion(ctx, &awseks.UpdateClusterVersionInput{
			Name: aws.String(ref.Name), Version: aws.String(in.Version), Force: in.Force,
		})
		if err != nil {
			return res, awsError(err, "update cluster %s from %s to %s", ref, d.Version, in.Version)
		}
		id = aws.ToString(out.Update.Id)
		logger(ctx).Info("Started the control-plane update", "cluster", ref.String(), "from", d.Version, "to", in.Version, "update", id)
	}
	p.UpdateIDs[updateKindVersion] = id
	activitylog.Heartbeat(ctx, p)
	res.UpdateID = id
	u, err := a.waitUpdate(ctx, api, ref, t, id, &p, func(ctx context.Context) string {
		if d, ok, err := describeCluster(ctx, api, ref); err == nil && ok {
			return "cluster " + d.Status + " at " + d.Version
		}
		return ""
	})
	if err != nil {
		return res, err
	}
	res.Params = updateParams(u)
	// The update is Successful; the cluster reads ACTIVE at the version.
	err = a.pollUpdate(ctx, &p, func(ctx context.Context) (bool, error) {
		d, _, err := describeCluster(ctx, api, ref)
		if err != nil {
			return false, err
		}
		p.Status = "cluster " + d.Status + " at " + d.Version
		return d.Status == string(ekstypes.ClusterStatusActive) && d.Version == in.Version, nil
	})
	return res, err
}

// UpdateNodegroup rolls one managed node group to a version: first its
// updateConfig (UpdateNodegroupConfig, when the input's maxUnavailable
// differs), then UpdateNodegroupVersion with the release version or the
// launch template's new version and force, waiting on each update with
// the node group's status in the heartbeat. Idempotent like
// UpdateClusterVersion. A node group at the version, release and launch
// template version already is left alone. A Failed update is
// PodEvictionBlocked when EKS could not evict pods (its details name
// them), else UpdateFailed.
func (a *Activities) UpdateNodegroup(ctx context.Context, in UpdateNodegroupInput) (UpdateResult, error) {
	ref := in.Cluster
	if in.Nodegroup == "" {
		return UpdateResult{}, invalidf("update node group of cluster %s: name is empty", ref)
	}
	if in.LaunchTemplate != nil && in.LaunchTemplate.ID == "" && in.LaunchTemplate.Name == "" {
		return UpdateResult{}, invalidf("update node group %s of cluster %s: the launch template needs a name or an id", in.Nodegroup, ref)
	}
	if uc := in.UpdateConfig; uc != nil && (uc.MaxUnavailable > 0) == (uc.MaxUnavailablePercentage > 0) {
		return UpdateResult{}, invalidf("update node group %s of cluster %s: updateConfig needs exactly one of maxUnavailable and maxUnavailablePercentage", in.Nodegroup, ref)
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return UpdateResult{}, err
	}
	t := updateTarget{nodegroup: in.Nodegroup}
	target := in.Version
	if target == "" && in.LaunchTemplate != nil {
		target = "launch template version " + in.LaunchTemplate.Version
	}
	p := resumeUpdate(ctx, StepNodegroupUpdate, ref.Name, in.Nodegroup, target+" "+in.ReleaseVersion)
	res := UpdateResult{Subject: in.Nodegroup, To: in.Version}
	status := func(ctx context.Context) string {
		out, err := api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(ref.Name), NodegroupName: aws.String(in.Nodegroup)})
		if err != nil || out.Nodegroup == nil {
			return ""
		}
		n := out.Nodegroup
		s := fmt.Sprintf("node group %s at %s (%s)", n.Status, aws.ToString(n.Version), aws.ToString(n.ReleaseVersion))
		if n.Health != nil && len(n.Health.Issues) > 0 {
			s += ": " + nodeGroupHealth(n)
		}
		return s
	}

	ng, found, err := describeNodeGroup(ctx, api, ref, in.Nodegroup)
	if err != nil {
		return res, err
	}
	if !found {
		return res, notFoundf("update node group %s of cluster %s: no such node group", in.Nodegroup, ref)
	}
	res.From = ng.Version

	// 1. updateConfig.
	if uc := in.UpdateConfig; uc != nil {
		id := p.UpdateIDs[updateKindConfig]
		if id == "" && (ng.UpdateConfig == nil || *ng.UpdateConfig != *uc) {
			if ng.Status != string(ekstypes.NodegroupStatusActive) {
				return res, notReadyf("update node group %s of cluster %s: it is %s", in.Nodegroup, ref, ng.Status)
			}
			cfg := &ekstypes.NodegroupUpdateConfig{}
			if uc.MaxUnavailable > 0 {
				cfg.MaxUnavailable = aws.Int32(uc.MaxUnavailable)
			} else {
				cfg.MaxUnavailablePercentage = aws.Int32(uc.MaxUnavailablePercentage)
			}
			out, err := api.UpdateNodegroupConfig(ctx, &awseks.UpdateNodegroupConfigInput{
				ClusterName: aws.String(ref.Name), NodegroupName: aws.String(in.Nodegroup), UpdateConfig: cfg,
			})
			if err != nil {
				return res, awsError(err, "update the updateConfig of node group %s of cluster %s", in.Nodegroup, ref)
			}
			id = aws.ToString(out.Update.Id)
			logger(ctx).Info("Started the node group config update", "cluster", ref.String(), "nodegroup", in.Nodegroup,
				"maxUnavailable", uc.MaxUnavailable, "maxUnavailablePercentage", uc.MaxUnavailablePercentage, "update", id)
		}
		if id != "" {
			p.UpdateIDs[updateKindConfig] = id
			activitylog.Heartbeat(ctx, p)
			if _, err := a.waitUpdate(ctx, api, ref, t, id, &p, status); err != nil {
				return res, err
			}
			res.ConfigUpdateID = id
			if ng, _, err = describeNodeGroup(ctx, api, ref, in.Nodegroup); err != nil {
				return res, err
			}
		}
	}

	// 2. The version update.
	id := p.UpdateIDs[updateKindVersion]
	want := map[string]string{}
	if in.Version != "" {
		want[updateParamVersion] = in.Version
	}
	if in.ReleaseVersion != "" {
		want[string(ekstypes.UpdateParamTypeReleaseVersion)] = in.ReleaseVersion
	}
	if lt := in.LaunchTemplate; lt != nil && lt.Version != "" {
		want[string(ekstypes.UpdateParamTypeLaunchTemplateVersion)] = lt.Version
	}
	if id == "" {
		u, err := findInProgress(ctx, api, ref, t, updateKindVersion, want)
		if err != nil {
			return res, err
		}
		if u != nil {
			id, res.Adopted = aws.ToString(u.Id), true
			logger(ctx).Info("Found the node group update in progress", "cluster", ref.String(), "nodegroup", in.Nodegroup, "update", id)
		}
	} else {
		res.Adopted = true
	}
	if id == "" {
		if why, done := nodegroupAt(ng, in); done {
			res.To, res.Reason = ng.Version, why
			return res, nil
		}
		if in.Version != "" && compareVersions(ng.Version, in.Version) > 0 {
			return res, invalidf("update node group %s of cluster %s to %s: it is at %s, EKS cannot downgrade", in.Nodegroup, ref, in.Version, ng.Version)
		}
		if ng.Status != string(ekstypes.NodegroupStatusActive) {
			return res, notReadyf("update node group %s of cluster %s: it is %s", in.Nodegroup, ref, ng.Status)
		}
		req := &awseks.UpdateNodegroupVersionInput{
			ClusterName: aws.String(ref.Name), NodegroupName: aws.String(in.Nodegroup),
			Version: optString(in.Version), ReleaseVersion: optString(in.ReleaseVersion), Force: in.Force,
		}
		if lt := in.LaunchTemplate; lt != nil {
			req.LaunchTemplate = &ekstypes.LaunchTemplateSpecification{Id: optString(lt.ID), Name: optString(lt.Name), Version: optString(lt.Version)}
		}
		out, err := api.UpdateNodegroupVersion(ctx, req)
		if err != nil {
			return res, awsError(err, "update node group %s of cluster %s to %s", in.Nodegroup, ref, target)
		}
		id = aws.ToString(out.Update.Id)
		logger(ctx).Info("Started the node group update", "cluster", ref.String(), "nodegroup", in.Nodegroup,
			"from", ng.Version, "to", target, "release", in.ReleaseVersion, "force", in.Force, "update", id)
	}
	p.UpdateIDs[updateKindVersion] = id
	activitylog.Heartbeat(ctx, p)
	res.UpdateID = id
	u, err := a.waitUpdate(ctx, api, ref, t, id, &p, status)
	if err != nil {
		return res, err
	}
	res.Params = updateParams(u)
	if ng, _, err = describeNodeGroup(ctx, api, ref, in.Nodegroup); err != nil {
		return res, err
	}
	res.To = ng.Version
	return res, nil
}

// nodegroupAt says whether the node group is where the input wants it.
func nodegroupAt(ng NodeGroup, in UpdateNodegroupInput) (string, bool) {
	if ng.Status != string(ekstypes.NodegroupStatusActive) {
		return "", false
	}
	if in.Version != "" && ng.Version != in.Version {
		return "", false
	}
	if in.ReleaseVersion != "" && ng.ReleaseVersion != in.ReleaseVersion {
		return "", false
	}
	if lt := in.LaunchTemplate; lt != nil && (ng.LaunchTemplate == nil || ng.LaunchTemplate.Version != lt.Version) {
		return "", false
	}
	if in.Version == "" && in.ReleaseVersion == "" && in.LaunchTemplate == nil {
		// Nothing pinned: EKS's newest release for the cluster's version,
		// which only UpdateNodegroupVersion knows; let it decide.
		return "", false
	}
	return fmt.Sprintf("node group %s is at %s (release %s) already", ng.Name, ng.Version, ng.ReleaseVersion), true
}

// newestCompatible is the newest add-on version compatible with k8s.
func newestCompatible(infos []ekstypes.AddonInfo, k8s string) (string, int) {
	var compatible []string
	for _, info := range infos {
		for _, v := range info.AddonVersions {
			for _, c := range v.Compatibilities {
				if aws.ToString(c.ClusterVersion) == k8s {
					compatible = append(compatible, aws.ToString(v.AddonVersion))
				}
			}
		}
	}
	sort.Slice(compatible, func(i, j int) bool { return compareVersions(compatible[i], compatible[j]) > 0 })
	if len(compatible) == 0 {
		return "", 0
	}
	return compatible[0], len(compatible)
}

// UpdateAddonToCompatible moves an add-on to the newest version EKS
// offers for the Kubernetes minor (DescribeAddonVersions), with
// UpdateAddon, and waits until the update is Successful and the add-on
// ACTIVE. An add-on at that version or newer is left alone (EKS cannot
// downgrade an add-on either); no compatible version at all is
// InvalidParameter. Idempotent like UpdateClusterVersion. An add-on that
// ends DEGRADED or UPDATE_FAILED is ResourceFailed with its health.
func (a *Activities) UpdateAddonToCompatible(ctx context.Context, in UpdateAddonInput) (UpdateResult, error) {
	ref := in.Cluster
	if in.Addon == "" || in.KubernetesVersion == "" {
		return UpdateResult{}, invalidf("update add-on of cluster %s: addon and kubernetesVersion are required", ref)
	}
	resolve := in.ResolveConflicts
	if resolve == "" {
		resolve = string(ekstypes.ResolveConflictsPreserve)
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return UpdateResult{}, err
	}
	t := updateTarget{addon: in.Addon}
	res := UpdateResult{Subject: in.Addon}
	have, found, err := describeAddon(ctx, api, ref, in.Addon)
	if err != nil {
		return res, err
	}
	if !found {
		return res, notFoundf("update add-on %s of cluster %s: not installed", in.Addon, ref)
	}
	res.From = have.Version
	infos, err := a.addonVersionInfos(ctx, api, in.Addon, in.KubernetesVersion)
	if err != nil {
		return res, err
	}
	version, n := newestCompatible(infos, in.KubernetesVersion)
	if version == "" {
		return res, invalidf("update add-on %s of cluster %s: EKS offers no version compatible with Kubernetes %s", in.Addon, ref, in.KubernetesVersion)
	}
	res.To = version
	res.Reason = fmt.Sprintf("newest of %d versions compatible with Kubernetes %s", n, in.KubernetesVersion)
	p := resumeUpdate(ctx, StepAddonToVersion, ref.Name, in.Addon, version)
	id := p.UpdateIDs[updateKindAddon]
	if id == "" {
		u, err := findInProgress(ctx, api, ref, t, updateKindAddon, map[string]string{updateParamAddonVers: version})
		if err != nil {
			return res, err
		}
		if u != nil {
			id, res.Adopted = aws.ToString(u.Id), true
		}
	} else {
		res.Adopted = true
	}
	if id == "" {
		if compareVersions(have.Version, version) >= 0 {
			res.To = have.Version
			res.Reason = fmt.Sprintf("at %s already, not older than the newest compatible with Kubernetes %s (%s)", have.Version, in.KubernetesVersion, version)
			return res, a.waitAddonSettled(ctx, api, ref, in.Addon, &p)
		}
		out, err := api.UpdateAddon(ctx, &awseks.UpdateAddonInput{
			ClusterName: aws.String(ref.Name), AddonName: aws.String(in.Addon), AddonVersion: aws.String(version),
			ResolveConflicts: ekstypes.ResolveConflicts(resolve),
		})
		if err != nil {
			return res, awsError(err, "update add-on %s of cluster %s to %s", in.Addon, ref, version)
		}
		id = aws.ToString(out.Update.Id)
		logger(ctx).Info("Started the add-on update", "cluster", ref.String(), "addon", in.Addon, "from", have.Version, "to", version, "update", id)
	}
	p.UpdateIDs[updateKindAddon] = id
	activitylog.Heartbeat(ctx, p)
	res.UpdateID = id
	u, err := a.waitUpdate(ctx, api, ref, t, id, &p, nil)
	if err != nil {
		return res, err
	}
	res.Params = updateParams(u)
	return res, a.waitAddonSettled(ctx, api, ref, in.Addon, &p)
}

// waitAddonSettled waits for the add-on to be ACTIVE; DEGRADED or a FAILED
// state is ResourceFailed with its health issues.
func (a *Activities) waitAddonSettled(ctx context.Context, api EKSAPI, ref clusters.Ref, name string, p *UpdateProgress) error {
	return a.pollUpdate(ctx, p, func(ctx context.Context) (bool, error) {
		out, err := api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String(ref.Name), AddonName: aws.String(name)})
		if err != nil {
			return false, awsError(err, "describe add-on %s of cluster %s", name, ref)
		}
		st := out.Addon.Status
		p.Status = "add-on " + string(st)
		switch st {
		case ekstypes.AddonStatusActive:
			return true, nil
		case ekstypes.AddonStatusDegraded, ekstypes.AddonStatusUpdateFailed, ekstypes.AddonStatusCreateFailed:
			return false, failedf("add-on %s of cluster %s is %s after its update: %s", name, ref, st, addonHealth(out.Addon))
		}
		return false, nil
	})
}

// pollUpdate is poll for UpdateProgress.
func (a *Activities) pollUpdate(ctx context.Context, p *UpdateProgress, check func(ctx context.Context) (bool, error)) error {
	return pollUntil(ctx, a.pollInterval, p, &p.Polls, check)
}

// InPlaceLaunchTemplateInput asks for the launch template version a node
// group on its own launch template needs to run Kubernetes Version.
type InPlaceLaunchTemplateInput struct {
	Cluster   clusters.Ref `json:"cluster"`
	Nodegroup string       `json:"nodegroup"`
	// Migration names the version cutover creates (its description), so
	// a retry finds it instead of creating another.
	Migration string `json:"migration"`
	Version   string `json:"version"`
}

// InPlaceLaunchTemplateResult is the launch template version to update a
// node group to.
type InPlaceLaunchTemplateResult struct {
	// LaunchTemplate is the version the node group's update names; nil when
	// the node group has no launch template or its version pins no AMI
	// (the update names the Kubernetes version, EKS picks the AMI).
	LaunchTemplate *LaunchTemplate `json:"launchTemplate,omitempty"`
	// Previous is the version the node group runs now, what a rollback of
	// the node group goes back to (nil without a launch template).
	Previous *LaunchTemplate `json:"previous,omitempty"`
	// Created is true when this call created the version.
	Created bool `json:"created,omitempty"`
	// AMI is the image the version pins; Reason says why.
	AMI    string `json:"ami,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// PrepareInPlaceLaunchTemplate gives a node group whose launch template
// pins an AMI (AMI type CUSTOM, which EKS cannot move to another release)
// a new version of that template with the recommended AMI of the same
// family for Version, from the node group's version as source; user data
// and everything else are kept (the cluster is the same). A version
// already made for this migration, node group and version is found again
// (its description). A template that pins no AMI, or one built for
// Version already, needs no new version. A template cutover cannot move
// (an AMI that is not EKS-optimized, no AMI of the family at Version) is
// refused with the reason and the fix, before anything is created.
func (a *Activities) PrepareInPlaceLaunchTemplate(ctx context.Context, in InPlaceLaunchTemplateInput) (InPlaceLaunchTemplateResult, error) {
	var res InPlaceLaunchTemplateResult
	ref := in.Cluster
	if in.Nodegroup == "" || in.Version == "" || in.Migration == "" {
		return res, invalidf("launch template for node group %q of cluster %s: node group, migration and version are required", in.Nodegroup, ref)
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return res, err
	}
	ng, found, err := describeNodeGroup(ctx, api, ref, in.Nodegroup)
	if err != nil {
		return res, err
	}
	if !found {
		return res, notFoundf("launch template for node group %s of cluster %s: no such node group", in.Nodegroup, ref)
	}
	if ng.LaunchTemplate == nil {
		res.Reason = "the node group has no launch template"
		return res, nil
	}
	prev := *ng.LaunchTemplate
	res.Previous = &prev
	ec2API, ok, err := a.ec2Client(ctx, ref.Region)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, failedf("launch template for node group %s of cluster %s: no EC2 client", in.Nodegroup, ref)
	}
	ssmAPI, err := a.ssmClient(ctx, ref.Region)
	if err != nil {
		return res, err
	}
	d, err := a.decideLaunchTemplate(ctx, ec2API, ssmAPI, in.Version, spec.AMITypeUpgradeRefuse, ng)
	if err != nil {
		return res, err
	}
	res.Reason, res.AMI = d.Plan.Reason, d.Plan.GreenAMI
	switch {
	case d.Plan.Action == LaunchTemplateRefuse:
		return res, d.refusal
	case d.Plan.Action == LaunchTemplateKeep && d.Plan.BlueAMI == "":
		return res, nil
	case d.Plan.Action == LaunchTemplateKeep:
		res.LaunchTemplate = &prev
		return res, nil
	}
	mine := ng
	mine.Tags = maps.Clone(ng.Tags)
	if mine.Tags == nil {
		mine.Tags = map[string]string{}
	}
	mine.Tags[TagMigration] = in.Migration
	lt, v, err := a.greenLaunchTemplate(ctx, ec2API, ssmAPI, nil, ref.Name, in.Version, spec.AMITypeUpgradeRefuse, mine)
	if err != nil {
		return res, err
	}
	res.LaunchTemplate = lt
	res.Created = v != nil && v.Created
	logger(ctx).Info("Launch template version for the in-place update", "cluster", ref.String(), "nodegroup", in.Nodegroup,
		"launchTemplate", lt.ID, "version", lt.Version, "previous", prev.Version, "ami", res.AMI, "created", res.Created)
	return res, nil
}
