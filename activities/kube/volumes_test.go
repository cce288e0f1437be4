package kube

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRetainedVolumes, on real apiservers: blue's PersistentVolumes with
// reclaimPolicy Retain and an EBS volume (CSI handle, in-tree volumeID in
// its aws://zone/ form) are listed with their claims; Delete PVs, other
// drivers and non-EBS handles are not; a volume one of green's PVs uses
// too (restored statically onto it) is set apart.
func TestRetainedVolumes(t *testing.T) {
	blue, green := startCluster(t, "blue"), startCluster(t, "green")
	ctx := ctxT(t)
	pv := func(c *testCluster, name string, policy corev1.PersistentVolumeReclaimPolicy, src corev1.PersistentVolumeSource, claim string) {
		t.Helper()
		p := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: policy,
			PersistentVolumeSource:        src,
		}}
		if claim != "" {
			p.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "shop", Name: claim}
		}
		must(c.cs.CoreV1().PersistentVolumes().Create(ctx, p, metav1.CreateOptions{}))
	}
	csi := func(driver, handle string) corev1.PersistentVolumeSource {
		return corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: driver, VolumeHandle: handle}}
	}
	retain, del := corev1.PersistentVolumeReclaimRetain, corev1.PersistentVolumeReclaimDelete
	pv(blue, "pvc-orders", retain, csi(EBSCSIDriver, "vol-0aaa000000000001"), "data-orders-0")
	pv(blue, "pv-legacy", retain, corev1.PersistentVolumeSource{AWSElasticBlockStore: &corev1.AWSElasticBlockStoreVolumeSource{VolumeID: "aws://eu-west-1a/vol-0bbb000000000002"}}, "")
	pv(blue, "pvc-cache", del, csi(EBSCSIDriver, "vol-0ccc000000000003"), "cache-0")
	pv(blue, "pvc-efs", retain, csi("efs.csi.aws.com", "fs-0123456789abcdef0::fsap-0123"), "shared")
	pv(blue, "pvc-odd", retain, csi(EBSCSIDriver, "snap-0ddd000000000004"), "")
	pv(blue, "pvc-moved", retain, csi(EBSCSIDriver, "vol-0eee000000000005"), "data-search-0")
	pv(green, "pv-moved-static", retain, csi(EBSCSIDriver, "vol-0eee000000000005"), "data-search-0")

	acts := New(staticResolver{blue.ref.Name: blue.cfg, green.ref.Name: green.cfg}, WithPageSize(2))
	res, err := acts.RetainedVolumes(ctx, RetainedVolumesInput{Cluster: blue.ref, Green: &green.ref})
	if err != nil {
		t.Fatal(err)
	}
	want := RetainedVolumesResult{
		Volumes: []RetainedVolume{
			{VolumeID: "vol-0bbb000000000002", PV: "pv-legacy"},
			{VolumeID: "vol-0aaa000000000001", PV: "pvc-orders", Claim: "shop/data-orders-0"},
		},
		UsedByGreen: []RetainedVolume{{VolumeID: "vol-0eee000000000005", PV: "pvc-moved", Claim: "shop/data-search-0"}},
	}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("got %+v\nwant %+v", res, want)
	}
	if _, err := acts.RetainedVolumes(ctx, RetainedVolumesInput{}); err == nil {
		t.Error("no cluster: want a validation error")
	}
}
