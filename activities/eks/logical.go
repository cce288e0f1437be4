package eks

// Logical clusters: a fleet names "shop-prod", not the physical cluster
// that is shop-prod this quarter. Every green cutover builds for a
// logical cluster is tagged with its name and a generation, so the next
// quarter finds it again after blue was retired.

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
)

// ResolveLogicalInput names a logical cluster in a region.
type ResolveLogicalInput struct {
	Region string `json:"region"`
	// Logical is the logical cluster's name (tag cutover.dev/logical-cluster).
	Logical string `json:"logical"`
	// Original is the physical cluster that is the logical cluster before
	// cutover ever built one for it (untagged); default Logical.
	Original string `json:"original,omitempty"`
}

// LogicalCluster is the physical cluster a logical one resolves to.
type LogicalCluster struct {
	// Cluster is the physical cluster's name.
	Cluster string `json:"cluster"`
	// Generation is its cutover.dev/generation (0 for the untagged original).
	Generation int `json:"generation"`
	// Version is its Kubernetes version.
	Version string `json:"version"`
	// Names are every EKS cluster name in the region (sorted), so the
	// workflow can name green without colliding.
	Names []string `json:"names"`
}

// ResolveLogicalCluster finds the one ACTIVE cluster of the region tagged
// cutover.dev/logical-cluster=Logical; with none, the untagged original
// (Original, or a cluster named Logical). Two tagged ACTIVE clusters are a
// PreflightBlocked error naming both (a person must retire one); no
// candidate at all is NotFound. It only reads (ListClusters, then
// DescribeCluster of each, heartbeating).
func (a *Activities) ResolveLogicalCluster(ctx context.Context, in ResolveLogicalInput) (LogicalCluster, error) {
	if in.Logical == "" {
		return LogicalCluster{}, invalidf("resolve logical cluster: name is empty")
	}
	original := in.Original
	if original == "" {
		original = in.Logical
	}
	api, err := a.eksClient(ctx, in.Region)
	if err != nil {
		return LogicalCluster{}, err
	}
	var names []string
	p := awseks.NewListClustersPaginator(api, &awseks.ListClustersInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return LogicalCluster{}, awsError(err, "list EKS clusters in %s", in.Region)
		}
		names = append(names, out.Clusters...)
	}
	sort.Strings(names)
	var tagged []LogicalCluster
	var orig *LogicalCluster
	for i, name := range names {
		activitylog.Heartbeat(ctx, Progress{Step: "logical-cluster " + in.Logical, Cluster: name, Polls: i + 1})
		out, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(name)})
		if err != nil {
			if failures.Is(awsError(err, ""), failures.NotFound) {
				continue // deleted since the list
			}
			return LogicalCluster{}, awsError(err, "describe cluster %s in %s", name, in.Region)
		}
		c := out.Cluster
		lc := LogicalCluster{Cluster: name, Version: aws.ToString(c.Version), Names: names}
		switch {
		case c.Tags[TagLogicalCluster] == in.Logical && c.Status == ekstypes.ClusterStatusActive:
			lc.Generation, _ = strconv.Atoi(c.Tags[TagGeneration])
			tagged = append(tagged, lc)
		case name == original && c.Tags[TagLogicalCluster] == "":
			o := lc
			orig = &o
		}
	}
	switch {
	case len(tagged) == 1:
		logger(ctx).Info("Resolved logical cluster", "logical", in.Logical, "cluster", tagged[0].Cluster, "generation", tagged[0].Generation)
		return tagged[0], nil
	case len(tagged) > 1:
		var cands []string
		for _, t := range tagged {
			cands = append(cands, fmt.Sprintf("%s (generation %d, %s)", t.Cluster, t.Generation, t.Version))
		}
		return LogicalCluster{}, failures.New(failures.PreflightBlocked, "logical cluster %s: %d ACTIVE clusters in %s are tagged %s=%s: %s; retire the one that no longer serves (or remove its tag) before the next migration",
			in.Logical, len(tagged), in.Region, TagLogicalCluster, in.Logical, strings.Join(cands, ", "))
	case orig != nil:
		logger(ctx).Info("Resolved logical cluster to its untagged original", "logical", in.Logical, "cluster", orig.Cluster)
		return *orig, nil
	}
	return LogicalCluster{}, failures.New(failures.NotFound, "logical cluster %s: no ACTIVE cluster in %s is tagged %s=%s, and there is no untagged cluster %s", in.Logical, in.Region, TagLogicalCluster, in.Logical, original)
}

