package eks

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox"
)

// TestInPlaceUpdatesAgainstMoto drives the in-place update activities
// against the emulated EKS, over the wire: one hop 1.29 -> 1.30 of the
// control plane, its add-ons and two managed node groups; the one-minor
// and node-groups-behind rules; a node group whose drain a
// PodDisruptionBudget refuses, then forced; and repeats that change
// nothing.
func TestInPlaceUpdatesAgainstMoto(t *testing.T) {
	moto, m := newMotoEnv(t)
	ctx := context.Background()
	release := sandbox.EKSOptimizedAMIParameters()
	al2At := func(v string) string {
		return release["/aws/service/eks/optimized-ami/"+v+"/amazon-linux-2/recommended/release_version"]
	}
	updates := func(t *testing.T, cluster, nodegroup string) []string {
		t.Helper()
		in := &awseks.ListUpdatesInput{Name: aws.String(cluster)}
		if nodegroup != "" {
			in.NodegroupName = aws.String(nodegroup)
		}
		out, err := m.api.ListUpdates(ctx, in)
		if err != nil {
			t.Fatalf("list updates of %s %s: %v", cluster, nodegroup, err)
		}
		return out.UpdateIds
	}
	nodegroup := func(t *testing.T, cluster, name string) *ekstypes.Nodegroup {
		t.Helper()
		out, err := m.api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(cluster), NodegroupName: aws.String(name)})
		if err != nil {
			t.Fatalf("describe node group %s/%s: %v", cluster, name, err)
		}
		return out.Nodegroup
	}

	t.Run("one hop: control plane, add-ons, node groups", func(t *testing.T) {
		name := m.name("inplace")
		m.createBlue(t, name)
		for addon, version := range map[string]string{"vpc-cni": "v1.16.4-eksbuild.2", "coredns": "v1.11.1-eksbuild.13"} {
			if _, err := m.api.CreateAddon(ctx, &awseks.CreateAddonInput{ClusterName: aws.String(name), AddonName: aws.String(addon), AddonVersion: aws.String(version)}); err != nil {
				t.Fatalf("create add-on %s: %v", addon, err)
			}
		}
		ref := clusters.Ref{Name: name, Region: m.region}
		a, _ := m.activities(nil)
		env := newActivityEnv(t, a)

		// Two minors at once is EKS's refusal, definitive.
		_, err := run[UpdateResult](t, env, a.UpdateClusterVersion, UpdateClusterVersionInput{Cluster: ref, Version: "1.31"})
		wantErrType(t, err, failures.InvalidParameter, true)

		cp, err := run[UpdateResult](t, env, a.UpdateClusterVersion, UpdateClusterVersionInput{Cluster: ref, Version: "1.30"})
		if err != nil {
			t.Fatal(err)
		}
		if cp.From != "1.29" || cp.To != "1.30" || cp.UpdateID == "" || cp.Adopted || cp.Params["Version"] != "1.30" {
			t.Fatalf("control-plane result %+v", cp)
		}
		c, err := m.api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if v, s := aws.ToString(c.Cluster.Version), c.Cluster.Status; v != "1.30" || s != ekstypes.ClusterStatusActive {
			t.Fatalf("cluster at %s, %s after the update", v, s)
		}
		u, err := m.api.DescribeUpdate(ctx, &awseks.DescribeUpdateInput{Name: aws.String(name), UpdateId: aws.String(cp.UpdateID)})
		if err != nil {
			t.Fatal(err)
		}
		if u.Update.Status != ekstypes.UpdateStatusSuccessful || u.Update.Type != ekstypes.UpdateTypeVersionUpdate {
			t.Fatalf("update %s: %s %s", cp.UpdateID, u.Update.Type, u.Update.Status)
		}

		// A repeat (a retried activity after the update finished) starts nothing.
		again, err := run[UpdateResult](t, env, a.UpdateClusterVersion, UpdateClusterVersionInput{Cluster: ref, Version: "1.30"})
		if err != nil {
			t.Fatal(err)
		}
		if again.UpdateID != "" || again.Reason == "" {
			t.Fatalf("repeat result %+v: want nothing started, with a reason", again)
		}
		if ids := updates(t, name, ""); len(ids) != 1 {
			t.Fatalf("cluster updates %v, want the one", ids)
		}

		// The next hop is refused while node groups are behind.
		_, err = run[UpdateResult](t, env, a.UpdateClusterVersion, UpdateClusterVersionInput{Cluster: ref, Version: "1.31"})
		wantErrType(t, err, failures.InvalidParameter, true)

		for addon, want := range map[string]string{"vpc-cni": "v1.19.5-eksbuild.1", "coredns": "v1.11.4-eksbuild.14"} {
			r, err := run[UpdateResult](t, env, a.UpdateAddonToCompatible, UpdateAddonInput{Cluster: ref, Addon: addon, KubernetesVersion: "1.30"})
			if err != nil {
				t.Fatalf("add-on %s: %v", addon, err)
			}
			if r.To != want {
				t.Errorf("add-on %s moved to %s, want the newest compatible with 1.30, %s", addon, r.To, want)
			}
			out, err := m.api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String(name), AddonName: aws.String(addon)})
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(out.Addon.AddonVersion); got != want || out.Addon.Status != ekstypes.AddonStatusActive {
				t.Errorf("add-on %s in EKS: %s %s, want %s ACTIVE", addon, got, out.Addon.Status, want)
			}
		}

		for _, ng := range []string{"general", "batch"} {
			r, err := run[UpdateResult](t, env, a.UpdateNodegroup, UpdateNodegroupInput{
				Cluster: ref, Nodegroup: ng, Version: "1.30", UpdateConfig: &UpdateConfig{MaxUnavailable: 1},
			})
			if err != nil {
				t.Fatalf("node group %s: %v", ng, err)
			}
			if r.From != "1.29" || r.UpdateID == "" || r.ConfigUpdateID == "" {
				t.Errorf("node group %s result %+v: want a config and a version update from 1.29", ng, r)
			}
			n := nodegroup(t, name, ng)
			if aws.ToString(n.Version) != "1.30" || n.Status != ekstypes.NodegroupStatusActive || n.UpdateConfig == nil || aws.ToInt32(n.UpdateConfig.MaxUnavailable) != 1 {
				t.Errorf("node group %s in EKS: %s %s, updateConfig %+v", ng, aws.ToString(n.Version), n.Status, n.UpdateConfig)
			}
			if ng == "general" && aws.ToString(n.ReleaseVersion) != al2At("1.30") {
				t.Errorf("node group general at release %s, want the 1.30 AL2 release %s", aws.ToString(n.ReleaseVersion), al2At("1.30"))
			}
			// Repeated, nothing more is started.
			before := updates(t, name, ng)
			if _, err := run[UpdateResult](t, env, a.UpdateNodegroup, UpdateNodegroupInput{Cluster: ref, Nodegroup: ng, Version: "1.30", UpdateConfig: &UpdateConfig{MaxUnavailable: 1}}); err != nil {
				t.Fatal(err)
			}
			if after := updates(t, name, ng); !slices.Equal(before, after) {
				t.Errorf("node group %s: a repeat started updates: %v -> %v", ng, before, after)
			}
		}
	})

	t.Run("a drain a PodDisruptionBudget refuses stops the node group, force overrides it", func(t *testing.T) {
		name := m.name("inplace-pdb")
		m.createBlue(t, name)
		ref := clusters.Ref{Name: name, Region: m.region}
		a, _ := m.activities(nil)
		env := newActivityEnv(t, a)
		if _, err := run[UpdateResult](t, env, a.UpdateClusterVersion, UpdateClusterVersionInput{Cluster: ref, Version: "1.30"}); err != nil {
			t.Fatal(err)
		}
		if err := moto.FailNodegroupUpdates(ctx, sandbox.NodegroupUpdateFailures{Cluster: name, Nodegroup: "general", Errors: []sandbox.NodegroupUpdateError{{
			Code: "PodEvictionFailure", Message: "Reached max retries while trying to evict pods from nodes in node group general",
			ResourceIDs: []string{"shop/orders-pdb"},
		}}}); err != nil {
			t.Fatal(err)
		}
		_, err := run[UpdateResult](t, env, a.UpdateNodegroup, UpdateNodegroupInput{Cluster: ref, Nodegroup: "general", Version: "1.30"})
		wantErrType(t, err, PodEvictionBlocked, true)
		if !strings.Contains(err.Error(), "shop/orders-pdb") {
			t.Errorf("error %q does not name the budget", err)
		}
		if n := nodegroup(t, name, "general"); aws.ToString(n.Version) != "1.29" || n.Status != ekstypes.NodegroupStatusActive {
			t.Fatalf("after the failed update the node group is %s at %s, want ACTIVE at 1.29", n.Status, aws.ToString(n.Version))
		}
		r, err := run[UpdateResult](t, env, a.UpdateNodegroup, UpdateNodegroupInput{Cluster: ref, Nodegroup: "general", Version: "1.30", Force: true})
		if err != nil {
			t.Fatalf("forced: %v", err)
		}
		if n := nodegroup(t, name, "general"); aws.ToString(n.Version) != "1.30" || r.UpdateID == "" {
			t.Fatalf("forced update %+v left the node group at %s", r, aws.ToString(n.Version))
		}
	})

	t.Run("a node group on a custom AMI gets a launch template version with the target's AMI", func(t *testing.T) {
		name := m.name("inplace-lt")
		m.createBlue(t, name)
		ref := clusters.Ref{Name: name, Region: m.region}
		cfg, err := moto.AWS().ForRegion(ctx, m.region)
		if err != nil {
			t.Fatal(err)
		}
		ec := ec2.NewFromConfig(cfg)
		img, err := ec.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("amazon-eks-node-1.29-v20250519")})
		if err != nil {
			t.Fatal(err)
		}
		lt, err := ec.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String(name + "-custom"),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: img.ImageId, InstanceType: ec2types.InstanceTypeM6iLarge,
				UserData: aws.String(base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\n/etc/eks/bootstrap.sh " + name + "\n")))},
		})
		if err != nil {
			t.Fatal(err)
		}
		ltID := aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
		role := "arn:aws:iam::123456789012:role/nodes"
		if _, err := m.api.CreateNodegroup(ctx, &awseks.CreateNodegroupInput{
			ClusterName: aws.String(name), NodegroupName: aws.String("custom"), NodeRole: aws.String(role), Subnets: []string{"subnet-0a1"},
			AmiType: ekstypes.AMITypesCustom, LaunchTemplate: &ekstypes.LaunchTemplateSpecification{Id: aws.String(ltID), Version: aws.String("1")},
		}); err != nil {
			t.Fatal(err)
		}
		// The SDK clients (EC2 and SSM too), not the recording wrapper.
		a := NewFromAWS(m.aws, nil, WithPollInterval(10*time.Millisecond))
		env := newActivityEnv(t, a)
		if _, err := run[UpdateResult](t, env, a.UpdateClusterVersion, UpdateClusterVersionInput{Cluster: ref, Version: "1.30"}); err != nil {
			t.Fatal(err)
		}
		in := InPlaceLaunchTemplateInput{Cluster: ref, Nodegroup: "custom", Migration: "shop-inplace", Version: "1.30"}
		got, err := run[InPlaceLaunchTemplateResult](t, env, a.PrepareInPlaceLaunchTemplate, in)
		if err != nil {
			t.Fatal(err)
		}
		if got.LaunchTemplate == nil || got.LaunchTemplate.Version != "2" || !got.Created || got.Previous == nil || got.Previous.Version != "1" || got.AMI == "" || got.AMI == aws.ToString(img.ImageId) {
			t.Fatalf("launch template result %+v", got)
		}
		v, err := ec.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(ltID), Versions: []string{"2"}})
		if err != nil || len(v.LaunchTemplateVersions) != 1 {
			t.Fatalf("version 2: %+v %v", v, err)
		}
		data := v.LaunchTemplateVersions[0].LaunchTemplateData
		if aws.ToString(data.ImageId) != got.AMI || data.InstanceType != ec2types.InstanceTypeM6iLarge {
			t.Errorf("version 2 pins %s on %s, want %s on the source's m6i.large", aws.ToString(data.ImageId), data.InstanceType, got.AMI)
		}
		if ud, _ := base64.StdEncoding.DecodeString(aws.ToString(data.UserData)); !strings.Contains(string(ud), "bootstrap.sh "+name) {
			t.Errorf("version 2 user data %q: want the source's, bootstrapping the same cluster", ud)
		}
		// A retry finds the version instead of making another.
		again, err := run[InPlaceLaunchTemplateResult](t, env, a.PrepareInPlaceLaunchTemplate, in)
		if err != nil || again.Created || again.LaunchTemplate == nil || again.LaunchTemplate.Version != "2" {
			t.Fatalf("repeat %+v %v: want version 2 found, not created", again, err)
		}
		r, err := run[UpdateResult](t, env, a.UpdateNodegroup, UpdateNodegroupInput{Cluster: ref, Nodegroup: "custom", LaunchTemplate: got.LaunchTemplate})
		if err != nil {
			t.Fatal(err)
		}
		n := nodegroup(t, name, "custom")
		if r.UpdateID == "" || aws.ToString(n.Version) != "1.30" || n.LaunchTemplate == nil || aws.ToString(n.LaunchTemplate.Version) != "2" {
			t.Errorf("update %+v: node group at %s on launch template version %v", r, aws.ToString(n.Version), n.LaunchTemplate)
		}
		// A template pinning an AMI that is not EKS-optimized is refused.
		other, err := ec.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("golden-image-2025")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ec.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String(ltID), SourceVersion: aws.String("2"),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: other.ImageId}}); err != nil {
			t.Fatal(err)
		}
		if _, err := run[UpdateResult](t, env, a.UpdateNodegroup, UpdateNodegroupInput{Cluster: ref, Nodegroup: "custom", LaunchTemplate: &LaunchTemplate{ID: ltID, Version: "3"}}); err != nil {
			t.Fatal(err)
		}
		_, err = run[InPlaceLaunchTemplateResult](t, env, a.PrepareInPlaceLaunchTemplate, InPlaceLaunchTemplateInput{Cluster: ref, Nodegroup: "custom", Migration: "shop-inplace", Version: "1.31"})
		if err == nil || !strings.Contains(err.Error(), "not an EKS-optimized AMI") {
			t.Fatalf("golden image: %v, want a refusal naming why", err)
		}
	})
}
