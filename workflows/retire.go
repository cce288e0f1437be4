package workflows

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
)

// changeRetireLoadBalancers versions deleting blue's Services of type
// LoadBalancer and its ALB Ingresses, and waiting for their load
// balancers to go, before blue is deleted.
const changeRetireLoadBalancers = "retire-load-balancers"

// retireLBOptions: the wait is bounded by the activity's own deadline
// (kube.DefaultRetireLoadBalancersWait, counted from the first attempt).
var retireLBOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    kube.DefaultRetireLoadBalancersWait + 5*time.Minute,
	ScheduleToCloseTimeout: time.Hour,
	HeartbeatTimeout:       time.Minute,
	RetryPolicy:            waitRetry,
}

// CheckRetireLoadBalancersFailed: blue's load-balanced objects could not
// be deleted before blue was; their load balancers may be left.
const CheckRetireLoadBalancersFailed = "retire-load-balancers-failed"

// retireState is what the retire of blue deleted, for the report.
type retireState struct {
	loadBalancers *kube.RetireLoadBalancersResult
	logGroup      *eks.DeleteLogGroupResult
	irsa          *eks.RetireBlueIRSAResult
	// retained: blue's retained EBS volumes, listed before blue went;
	// volumes: what became of them.
	retained *kube.RetainedVolumesResult
	volumes  *eks.RetireVolumesResult
	// recordSimple: the weighted pair was made one simple record at
	// green again (traffic.route53.afterMigration simple).
	recordSimple bool
}

// changeRetireVolumes versions listing blue's retained EBS volumes before
// blue is deleted and, with retire.volumes "delete", deleting them after.
const changeRetireVolumes = "retire-volumes"

// retireVolumesOptions: one DescribeVolumes and one DeleteVolume per
// volume, heartbeating between volumes.
var retireVolumesOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    10 * time.Minute,
	ScheduleToCloseTimeout: time.Hour,
	HeartbeatTimeout:       time.Minute,
	RetryPolicy:            mutateRetry,
}

