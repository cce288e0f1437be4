package eks

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestRetireRetainedVolumesAgainstMoto: with retire.volumes delete, only
// a detached volume the EBS CSI driver tagged for that very PV is
// deleted; one tagged for another PV, an untagged (static) one and an
// attached one are kept with their reason, a volume not in EC2 is already
// gone, and a second run finds the deleted one gone. With keep, nothing
// is asked of EC2 and all are kept.
func TestRetireRetainedVolumesAgainstMoto(t *testing.T) {
	moto := sandboxtest.Moto(t)
	ctx := context.Background()
	cfg, err := moto.AWS().ForRegion(ctx, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	ec := ec2.NewFromConfig(cfg)
	volume := func(tags map[string]string) string {
		t.Helper()
		in := &ec2.CreateVolumeInput{AvailabilityZone: aws.String("eu-west-1a"), Size: aws.Int32(10), VolumeType: ec2types.VolumeTypeGp3}
		if len(tags) > 0 {
			spec := ec2types.TagSpecification{ResourceType: ec2types.ResourceTypeVolume}
			for k, v := range tags {
				spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			in.TagSpecifications = []ec2types.TagSpecification{spec}
		}
		out, err := ec.CreateVolume(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.VolumeId)
	}
	provisioned := volume(map[string]string{TagCreatedForPV: "pvc-orders", "ebs.csi.aws.com/cluster": "true"})
	otherPV := volume(map[string]string{TagCreatedForPV: "pvc-someone-else"})
	static := volume(map[string]string{"Name": "db-restore"})
	attached := volume(map[string]string{TagCreatedForPV: "pvc-attached"})
	images, err := ec.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("moto's images: %v", err)
	}
	inst, err := ec.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: images.Images[0].ImageId, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: ec2types.InstanceTypeM6iLarge, Placement: &ec2types.Placement{AvailabilityZone: aws.String("eu-west-1a")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ec.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(attached), InstanceId: inst.Instances[0].InstanceId, Device: aws.String("/dev/xvdba")}); err != nil {
		t.Fatal(err)
	}
	gone := "vol-0123456789abcdef0"
	in := RetireVolumesInput{Region: "eu-west-1", Volumes: []RetainedVolume{
		{VolumeID: provisioned, PV: "pvc-orders", Claim: "shop/data-orders-0"},
		{VolumeID: otherPV, PV: "pvc-mine"},
		{VolumeID: static, PV: "pv-static-restore"},
		{VolumeID: attached, PV: "pvc-attached"},
		{VolumeID: gone, PV: "pvc-deleted-by-hand"},
	}}
	a := NewFromAWS(moto.AWS(), nil)

	keep, err := a.RetireRetainedVolumes(ctx, in)
	if err != nil || len(keep.Kept) != 5 || len(keep.Deleted) != 0 || len(keep.AlreadyGone) != 0 {
		t.Fatalf("keep: %+v, %v; want all five kept", keep, err)
	}

	in.Delete = true
	res, err := a.RetireRetainedVolumes(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(vs []RetainedVolume) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.VolumeID)
		}
		return out
	}
	if !slices.Equal(ids(res.Deleted), []string{provisioned}) || !slices.Equal(ids(res.AlreadyGone), []string{gone}) {
		t.Errorf("deleted %v, already gone %v; want [%s], [%s]", ids(res.Deleted), ids(res.AlreadyGone), provisioned, gone)
	}
	reasons := map[string]string{}
	for _, k := range res.Kept {
		reasons[k.VolumeID] = k.Reason
	}
	for id, want := range map[string]string{otherPV: "not this PersistentVolume", static: "statically provisioned", attached: "in-use"} {
		if r, ok := reasons[id]; !ok || !strings.Contains(r, want) {
			t.Errorf("volume %s: kept %v, reason %q; want kept, the reason saying %q", id, ok, r, want)
		}
	}
	left, err := ec.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, v := range left.Volumes {
		have = append(have, aws.ToString(v.VolumeId))
	}
	if slices.Contains(have, provisioned) || !slices.Contains(have, otherPV) || !slices.Contains(have, static) || !slices.Contains(have, attached) {
		t.Errorf("volumes in EC2 %v; want %s gone and the three kept there", have, provisioned)
	}

	again, err := a.RetireRetainedVolumes(ctx, in)
	if err != nil || len(again.Deleted) != 0 || !slices.Contains(ids(again.AlreadyGone), provisioned) {
		t.Errorf("retry: %+v, %v; want the deleted volume already gone", again, err)
	}
	if _, err := a.RetireRetainedVolumes(ctx, RetireVolumesInput{Volumes: in.Volumes, Delete: true}); !failures.Is(err, failures.InvalidParameter) {
		t.Errorf("no region: %v; want InvalidParameter", err)
	}
}

