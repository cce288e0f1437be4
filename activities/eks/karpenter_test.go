package eks

import (
	"context"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// fakeEC2 is an in-memory EC2 for unit tests: tags of existing resources
// (DescribeTags honours the resource-id and key filters and pages), launch
// templates with their versions, and AMIs by ID.
type fakeEC2 struct {
	mu    sync.Mutex
	calls []string

	// exists: subnets and security groups; tags on others are refused
	// with their NotFound code.
	exists map[string]bool
	tags   map[string]map[string]string
	// tagPage is the page size of DescribeTags (0: one page).
	tagPage int

	// templates: launch template ID -> versions (numbered from 1).
	templates map[string][]ec2types.LaunchTemplateVersion
	images    map[string]string // AMI ID -> name
	// free: subnet ID -> AvailableIpAddressCount (DescribeSubnets).
	free map[string]int32

	// errs: op name -> errors returned by the next calls, in order.
	errs map[string][]error

	createTags []*ec2.CreateTagsInput
	deleteTags []*ec2.DeleteTagsInput
	deleteLTV  []*ec2.DeleteLaunchTemplateVersionsInput
}

func newFakeEC2() *fakeEC2 {
	return &fakeEC2{exists: map[string]bool{}, tags: map[string]map[string]string{},
		templates: map[string][]ec2types.LaunchTemplateVersion{}, images: map[string]string{}, errs: map[string][]error{}, free: map[string]int32{}}
}

func apiError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: code}
}

func (f *fakeEC2) call(op string) error {
	f.calls = append(f.calls, op)
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}
	return nil
}

func (f *fakeEC2) opCalls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

// resource adds an existing subnet or security group, tagged with
// karpenter.sh/discovery=value when value is not empty.
func (f *fakeEC2) resource(id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exists[id] = true
	if value != "" {
		f.tags[id] = map[string]string{KarpenterDiscoveryKey: value, "Name": id}
	}
}

func (f *fakeEC2) discovery(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tags[id][KarpenterDiscoveryKey]
}

func (f *fakeEC2) missing(ids []string) error {
	for _, id := range ids {
		if !f.exists[id] {
			if strings.HasPrefix(id, "sg-") {
				return apiError("InvalidGroup.NotFound")
			}
			return apiError("InvalidSubnetID.NotFound")
		}
	}
	return nil
}

func (f *fakeEC2) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	if err := f.call("DescribeSubnets"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ec2.DescribeSubnetsOutput{}
	for _, id := range in.SubnetIds {
		n, ok := f.free[id]
		if !ok {
			return nil, apiError("InvalidSubnetID.NotFound")
		}
		out.Subnets = append(out.Subnets, ec2types.Subnet{SubnetId: aws.String(id), AvailableIpAddressCount: aws.Int32(n)})
	}
	return out, nil
}

func (f *fakeEC2) DescribeTags(_ context.Context, in *ec2.DescribeTagsInput, _ ...func(*ec2.Options)) (*ec2.DescribeTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeTags"); err != nil {
		return nil, err
	}
	var ids, keys []string
	for _, flt := range in.Filters {
		switch aws.ToString(flt.Name) {
		case "resource-id":
			ids = flt.Values
		case "key":
			keys = flt.Values
		}
	}
	var all []ec2types.TagDescription
	for id, tags := range f.tags {
		if ids != nil && !slices.Contains(ids, id) {
			continue
		}
		for k, v := range tags {
			if keys == nil || slices.Contains(keys, k) {
				all = append(all, ec2types.TagDescription{ResourceId: aws.String(id), Key: aws.String(k), Value: aws.String(v)})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return aws.ToString(all[i].ResourceId) < aws.ToString(all[j].ResourceId) })
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	out := &ec2.DescribeTagsOutput{Tags: all[start:]}
	if f.tagPage > 0 && len(all)-start > f.tagPage {
		out.Tags = all[start : start+f.tagPage]
		out.NextToken = aws.String(strconv.Itoa(start + f.tagPage))
	}
	return out, nil
}