// TakeOverInput hands a logical cluster from blue to green.
type TakeOverInput struct {
	Region  string `json:"region"`
	Logical string `json:"logical"`
	Blue    string `json:"blue"`
	Green   string `json:"green"`
}

// TakeOverResult is green's generation.
type TakeOverResult struct {
	Generation int `json:"generation"`
}

// TakeOverLogicalCluster makes green the logical cluster: it tags green
// cutover.dev/logical-cluster=Logical with the generation one above
// blue's, then takes the tags off blue (if it still exists), so exactly
// one ACTIVE cluster carries the name whether blue is deleted or kept.
// Green's tags come first: a crash between the two leaves two tagged
// clusters, which resolution refuses (never none), and a retry finishes
// the job. Idempotent.
func (a *Activities) TakeOverLogicalCluster(ctx context.Context, in TakeOverInput) (TakeOverResult, error) {
	if in.Logical == "" || in.Blue == "" || in.Green == "" || in.Blue == in.Green {
		return TakeOverResult{}, invalidf("take over logical cluster %q: two different clusters are required (blue %q, green %q)", in.Logical, in.Blue, in.Green)
	}
	api, err := a.eksClient(ctx, in.Region)
	if err != nil {
		return TakeOverResult{}, err
	}
	green, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(in.Green)})
	if err != nil {
		return TakeOverResult{}, awsError(err, "describe cluster %s in %s", in.Green, in.Region)
	}
	blue, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(in.Blue)})
	blueGone := err != nil && failures.Is(awsError(err, ""), failures.NotFound)
	if err != nil && !blueGone {
		return TakeOverResult{}, awsError(err, "describe cluster %s in %s", in.Blue, in.Region)
	}
	gen := 0
	if g := green.Cluster.Tags; g[TagLogicalCluster] == in.Logical {
		gen, _ = strconv.Atoi(g[TagGeneration])
	}
	if gen == 0 {
		prev := 0
		if !blueGone && blue.Cluster.Tags[TagLogicalCluster] == in.Logical {
			prev, _ = strconv.Atoi(blue.Cluster.Tags[TagGeneration])
		}
		gen = prev + 1
		activitylog.Heartbeat(ctx, Progress{Step: "logical-cluster tag", Cluster: in.Green})
		if _, err := api.TagResource(ctx, &awseks.TagResourceInput{ResourceArn: green.Cluster.Arn,
			Tags: map[string]string{TagLogicalCluster: in.Logical, TagGeneration: strconv.Itoa(gen)}}); err != nil {
			return TakeOverResult{}, awsError(err, "tag cluster %s as logical cluster %s", in.Green, in.Logical)
		}
	}
	if !blueGone && blue.Cluster.Tags[TagLogicalCluster] != "" {
		activitylog.Heartbeat(ctx, Progress{Step: "logical-cluster untag", Cluster: in.Blue})
		if _, err := api.UntagResource(ctx, &awseks.UntagResourceInput{ResourceArn: blue.Cluster.Arn, TagKeys: []string{TagLogicalCluster, TagGeneration}}); err != nil {
			if !failures.Is(awsError(err, ""), failures.NotFound) {
				return TakeOverResult{}, awsError(err, "untag cluster %s", in.Blue)
			}
		}
	}
	logger(ctx).Info("Green is now the logical cluster", "logical", in.Logical, "blue", in.Blue, "green", in.Green, "generation", gen)
	return TakeOverResult{Generation: gen}, nil
}

// FreeClusterName is base, or base with the first suffix "-b", "-c", ...
// that names no cluster in names: a green never takes the name of an
// existing cluster (say a green kept by a rolled-back run).
func FreeClusterName(base string, names []string) string {
	taken := map[string]bool{}
	for _, n := range names {
		taken[n] = true
	}
	if !taken[base] {
		return base
	}
	for c := 'b'; c <= 'z'; c++ {
		if n := base + "-" + string(c); !taken[n] {
			return n
		}
	}
	return base + "-" + strconv.Itoa(len(names))
}
