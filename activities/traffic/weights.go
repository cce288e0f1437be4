package traffic

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/trafficguard"
)

// WeightReader reads the share of traffic one cluster receives, for the
// EKS retire guard (it implements trafficguard.WeightReader, which the eks
// activities are given). It is a separate type,
// not a method of Activities, so the worker does not register it as an
// activity.
type WeightReader struct {
	clients ClientFactory
}

var _ trafficguard.WeightReader = (*WeightReader)(nil)

// NewWeightReader reads through real SDK clients built from p.
func NewWeightReader(p awsconf.Provider) *WeightReader {
	return &WeightReader{clients: NewClientFactory(p)}
}

// NewWeightReaderFrom reads through the given clients (tests use fakes).
func NewWeightReaderFrom(clients ClientFactory) *WeightReader {
	return &WeightReader{clients: clients}
}

// ClusterWeight returns the percentage of traffic the guard's record or
// origin receives. Route53: the weight of the record with the guard's set
// identifier as a percentage of all weighted records of that name and type
// (0 when the record does not exist; a record with that set identifier that
// is not weighted counts as 100). CloudFront: 100 when the default or any
// path cache behavior targets the guard's origin, else 0.
func (w *WeightReader) ClusterWeight(ctx context.Context, g trafficguard.Guard) (int, error) {
	switch g.Provider {
	case ProviderRoute53:
		if g.HostedZoneID == "" || g.RecordName == "" || g.SetIdentifier == "" {
			return 0, invalidf("route53 traffic guard needs hostedZoneId, recordName and setIdentifier (got %q, %q, %q)",
				g.HostedZoneID, g.RecordName, g.SetIdentifier)
		}
		api, err := w.clients.Route53(ctx)
		if err != nil {
			return 0, err
		}
		recs, err := listRecords(ctx, api, g.HostedZoneID, g.RecordName, "")
		if err != nil {
			return 0, err
		}
		return recordShare(recs, g.SetIdentifier), nil
	case ProviderCloudFront:
		if g.DistributionID == "" || g.OriginID == "" {
			return 0, invalidf("cloudfront traffic guard needs distributionId and originId (got %q, %q)", g.DistributionID, g.OriginID)
		}
		api, err := w.clients.CloudFront(ctx)
		if err != nil {
			return 0, err
		}
		cfg, _, err := getDistributionConfig(ctx, api, g.DistributionID)
		if err != nil {
			return 0, err
		}
		if behaviorTargets(cfg, g.OriginID) {
			return 100, nil
		}
		return 0, nil
	}
	return 0, unknownProvider(g.Provider)
}

// recordShare is the traffic share of the record with set identifier id
// among the records of its name and type.
func recordShare(recs []r53types.ResourceRecordSet, id string) int {
	rec := findSet(recs, id)
	if rec == nil {
		return 0
	}
	if rec.Weight == nil {
		// Another routing policy (failover, latency, ...): assume it serves.
		return 100
	}
	var total int64
	n := 0
	for _, r := range recs {
		if r.Type == rec.Type && r.Weight != nil {
			total += *r.Weight
			n++
		}
	}
	if total == 0 {
		// Route53 splits evenly between records that all weigh 0.
		return 100 / n
	}
	return percent(aws.ToInt64(rec.Weight), total)
}