func (f *fakeEC2) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createTags = append(f.createTags, in)
	if err := f.call("CreateTags"); err != nil {
		return nil, err
	}
	if err := f.missing(in.Resources); err != nil {
		return nil, err
	}
	for _, id := range in.Resources {
		if f.tags[id] == nil {
			f.tags[id] = map[string]string{}
		}
		for _, t := range in.Tags {
			f.tags[id][aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return &ec2.CreateTagsOutput{}, nil
}

func (f *fakeEC2) DeleteTags(_ context.Context, in *ec2.DeleteTagsInput, _ ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleteTags = append(f.deleteTags, in)
	if err := f.call("DeleteTags"); err != nil {
		return nil, err
	}
	if err := f.missing(in.Resources); err != nil {
		return nil, err
	}
	for _, id := range in.Resources {
		for _, t := range in.Tags {
			k := aws.ToString(t.Key)
			// EC2 deletes a tag named with a value only when it has that value.
			if have, ok := f.tags[id][k]; ok && (t.Value == nil || aws.ToString(t.Value) == have) {
				delete(f.tags[id], k)
			}
		}
	}
	return &ec2.DeleteTagsOutput{}, nil
}

// template adds a launch template whose versions pin the given AMIs ("" for
// none), described as given; version 1 is the default.
func (f *fakeEC2) template(id string, versions ...[2]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, v := range versions {
		data := &ec2types.ResponseLaunchTemplateData{}
		if v[0] != "" {
			data.ImageId = aws.String(v[0])
		}
		f.templates[id] = append(f.templates[id], ec2types.LaunchTemplateVersion{
			LaunchTemplateId: aws.String(id), LaunchTemplateName: aws.String(id + "-name"),
			VersionNumber: aws.Int64(int64(i + 1)), DefaultVersion: aws.Bool(i == 0),
			VersionDescription: aws.String(v[1]), LaunchTemplateData: data,
		})
	}
}

func (f *fakeEC2) versionCount(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.templates[id])
}

func (f *fakeEC2) DescribeLaunchTemplateVersions(_ context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeLaunchTemplateVersions"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.LaunchTemplateId)
	if id == "" {
		for tid, vs := range f.templates {
			if len(vs) > 0 && aws.ToString(vs[0].LaunchTemplateName) == aws.ToString(in.LaunchTemplateName) {
				id = tid
			}
		}
	}
	vs, ok := f.templates[id]
	if !ok {
		return nil, apiError("InvalidLaunchTemplateId.NotFound")
	}
	if len(in.Versions) == 0 {
		return &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: slices.Clone(vs)}, nil
	}
	var out []ec2types.LaunchTemplateVersion
	for _, want := range in.Versions {
		for _, v := range vs {
			n := strconv.FormatInt(aws.ToInt64(v.VersionNumber), 10)
			if want == n || (want == "$Default" && aws.ToBool(v.DefaultVersion)) || (want == "$Latest" && v.VersionNumber == vs[len(vs)-1].VersionNumber) {
				out = append(out, v)
			}
		}
	}
	if len(out) == 0 {
		return nil, apiError("InvalidLaunchTemplateId.VersionNotFound")
	}
	return &ec2.DescribeLaunchTemplateVersionsOutput{LaunchTemplateVersions: out}, nil
}

func (f *fakeEC2) CreateLaunchTemplateVersion(_ context.Context, in *ec2.CreateLaunchTemplateVersionInput, _ ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreateLaunchTemplateVersion"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.LaunchTemplateId)
	vs, ok := f.templates[id]
	if !ok {
		return nil, apiError("InvalidLaunchTemplateId.NotFound")
	}
	n := int64(1)
	if len(vs) > 0 {
		n = aws.ToInt64(vs[len(vs)-1].VersionNumber) + 1
	}
	v := ec2types.LaunchTemplateVersion{LaunchTemplateId: aws.String(id), VersionNumber: aws.Int64(n), DefaultVersion: aws.Bool(false),
		VersionDescription: in.VersionDescription, LaunchTemplateData: &ec2types.ResponseLaunchTemplateData{ImageId: in.LaunchTemplateData.ImageId, UserData: in.LaunchTemplateData.UserData}}
	f.templates[id] = append(vs, v)
	return &ec2.CreateLaunchTemplateVersionOutput{LaunchTemplateVersion: &v}, nil
}

