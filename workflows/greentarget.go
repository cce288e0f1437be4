package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
)

// Green's target discovered: when traffic.route53.greenTargetFrom names
// green's Ingress or Service, green's record points at the load balancer
// the AWS Load Balancer Controller gave it after the restore, so nobody
// has to know its DNS name before green exists. A spec with an explicit
// greenTarget never reaches an activity here, and older runs cannot have
// the field, so the change needs no version of its own.

// CheckGreenTargetNotELBv2 is the finding of a discovered target that is
// not an ELBv2 load balancer, with a CNAME record that does not need one.
const CheckGreenTargetNotELBv2 = "green-target-not-elbv2"

// DiscoveredTarget is green's entry point and the load balancer found for it.
type DiscoveredTarget struct {
	// EntryPoint, e.g. "Service shop/web-public".
	EntryPoint string `json:"entryPoint"`
	Hostname   string `json:"hostname"`
	// LoadBalancer is ELBv2's record of it (empty when not found and the
	// record is a CNAME, which needs none).
	LoadBalancer *traffic.LoadBalancer `json:"loadBalancer,omitempty"`
	// Waited is how long the hostname took to appear.
	Waited string `json:"waited"`
}

// discoverGreenTarget waits for green's entry point's load balancer and
// points m.target at it. An alias record needs the load balancer's
// canonical hosted zone, so its lookup failing fails the step; a CNAME
// only needs the name.
func (m *migration) discoverGreenTarget(ctx workflow.Context) error {
	if cf := m.spec.Traffic.CloudFront; cf != nil && cf.GreenOriginFrom != nil && m.target.Provider == traffic.ProviderCloudFront {
		return m.discoverGreenOrigin(ctx, *cf.GreenOriginFrom)
	}
	r := m.spec.Traffic.Route53
	if r == nil || r.GreenTargetFrom == nil {
		return nil
	}
	e := *r.GreenTargetFrom
	in := kube.LoadBalancerInput{Cluster: m.green(), Kind: e.Kind, Namespace: e.Namespace, Name: e.Name, Timeout: e.Timeout}
	m.progress("Waiting for the load balancer of green's " + in.String())
	lb, err := call[kube.LoadBalancerStatus](ctx, withTimeout(entryPointOptions, e.Timeout.D()+entryPointSlack), kubeA.WaitLoadBalancer, in)
	if err != nil {
		return err
	}
	d := &DiscoveredTarget{EntryPoint: in.String(), Hostname: lb.Hostname, Waited: lb.Waited.String()}
	found, err := call[traffic.LoadBalancer](ctx, readOptions, trafA.ResolveLoadBalancer, traffic.ResolveLoadBalancerInput{Region: m.spec.Blue.Region, DNSName: lb.Hostname})
	switch {
	case err == nil:
		d.LoadBalancer = &found
		m.target.Route53.GreenTargetZoneID = found.CanonicalHostedZoneID
	case failures.Is(err, failures.NotFound) && r.RecordType != "A":
		m.addFindings([]finding.Finding{{Check: CheckGreenTargetNotELBv2, Cluster: m.spec.Green.ClusterName, Object: in.String(), Severity: finding.Info, Source: "traffic",
			Message: "green's load balancer " + lb.Hostname + " is not an ELBv2 load balancer; the CNAME record points at its name, unchecked by ELBv2",
			Fix:     "none needed for a CNAME; an alias (recordType \"A\") needs an ALB or NLB"}})
	default:
		return err
	}
	m.target.Route53.GreenTarget = lb.Hostname
	m.report.GreenTarget = d
	m.logger.Info("Green's target discovered", "entryPoint", in.String(), "hostname", lb.Hostname, "zone", m.target.Route53.GreenTargetZoneID)
	m.progress("Green's target is " + lb.Hostname + " (" + in.String() + ")")
	return nil
}

// greenTargetPlan says where green's target comes from, for the plan.
func greenTargetPlan(r *spec.Route53Spec) string {
	switch {
	case r == nil:
		return ""
	case r.GreenTargetFrom != nil:
		e := r.GreenTargetFrom
		return "green's target: the load balancer of green's " + e.Kind + " " + e.Namespace + "/" + e.Name + ", once restored (waiting up to " + e.Timeout.String() + ")"
	default:
		return "green's target: " + r.GreenTarget
	}
}

// discoverGreenOrigin waits for green's entry point's load balancer and
// makes its hostname green's CloudFront origin domain (the switch creates
// the origin, or points an existing one of green's at it).
func (m *migration) discoverGreenOrigin(ctx workflow.Context, e spec.EntryPointSpec) error {
	in := kube.LoadBalancerInput{Cluster: m.green(), Kind: e.Kind, Namespace: e.Namespace, Name: e.Name, Timeout: e.Timeout}
	m.progress("Waiting for the load balancer of green's " + in.String())
	lb, err := call[kube.LoadBalancerStatus](ctx, withTimeout(entryPointOptions, e.Timeout.D()+entryPointSlack), kubeA.WaitLoadBalancer, in)
	if err != nil {
		return err
	}
	m.target.CloudFront.GreenOriginDomain = lb.Hostname
	m.report.GreenTarget = &DiscoveredTarget{EntryPoint: in.String(), Hostname: lb.Hostname, Waited: lb.Waited.String()}
	m.logger.Info("Green's origin discovered", "entryPoint", in.String(), "hostname", lb.Hostname, "origin", m.target.CloudFront.GreenOriginID)
	m.progress("Green's origin " + m.target.CloudFront.GreenOriginID + " is " + lb.Hostname + " (" + in.String() + ")")
	return nil
}
