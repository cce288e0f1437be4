package fakeworld

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/failures"
)

// The aws-auth activities of the fake world: blue's aws-auth (blueAWSAuth)
// maps blue's node role, a CI role and a user. A green has no aws-auth
// (EKS maps its node groups with access entries) until CopyAWSAuth creates
// one with blue's other mappings, remembering which migration carried each;
// ReadAWSAuth reads what is there.

// blueAWSAuth is blue's kube-system/aws-auth, mapRoles then mapUsers.
var blueAWSAuth = []kube.AWSAuthMapping{
	{Kind: kube.AWSAuthRole, ARN: "arn:aws:iam::123456789012:role/eks-node", Username: "system:node:{{EC2PrivateDNSName}}", Groups: []string{"system:bootstrappers", "system:nodes"}},
	{Kind: kube.AWSAuthRole, ARN: "arn:aws:iam::123456789012:role/ci-deploy", Username: "ci", Groups: []string{"system:masters"}},
	{Kind: kube.AWSAuthUser, ARN: "arn:aws:iam::123456789012:user/alice", Username: "alice", Groups: []string{"view"}},
}

// fakeAWSAuth is the aws-auth of one green.
type fakeAWSAuth struct {
	mappings  []kube.AWSAuthMapping
	carriedBy map[string]string // kind and lower-case ARN -> migration
}

// greenAWSAuth holds each world's greens' aws-auth by cluster name.
var greenAWSAuth = struct {
	sync.Mutex
	of map[*World]map[string]*fakeAWSAuth
}{of: map[*World]map[string]*fakeAWSAuth{}}

func awsAuthKey(m kube.AWSAuthMapping) string { return m.Kind + " " + strings.ToLower(m.ARN) }

func fakeNodeMapping(m kube.AWSAuthMapping) bool {
	return slices.Contains(m.Groups, "system:bootstrappers") || slices.Contains(m.Groups, "system:nodes") || slices.Contains(m.Groups, "system:node-proxier")
}

func sameAWSAuthMapping(a, b kube.AWSAuthMapping) bool {
	ga, gb := slices.Clone(a.Groups), slices.Clone(b.Groups)
	slices.Sort(ga)
	slices.Sort(gb)
	return a.Username == b.Username && slices.Equal(ga, gb)
}

// CopyAWSAuth implements the kube activity: blue's mappings other than
// node roles are added to green's aws-auth unless green maps the ARN
// (Present when the same, a Conflict when not); what this migration added
// before is reported Added again.
func (a *Activities) CopyAWSAuth(_ context.Context, in kube.CopyAWSAuthInput) (kube.CopyAWSAuthResult, error) {
	w := a.w
	if err := w.record("CopyAWSAuth", in); err != nil {
		return kube.CopyAWSAuthResult{}, err
	}
	if strings.TrimSpace(in.Migration) == "" {
		return kube.CopyAWSAuthResult{}, failures.New(failures.Validation, "migration: required")
	}
	greenAWSAuth.Lock()
	defer greenAWSAuth.Unlock()
	if greenAWSAuth.of[w] == nil {
		greenAWSAuth.of[w] = map[string]*fakeAWSAuth{}
	}
	green := greenAWSAuth.of[w][in.Green.Name]
	res := kube.CopyAWSAuthResult{Found: true}
	for _, m := range blueAWSAuth {
		if fakeNodeMapping(m) {
			res.Skipped = append(res.Skipped, m)
			continue
		}
		if green == nil {
			green = &fakeAWSAuth{carriedBy: map[string]string{}}
			greenAWSAuth.of[w][in.Green.Name] = green
		}
		i := slices.IndexFunc(green.mappings, func(g kube.AWSAuthMapping) bool { return awsAuthKey(g) == awsAuthKey(m) })
		switch {
		case i < 0:
			green.mappings = append(green.mappings, m)
			green.carriedBy[awsAuthKey(m)] = in.Migration
			res.Added = append(res.Added, m)
		case !sameAWSAuthMapping(green.mappings[i], m):
			res.Conflicts = append(res.Conflicts, m)
		case green.carriedBy[awsAuthKey(m)] == in.Migration:
			res.Added = append(res.Added, m)
		default:
			res.Present = append(res.Present, m)
		}
	}
	return res, nil
}

// ReadAWSAuth implements the kube activity: a green's aws-auth as
// CopyAWSAuth left it (none before), blue's for any other cluster.
func (a *Activities) ReadAWSAuth(_ context.Context, in kube.ReadAWSAuthInput) (kube.AWSAuthMappings, error) {
	w := a.w
	if err := w.record("ReadAWSAuth", in); err != nil {
		return kube.AWSAuthMappings{}, err
	}
	greenAWSAuth.Lock()
	green := greenAWSAuth.of[w][in.Cluster.Name]
	var have []kube.AWSAuthMapping
	if green != nil {
		have = slices.Clone(green.mappings)
	}
	greenAWSAuth.Unlock()
	if green != nil {
		return kube.AWSAuthMappings{Found: true, Mappings: have}, nil
	}
	w.mu.Lock()
	isGreen := w.greenDesc != nil && w.greenDesc.Name == in.Cluster.Name
	w.mu.Unlock()
	if isGreen {
		return kube.AWSAuthMappings{}, nil
	}
	return kube.AWSAuthMappings{Found: true, Mappings: slices.Clone(blueAWSAuth)}, nil
}