func (f *fakeEC2) DeleteLaunchTemplateVersions(_ context.Context, in *ec2.DeleteLaunchTemplateVersionsInput, _ ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateVersionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleteLTV = append(f.deleteLTV, in)
	if err := f.call("DeleteLaunchTemplateVersions"); err != nil {
		return nil, err
	}
	id := aws.ToString(in.LaunchTemplateId)
	out := &ec2.DeleteLaunchTemplateVersionsOutput{}
	for _, want := range in.Versions {
		i := slices.IndexFunc(f.templates[id], func(v ec2types.LaunchTemplateVersion) bool {
			return strconv.FormatInt(aws.ToInt64(v.VersionNumber), 10) == want
		})
		n, _ := strconv.ParseInt(want, 10, 64)
		switch {
		case i < 0:
			out.UnsuccessfullyDeletedLaunchTemplateVersions = append(out.UnsuccessfullyDeletedLaunchTemplateVersions, ec2types.DeleteLaunchTemplateVersionsResponseErrorItem{
				LaunchTemplateId: in.LaunchTemplateId, VersionNumber: aws.Int64(n),
				ResponseError: &ec2types.ResponseError{Code: ec2types.LaunchTemplateErrorCodeLaunchTemplateVersionDoesNotExist, Message: aws.String("no such version")}})
		case aws.ToBool(f.templates[id][i].DefaultVersion):
			out.UnsuccessfullyDeletedLaunchTemplateVersions = append(out.UnsuccessfullyDeletedLaunchTemplateVersions, ec2types.DeleteLaunchTemplateVersionsResponseErrorItem{
				LaunchTemplateId: in.LaunchTemplateId, VersionNumber: aws.Int64(n),
				ResponseError: &ec2types.ResponseError{Code: "launchTemplateVersionIsDefault", Message: aws.String("the default version cannot be deleted")}})
		default:
			f.templates[id] = slices.Delete(f.templates[id], i, i+1)
			out.SuccessfullyDeletedLaunchTemplateVersions = append(out.SuccessfullyDeletedLaunchTemplateVersions, ec2types.DeleteLaunchTemplateVersionsResponseSuccessItem{
				LaunchTemplateId: in.LaunchTemplateId, VersionNumber: aws.Int64(n)})
		}
	}
	return out, nil
}

func (f *fakeEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeImages"); err != nil {
		return nil, err
	}
	out := &ec2.DescribeImagesOutput{}
	for _, id := range in.ImageIds {
		name, ok := f.images[id]
		if !ok {
			return nil, apiError("InvalidAMIID.NotFound")
		}
		out.Images = append(out.Images, ec2types.Image{ImageId: aws.String(id), Name: aws.String(name)})
	}
	return out, nil
}

// fakeEC2Clients are fakeClients that also give the fake EC2.
type fakeEC2Clients struct {
	fakeClients
	ec2 EC2API
}

func (c fakeEC2Clients) EC2(context.Context, string) (EC2API, error) { return c.ec2, nil }

func newFakeEC2Activities(f *fakeEKS, s *fakeSSM, e *fakeEC2) *Activities {
	if s == nil {
		s = &fakeSSM{params: map[string]string{}}
	}
	return New(fakeEC2Clients{fakeClients: fakeClients{eks: f, ssm: s}, ec2: e}, nil, WithPollInterval(1))
}

// karpenterWorld: blue uses subnet-a, subnet-b, sg-blue and its cluster
// security group sg-bluecluster, all tagged karpenter.sh/discovery=blue;
// green (cluster security group sg-greencluster) exists.
func karpenterWorld() (*fakeEKS, *fakeEC2) {
	f := newFakeEKS()
	f.clusters["blue"] = &ekstypes.Cluster{Name: aws.String("blue"), Status: ekstypes.ClusterStatusActive,
		ResourcesVpcConfig: &ekstypes.VpcConfigResponse{SubnetIds: []string{"subnet-a", "subnet-b"}, SecurityGroupIds: []string{"sg-blue"}, ClusterSecurityGroupId: aws.String("sg-bluecluster")}}
	f.clusters["green"] = &ekstypes.Cluster{Name: aws.String("green"), Status: ekstypes.ClusterStatusActive,
		ResourcesVpcConfig: &ekstypes.VpcConfigResponse{SubnetIds: []string{"subnet-a", "subnet-c"}, ClusterSecurityGroupId: aws.String("sg-greencluster")}}
	e := newFakeEC2()
	for _, id := range []string{"subnet-a", "subnet-b", "sg-blue", "sg-bluecluster"} {
		e.resource(id, "blue")
	}
	e.resource("subnet-c", "")
	e.resource("sg-greencluster", "")
	return f, e
}

