package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
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
