package eks

import (
	"context"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/spec"
)

// OfferedVersionsInput names the region whose EKS versions are read.
type OfferedVersionsInput struct {
	Region string `json:"region"`
}

// OfferedVersion is one Kubernetes version EKS offers for new clusters and
// upgrades in a region.
type OfferedVersion struct {
	Version string `json:"version"`
	// Status is STANDARD_SUPPORT or EXTENDED_SUPPORT.
	Status string `json:"status"`
	// EndOfStandardSupport is RFC 3339, when EKS says.
	EndOfStandardSupport string `json:"endOfStandardSupport,omitempty"`
}

// OfferedVersions is what DescribeClusterVersions offers, oldest first.
type OfferedVersions struct {
	Region   string           `json:"region"`
	Versions []OfferedVersion `json:"versions"`
}

// Offers reports whether version is offered.
func (o OfferedVersions) Offers(version string) bool {
	for _, v := range o.Versions {
		if v.Version == version {
			return true
		}
	}
	return false
}

// Newest is the newest offered version ("" when none).
func (o OfferedVersions) Newest() string {
	if len(o.Versions) == 0 {
		return ""
	}
	return o.Versions[len(o.Versions)-1].Version
}

// Names lists the offered versions, oldest first.
func (o OfferedVersions) Names() []string {
	out := make([]string, len(o.Versions))
	for i, v := range o.Versions {
		out[i] = v.Version
	}
	return out
}

// ListOfferedVersions reads the Kubernetes versions EKS offers in a region
// (DescribeClusterVersions without includeAll: unsupported versions are
// left out), so a fleet checks each member's next version before a wave
// starts. It only reads.
func (a *Activities) ListOfferedVersions(ctx context.Context, in OfferedVersionsInput) (OfferedVersions, error) {
	api, err := a.eksClient(ctx, in.Region)
	if err != nil {
		return OfferedVersions{}, err
	}
	out := OfferedVersions{Region: in.Region, Versions: []OfferedVersion{}}
	pg := awseks.NewDescribeClusterVersionsPaginator(api, &awseks.DescribeClusterVersionsInput{})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return out, awsError(err, "describe EKS cluster versions in %s", in.Region)
		}
		for _, v := range page.ClusterVersions {
			status := string(v.VersionStatus)
			if status == "" {
				status = string(v.Status)
			}
			if ekstypes.VersionStatus(status) == ekstypes.VersionStatusUnsupported {
				continue
			}
			o := OfferedVersion{Version: aws.ToString(v.ClusterVersion), Status: status}
			if v.EndOfStandardSupportDate != nil {
				o.EndOfStandardSupport = v.EndOfStandardSupportDate.UTC().Format(time.RFC3339)
			}
			out.Versions = append(out.Versions, o)
		}
	}
	sort.Slice(out.Versions, func(i, j int) bool {
		a, _ := spec.MinorVersion(out.Versions[i].Version)
		b, _ := spec.MinorVersion(out.Versions[j].Version)
		return a < b
	})
	logger(ctx).Info("Read offered EKS versions", "region", in.Region, "versions", out.Names())
	return out, nil
}