func karpenterInput() KarpenterDiscoveryInput {
	return KarpenterDiscoveryInput{
		Blue: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Green: clusters.Ref{Name: "green", Region: "eu-west-1"},
		SubnetIDs: []string{"subnet-a", "subnet-c", "subnet-a"}, SecurityGroupIDs: []string{"sg-blue", "sg-team", "sg-adopted"}, Migration: "m1",
	}
}

func TestEnsureKarpenterDiscovery(t *testing.T) {
	f, e := karpenterWorld()
	e.resource("sg-team", "team-x")
	e.resource("sg-adopted", "green")
	e.tagPage = 2
	a := newFakeEC2Activities(f, nil, e)
	env := newActivityEnv(t, a)
	want := KarpenterDiscoveryResult{
		BlueValue: "blue",
		Tagged: []TaggedResource{{ID: "subnet-c", Kind: KindSubnet, Value: "green"}, {ID: "sg-adopted", Kind: KindSecurityGroup, Value: "green"},
			{ID: "sg-greencluster", Kind: KindSecurityGroup, Value: "green"}},
		Shared:  []TaggedResource{{ID: "subnet-a", Kind: KindSubnet, Value: "blue"}, {ID: "sg-blue", Kind: KindSecurityGroup, Value: "blue"}},
		Foreign: []TaggedResource{{ID: "sg-team", Kind: KindSecurityGroup, Value: "team-x"}},
	}
	res, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, karpenterInput())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result =\n%+v\nwant\n%+v", res, want)
	}
	if len(e.createTags) != 1 || !reflect.DeepEqual(e.createTags[0].Resources, []string{"subnet-c", "sg-greencluster"}) ||
		aws.ToString(e.createTags[0].Tags[0].Key) != KarpenterDiscoveryKey || aws.ToString(e.createTags[0].Tags[0].Value) != "green" {
		t.Fatalf("CreateTags = %+v", e.createTags)
	}
	for id, v := range map[string]string{"subnet-a": "blue", "subnet-b": "blue", "sg-blue": "blue", "subnet-c": "green", "sg-greencluster": "green", "sg-team": "team-x"} {
		if got := e.discovery(id); got != v {
			t.Errorf("%s carries %q, want %q", id, got, v)
		}
	}

	// A retry (the result was lost) tags nothing more and reports the same.
	again, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, karpenterInput())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, want) || len(e.createTags) != 1 {
		t.Fatalf("retry: result %+v, %d CreateTags", again, len(e.createTags))
	}
}

func TestEnsureKarpenterDiscoveryBlueUntagged(t *testing.T) {
	f, e := karpenterWorld()
	e.tags = map[string]map[string]string{"subnet-a": {"Name": "a"}}
	a := newFakeEC2Activities(f, nil, e)
	env := newActivityEnv(t, a)
	res, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, karpenterInput())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, KarpenterDiscoveryResult{}) || e.opCalls("CreateTags") != 0 || e.opCalls("DescribeTags") != 1 {
		t.Fatalf("result %+v, calls %v; want nothing done after reading blue", res, e.calls)
	}
}

func TestEnsureKarpenterDiscoveryBlueValue(t *testing.T) {
	// Blue's resources carry a value that is not its name: the most common one.
	f, e := karpenterWorld()
	for _, id := range []string{"subnet-a", "subnet-b", "sg-blue"} {
		e.resource(id, "prod")
	}
	e.resource("sg-bluecluster", "other")
	a := newFakeEC2Activities(f, nil, e)
	env := newActivityEnv(t, a)
	in := karpenterInput()
	in.SecurityGroupIDs = nil
	res, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.BlueValue != "prod" || !reflect.DeepEqual(res.Shared, []TaggedResource{{ID: "subnet-a", Kind: KindSubnet, Value: "prod"}}) {
		t.Fatalf("result %+v, want blue's value prod shared on subnet-a", res)
	}
}

