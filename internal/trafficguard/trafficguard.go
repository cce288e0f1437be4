// Package trafficguard names what must carry no traffic before a cluster is
// deleted: the Route53 weighted record or the CloudFront origin of that
// cluster. The EKS retire activity (activities/eks) checks a Guard through a
// WeightReader, which the traffic activities (activities/traffic) implement;
// the type lives here so neither activity package imports the other.
package trafficguard

import "context"

// Guard tells the retire activity how to check that the cluster it is
// about to delete no longer receives traffic. It is part of the retire
// activity's input (eks.RetireInput.Guard), so its JSON is recorded in
// workflow history: keep the field names.
type Guard struct {
	// Provider is "route53" or "cloudfront".
	Provider string `json:"provider"`
	// Route53: zone, record and the set identifier of this cluster's record.
	HostedZoneID  string `json:"hostedZoneId,omitempty"`
	RecordName    string `json:"recordName,omitempty"`
	SetIdentifier string `json:"setIdentifier,omitempty"`
	// CloudFront: distribution and this cluster's origin.
	DistributionID string `json:"distributionId,omitempty"`
	OriginID       string `json:"originId,omitempty"`
}

// WeightReader reads the share of traffic a cluster receives, as the
// traffic activities recorded it (Route53 weight or CloudFront origin).
type WeightReader interface {
	// ClusterWeight returns the cluster's weight; any value > 0 means the
	// cluster still receives traffic.
	ClusterWeight(ctx context.Context, g Guard) (int, error)
}