// listRetainedVolumes reads, while blue's API is still there, the EBS
// volumes of blue's PersistentVolumes with reclaimPolicy Retain (those
// green's PersistentVolumes use too set apart). A failure is reported, not
// fatal: blue is being retired already.
func (m *migration) listRetainedVolumes(ctx workflow.Context) {
	if workflow.GetVersion(ctx, changeRetireVolumes, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	m.progress("Listing blue's retained EBS volumes")
	green := m.green()
	res, err := short[kube.RetainedVolumesResult](ctx, readOptions, kubeA.RetainedVolumes, kube.RetainedVolumesInput{Cluster: m.blue(), Green: &green})
	if err != nil {
		m.report.Errors = append(m.report.Errors, "list blue's retained EBS volumes: "+err.Error())
		m.logger.Warn("Blue's retained EBS volumes not listed", "cluster", m.spec.Blue.ClusterName, "error", err)
		return
	}
	m.retired.retained = &res
}

// retireBlueVolumes deletes blue's retained EBS volumes once blue is gone,
// when retire.volumes is "delete"; otherwise they are listed as kept.
func (m *migration) retireBlueVolumes(ctx workflow.Context) {
	r := m.retired.retained
	if r == nil || len(r.Volumes) == 0 {
		return
	}
	in := eks.RetireVolumesInput{Region: m.spec.Blue.Region, Delete: m.spec.Retire.Volumes == spec.VolumesDelete}
	for _, v := range r.Volumes {
		in.Volumes = append(in.Volumes, eks.RetainedVolume{VolumeID: v.VolumeID, PV: v.PV, Claim: v.Claim})
	}
	if in.Delete {
		m.progress(fmt.Sprintf("Deleting %d retained EBS volumes of blue (retire.volumes = delete)", len(in.Volumes)))
	}
	res, err := call[eks.RetireVolumesResult](ctx, retireVolumesOptions, eksA.RetireRetainedVolumes, in)
	if err != nil {
		m.report.Errors = append(m.report.Errors, "retire blue's retained EBS volumes: "+err.Error())
		m.logger.Warn("Blue's retained EBS volumes not retired", "cluster", m.spec.Blue.ClusterName, "error", err)
		return
	}
	m.retired.volumes = &res
}

// retireBlueLoadBalancers deletes blue's objects that own AWS load
// balancers and waits until the controller has removed them, so deleting
// blue leaves none behind. Blue is being retired already (traffic is on
// green, nothing rolls back), so a failure is reported, not fatal: blue's
// deletion goes on.
func (m *migration) retireBlueLoadBalancers(ctx workflow.Context) {
	if workflow.GetVersion(ctx, changeRetireLoadBalancers, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	m.progress("Deleting blue's Services of type LoadBalancer and ALB Ingresses, waiting for their load balancers to go")
	res, err := call[kube.RetireLoadBalancersResult](ctx, retireLBOptions, kubeA.RetireLoadBalancers, kube.RetireLoadBalancersInput{Cluster: m.blue()})
	if err != nil {
		m.report.Errors = append(m.report.Errors, "retire blue's load balancers: "+err.Error())
		m.addFindings([]finding.Finding{{Check: CheckRetireLoadBalancersFailed, Cluster: m.spec.Blue.ClusterName, Severity: finding.Warning, Source: kube.SourceRetire,
			Message: "blue's Services of type LoadBalancer and ALB Ingresses were not deleted before blue: " + failures.Message(err),
			Fix:     "look for load balancers tagged elbv2.k8s.aws/cluster=" + m.spec.Blue.ClusterName + " in ELBv2 and delete them with their target groups"}})
		m.logger.Warn("Blue's load balancers not retired", "cluster", m.spec.Blue.ClusterName, "error", err)
		return
	}
	m.retired.loadBalancers = &res
	m.addFindings(res.Findings)
	m.logger.Info("Blue's load balancers retired", "cluster", m.spec.Blue.ClusterName, "retired", len(res.Retired), "remaining", len(res.Remaining))
}

// changeRetireLogGroup versions deleting blue's control-plane log group
// once blue is deleted.
const changeRetireLogGroup = "retire-log-group"

// retireBlueLogGroup deletes /aws/eks/<blue>/cluster, which EKS keeps
// after the cluster. Blue is deleted already, so a failure is reported,
// not fatal.
func (m *migration) retireBlueLogGroup(ctx workflow.Context) {
	if workflow.GetVersion(ctx, changeRetireLogGroup, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return
	}
	m.progress("Deleting blue's control-plane log group")
	res, err := short[eks.DeleteLogGroupResult](ctx, mutateOptions, eksA.DeleteControlPlaneLogGroup, eks.DeleteLogGroupInput{Cluster: m.blue()})
	if err != nil {
		m.report.Errors = append(m.report.Errors, "delete blue's control-plane log group "+eks.ControlPlaneLogGroup(m.spec.Blue.ClusterName)+": "+err.Error())
		m.logger.Warn("Blue's control-plane log group not deleted", "cluster", m.spec.Blue.ClusterName, "error", err)
		return
	}
	m.retired.logGroup = &res
}

// RetireReport is what the retire of blue deleted and what it kept, for a
// person: every entry says what and where.
type RetireReport struct {
	// Deleted: blue's EKS resources, its load-balanced objects and their
	// load balancers, its control-plane log group, its IRSA trust and
	// OIDC provider.
	Deleted []string `json:"deleted,omitempty"`
	// Kept: what the retire left on purpose (or could not remove), with why.
	Kept []string `json:"kept,omitempty"`
}

// Checks of the retire report's findings.
const (
	// CheckRetireDeleted lists (in Objects) what the retire deleted.
	CheckRetireDeleted = "retire-deleted"
	// CheckRetireKept lists (in Objects) what it kept.
	CheckRetireKept = "retire-kept"
)

// retireKeptAlways are what cutover never deletes with blue.
var retireKeptAlways = []string{
	"security groups and their rules, VPC and subnets: kept (shared with green or created outside the migration)",
	"blue's cluster and node IAM roles: kept (created outside the migration, possibly shared)",
}

// retireKeptVolumesUnlisted stands for blue's retained volumes when they
// were not listed (histories from before change retire-volumes).
const retireKeptVolumesUnlisted = "EBS volumes of blue's PersistentVolumes with reclaimPolicy Retain: not deleted by cutover (delete them in EC2 once nothing needs their data)"

// recordRetire fills the report's Retire section and its two info
// findings from what the retire steps returned. Pure: it reads m.retired.
func (m *migration) recordRetire(cluster *eks.RetireResult) {
	r := m.retired
	blue := m.spec.Blue.ClusterName
	rep := &RetireReport{}
	if cluster != nil {
		for _, a := range cluster.DeletedAddons {
			rep.Deleted = append(rep.Deleted, "EKS add-on "+a+" of "+blue)
		}
		for _, n := range cluster.DeletedNodeGroups {
			rep.Deleted = append(rep.Deleted, "EKS node group "+n+" of "+blue)
		}
		for _, f := range cluster.DeletedFargateProfiles {
			rep.Deleted = append(rep.Deleted, "EKS Fargate profile "+f+" of "+blue)
		}
		switch {
		case cluster.ClusterDeleted:
			rep.Deleted = append(rep.Deleted, "EKS cluster "+blue)
		case cluster.AlreadyGone:
			rep.Deleted = append(rep.Deleted, "EKS cluster "+blue+" (already gone)")
		}
	}
	if lb := r.loadBalancers; lb != nil {
		for _, t := range lb.Retired {
			what := t.String()
			if t.Hostname != "" {
				what += " and its load balancer " + t.Hostname
				if len(t.TargetGroupARNs) > 0 || t.LoadBalancerARN != "" {
					what += " (" + t.LoadBalancerARN + ", its target groups)"
				}
			}
			rep.Deleted = append(rep.Deleted, what)
		}
		for _, t := range lb.Remaining {
			rep.Kept = append(rep.Kept, t.String()+" "+t.Hostname+": still there at the deadline (see the "+kube.CheckLoadBalancerRemains+" finding)")
		}
	}
	if lg := r.logGroup; lg != nil {
		switch {
		case lg.Deleted:
			rep.Deleted = append(rep.Deleted, "CloudWatch log group "+lg.LogGroup)
		case lg.AlreadyGone:
			rep.Deleted = append(rep.Deleted, "CloudWatch log group "+lg.LogGroup+" (there was none)")
		}
	}
	if ir := r.irsa; ir != nil {
		for _, u := range ir.Updated {
			rep.Deleted = append(rep.Deleted, fmt.Sprintf("%d trust statements for blue's OIDC issuer in IAM role %s", u.Statements, u.RoleName))
		}
		switch {
		case ir.ProviderDeleted:
			rep.Deleted = append(rep.Deleted, "IAM OIDC provider "+m.irsa.plan.Blue.ARN)
		case ir.ProviderAlreadyGone:
			rep.Deleted = append(rep.Deleted, "IAM OIDC provider "+m.irsa.plan.Blue.ARN+" (already gone)")
		default:
			rep.Kept = append(rep.Kept, "IAM OIDC provider "+m.irsa.plan.Blue.ARN+": still referenced or not cutover's (see the "+eks.CheckIRSAProviderKept+" finding)")
		}
		for _, f := range ir.Failed {
			rep.Kept = append(rep.Kept, "trust statements for blue in IAM role "+f.RoleName+": IAM refused the change")
		}
	}
	keptAlways := retireKeptAlways
	if r.retained == nil {
		keptAlways = append([]string{retireKeptVolumesUnlisted}, keptAlways...)
	} else {
		for _, v := range r.retained.UsedByGreen {
			rep.Kept = append(rep.Kept, volumeText(v.VolumeID, v.PV, v.Claim)+": a PersistentVolume of green uses it too")
		}
		if r.volumes == nil {
			for _, v := range r.retained.Volumes {
				rep.Kept = append(rep.Kept, volumeText(v.VolumeID, v.PV, v.Claim)+": not retired (see the report's errors)")
			}
		}
	}
	if v := r.volumes; v != nil {
		for _, d := range v.Deleted {
			rep.Deleted = append(rep.Deleted, d.String())
		}
		for _, d := range v.AlreadyGone {
			rep.Deleted = append(rep.Deleted, d.String()+" (already gone)")
		}
		for _, k := range v.Kept {
			rep.Kept = append(rep.Kept, k.String()+": "+k.Reason)
		}
	}
	if d, k := m.retiredTraffic(); d != "" {
		rep.Deleted = append(rep.Deleted, d)
	} else if k != "" {
		rep.Kept = append(rep.Kept, k)
	}
	rep.Kept = append(rep.Kept, keptAlways...)
	m.report.Retire = rep
	fs := []finding.Finding{}
	if len(rep.Deleted) > 0 {
		fs = append(fs, finding.Finding{Check: CheckRetireDeleted, Cluster: blue, Severity: finding.Info, Source: kube.SourceRetire, Objects: rep.Deleted,
			Message: fmt.Sprintf("retiring %s deleted %d resources: %s", blue, len(rep.Deleted), strings.Join(rep.Deleted, "; "))})
	}
	fs = append(fs, finding.Finding{Check: CheckRetireKept, Cluster: blue, Severity: finding.Info, Source: kube.SourceRetire, Objects: rep.Kept,
		Message: fmt.Sprintf("retiring %s kept %d resources: %s", blue, len(rep.Kept), strings.Join(rep.Kept, "; "))})
	m.addFindings(fs)
}

func volumeText(id, pv, claim string) string {
	return eks.RetainedVolume{VolumeID: id, PV: pv, Claim: claim}.String()
}

// retiredTraffic says what became of blue's side of the traffic switch:
// deleted (blue's weighted record, the pair made one simple record at
// green) or kept (blue's record at weight 0, blue's CloudFront origin),
// and why.
func (m *migration) retiredTraffic() (deleted, kept string) {
	switch t := m.target; {
	case t.Route53 != nil:
		r := t.Route53
		rec := fmt.Sprintf("Route53 weighted record %s %s (set identifier %s) in hosted zone %s", r.RecordName, r.RecordType, r.BlueSetIdentifier, r.HostedZoneID)
		if m.retired.recordSimple {
			return rec + ": the pair is one simple record at green again (traffic.route53.afterMigration simple)", ""
		}
		if m.simpleAfter() {
			return "", rec + ": at weight 0, not yet made a simple record again (see the report's errors)"
		}
		return "", rec + ": at weight 0, kept on purpose (traffic.route53.afterMigration weighted: the next migration's pair reuses it; \"simple\" makes one simple record at green)"
	case t.CloudFront != nil:
		c := t.CloudFront
		return "", fmt.Sprintf("CloudFront origin %s of distribution %s: kept, no behavior uses it (the next migration's origin switch reuses it)", c.BlueOriginID, c.DistributionID)
	}
	return "", ""
}