func TestEnsureKarpenterDiscoveryErrors(t *testing.T) {
	t.Run("invalid input", func(t *testing.T) {
		f, e := karpenterWorld()
		a := newFakeEC2Activities(f, nil, e)
		env := newActivityEnv(t, a)
		for name, in := range map[string]KarpenterDiscoveryInput{
			"no green": {Blue: clusters.Ref{Name: "blue", Region: "r"}},
			"same":     {Blue: clusters.Ref{Name: "blue", Region: "r"}, Green: clusters.Ref{Name: "blue", Region: "r"}},
		} {
			_, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, in)
			if failures.TypeOf(err) != failures.InvalidParameter {
				t.Errorf("%s: err = %v, want InvalidParameter", name, err)
			}
		}
	})
	t.Run("access denied to tag", func(t *testing.T) {
		f, e := karpenterWorld()
		e.errs["CreateTags"] = []error{apiError("UnauthorizedOperation")}
		a := newFakeEC2Activities(f, nil, e)
		env := newActivityEnv(t, a)
		_, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, karpenterInput())
		wantErrType(t, err, failures.AccessDenied, true)
	})
	t.Run("a green subnet that does not exist", func(t *testing.T) {
		f, e := karpenterWorld()
		a := newFakeEC2Activities(f, nil, e)
		env := newActivityEnv(t, a)
		in := karpenterInput()
		in.SubnetIDs = append(in.SubnetIDs, "subnet-gone")
		_, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, in)
		wantErrType(t, err, failures.NotFound, true)
	})
	t.Run("throttled reads are retryable", func(t *testing.T) {
		f, e := karpenterWorld()
		e.errs["DescribeTags"] = []error{apiError("RequestLimitExceeded")}
		a := newFakeEC2Activities(f, nil, e)
		env := newActivityEnv(t, a)
		_, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, karpenterInput())
		wantErrType(t, err, failures.Throttled, false)
	})
	t.Run("green unknown", func(t *testing.T) {
		f, e := karpenterWorld()
		delete(f.clusters, "green")
		a := newFakeEC2Activities(f, nil, e)
		env := newActivityEnv(t, a)
		_, err := run[KarpenterDiscoveryResult](t, env, a.EnsureKarpenterDiscovery, karpenterInput())
		wantErrType(t, err, failures.NotFound, true)
	})
}

func TestRemoveKarpenterDiscovery(t *testing.T) {
	_, e := karpenterWorld()
	e.resource("subnet-c", "green")
	e.resource("sg-greencluster", "green")
	e.resource("sg-changed", "someone-else")
	e.resource("sg-untagged", "")
	a := newFakeEC2Activities(newFakeEKS(), nil, e)
	env := newActivityEnv(t, a)
	in := RemoveKarpenterDiscoveryInput{Cluster: clusters.Ref{Name: "green", Region: "eu-west-1"}, Value: "green", Resources: []TaggedResource{
		{ID: "subnet-c", Kind: KindSubnet, Value: "green"}, {ID: "sg-greencluster", Kind: KindSecurityGroup, Value: "green"},
		{ID: "sg-changed", Kind: KindSecurityGroup, Value: "green"}, {ID: "sg-untagged", Kind: KindSecurityGroup, Value: "green"},
		{ID: "sg-deleted", Kind: KindSecurityGroup, Value: "green"},
	}}
	res, err := run[RemoveKarpenterDiscoveryResult](t, env, a.RemoveKarpenterDiscovery, in)
	if err != nil {
		t.Fatal(err)
	}
	want := RemoveKarpenterDiscoveryResult{Removed: []string{"subnet-c", "sg-greencluster"}, Gone: []string{"sg-untagged", "sg-deleted"}, Kept: []string{"sg-changed"}}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	if e.discovery("subnet-c") != "" || e.discovery("sg-changed") != "someone-else" || e.tags["subnet-c"]["Name"] != "subnet-c" {
		t.Fatalf("tags after remove: %v", e.tags)
	}
	for _, d := range e.deleteTags {
		if aws.ToString(d.Tags[0].Value) != "green" || aws.ToString(d.Tags[0].Key) != KarpenterDiscoveryKey {
			t.Fatalf("DeleteTags without the value: %+v", d.Tags)
		}
	}
	// Again: everything is gone, nothing deleted.
	n := len(e.deleteTags)
	again, err := run[RemoveKarpenterDiscoveryResult](t, env, a.RemoveKarpenterDiscovery, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Removed) != 0 || len(again.Gone) != 4 || len(e.deleteTags) != n {
		t.Fatalf("second remove = %+v (%d deletes)", again, len(e.deleteTags)-n)
	}
}

func TestRemoveKarpenterDiscoveryRace(t *testing.T) {
	// The tag changes between the read and the delete: EC2's delete names
	// the value, so the new value stays.
	_, e := karpenterWorld()
	e.resource("subnet-c", "green")
	a := newFakeEC2Activities(newFakeEKS(), nil, e)
	env := newActivityEnv(t, a)
	racer := &racingEC2{fakeEC2: e, before: func() { e.tags["subnet-c"][KarpenterDiscoveryKey] = "new-owner" }}
	a.clients = fakeEC2Clients{fakeClients: a.clients.(fakeEC2Clients).fakeClients, ec2: racer}
	if _, err := run[RemoveKarpenterDiscoveryResult](t, env, a.RemoveKarpenterDiscovery, RemoveKarpenterDiscoveryInput{
		Cluster: clusters.Ref{Name: "green", Region: "eu-west-1"}, Value: "green", Resources: []TaggedResource{{ID: "subnet-c", Kind: KindSubnet}},
	}); err != nil {
		t.Fatal(err)
	}
	if got := e.discovery("subnet-c"); got != "new-owner" {
		t.Fatalf("subnet-c carries %q, want new-owner untouched", got)
	}
}

// racingEC2 runs before ahead of each DeleteTags.
type racingEC2 struct {
	*fakeEC2
	before func()
}

func (r *racingEC2) DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, o ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error) {
	r.mu.Lock()
	r.before()
	r.mu.Unlock()
	return r.fakeEC2.DeleteTags(ctx, in, o...)
}

func TestRetagKarpenterDiscovery(t *testing.T) {
	_, e := karpenterWorld()
	e.resource("sg-already", "green")
	e.resource("sg-team", "team-x")
	a := newFakeEC2Activities(newFakeEKS(), nil, e)
	env := newActivityEnv(t, a)
	in := RetagKarpenterDiscoveryInput{Cluster: clusters.Ref{Name: "green", Region: "eu-west-1"}, From: "blue", To: "green", Resources: []TaggedResource{
		{ID: "subnet-a", Kind: KindSubnet, Value: "blue"}, {ID: "sg-blue", Kind: KindSecurityGroup, Value: "blue"},
		{ID: "sg-already", Kind: KindSecurityGroup, Value: "blue"}, {ID: "sg-team", Kind: KindSecurityGroup, Value: "blue"},
	}}
	res, err := run[RetagKarpenterDiscoveryResult](t, env, a.RetagKarpenterDiscovery, in)
	if err != nil {
		t.Fatal(err)
	}
	want := RetagKarpenterDiscoveryResult{Retagged: []string{"sg-already", "sg-blue", "subnet-a"}, Skipped: []string{"sg-team"}}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result %+v, want %+v", res, want)
	}
	for id, v := range map[string]string{"subnet-a": "green", "sg-blue": "green", "sg-already": "green", "sg-team": "team-x", "subnet-b": "blue"} {
		if got := e.discovery(id); got != v {
			t.Errorf("%s carries %q, want %q", id, got, v)
		}
	}
	if len(e.createTags) != 1 || !reflect.DeepEqual(e.createTags[0].Resources, []string{"subnet-a", "sg-blue"}) {
		t.Fatalf("CreateTags = %+v", e.createTags)
	}
	// Again: all retagged already, nothing written.
	again, err := run[RetagKarpenterDiscoveryResult](t, env, a.RetagKarpenterDiscovery, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Retagged) != 3 || len(e.createTags) != 1 {
		t.Fatalf("second retag = %+v, %d CreateTags", again, len(e.createTags))
	}
}

func TestDiscoveryValue(t *testing.T) {
	rs := func(vs ...string) []*TaggedResource {
		var out []*TaggedResource
		for i, v := range vs {
			out = append(out, &TaggedResource{ID: strconv.Itoa(i), Value: v})
		}
		return out
	}
	tests := []struct {
		vs   []string
		want string
	}{
		{nil, ""},
		{[]string{"", ""}, ""},
		{[]string{"x", "blue", "x"}, "blue"},
		{[]string{"x", "y", "y"}, "y"},
		{[]string{"y", "x"}, "x"},
	}
	for _, tt := range tests {
		if got := discoveryValue(rs(tt.vs...), "blue"); got != tt.want {
			t.Errorf("discoveryValue(%q) = %q, want %q", tt.vs, got, tt.want)
		}
	}
}
