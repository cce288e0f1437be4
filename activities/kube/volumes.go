package kube

import (
	"context"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// EBSCSIDriver is the Amazon EBS CSI driver's name.
const EBSCSIDriver = "ebs.csi.aws.com"

// RetainedVolumesInput names blue, and green whose PersistentVolumes must
// not lose their volume (a PV restored statically onto blue's volume).
type RetainedVolumesInput struct {
	Cluster clusters.Ref  `json:"cluster"`
	Green   *clusters.Ref `json:"green,omitempty"`
}

// RetainedVolume is an EBS volume a PersistentVolume with reclaimPolicy
// Retain refers to.
type RetainedVolume struct {
	VolumeID string `json:"volumeId"`
	PV       string `json:"pv"`
	// Claim is the bound claim, namespace/name.
	Claim string `json:"claim,omitempty"`
}

// RetainedVolumesResult lists blue's retained EBS volumes.
type RetainedVolumesResult struct {
	Volumes []RetainedVolume `json:"volumes,omitempty"`
	// UsedByGreen are retained volumes one of green's PersistentVolumes
	// refers to as well: never to be deleted with blue.
	UsedByGreen []RetainedVolume `json:"usedByGreen,omitempty"`
}

// RetainedVolumes lists the EBS volumes of blue's PersistentVolumes whose
// reclaimPolicy is Retain (EBS CSI or the in-tree awsElasticBlockStore):
// deleting the PV, or the cluster, leaves them in EC2. Read before blue
// is deleted; volumes green's PersistentVolumes use too are set apart.
func (a *Activities) RetainedVolumes(ctx context.Context, in RetainedVolumesInput) (RetainedVolumesResult, error) {
	var res RetainedVolumesResult
	if in.Cluster.Name == "" {
		return res, failures.New(failures.Validation, "retained volumes: cluster name is required")
	}
	blue, err := a.ebsVolumes(ctx, in.Cluster, true)
	if err != nil {
		return res, err
	}
	inGreen := map[string]bool{}
	if in.Green != nil && in.Green.Name != "" {
		green, err := a.ebsVolumes(ctx, *in.Green, false)
		if err != nil {
			return res, err
		}
		for _, v := range green {
			inGreen[v.VolumeID] = true
		}
	}
	for _, v := range blue {
		if inGreen[v.VolumeID] {
			res.UsedByGreen = append(res.UsedByGreen, v)
		} else {
			res.Volumes = append(res.Volumes, v)
		}
	}
	a.log(ctx).Info("Listed retained EBS volumes", "cluster", in.Cluster.Name, "volumes", len(res.Volumes), "usedByGreen", len(res.UsedByGreen))
	return res, nil
}

// ebsVolumes lists the EBS volumes of a cluster's PersistentVolumes (only
// those with reclaimPolicy Retain when retainedOnly).
func (a *Activities) ebsVolumes(ctx context.Context, ref clusters.Ref, retainedOnly bool) ([]RetainedVolume, error) {
	c, err := a.clients(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out []RetainedVolume
	list := retriedPage(a, "list PersistentVolumes of "+ref.Name, func(ctx context.Context, o metav1.ListOptions) ([]corev1.PersistentVolume, string, error) {
		l, err := c.Kube.CoreV1().PersistentVolumes().List(ctx, o)
		if err != nil {
			return nil, "", kubeError(err, "list PersistentVolumes of %s", ref)
		}
		return l.Items, l.Continue, nil
	})
	err = eachPage(ctx, a.opts.pageSize, metav1.ListOptions{}, list, func(pvs []corev1.PersistentVolume) error {
		for _, pv := range pvs {
			if retainedOnly && pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
				continue
			}
			id := ebsVolumeID(pv.Spec.PersistentVolumeSource)
			if id == "" {
				continue
			}
			v := RetainedVolume{VolumeID: id, PV: pv.Name}
			if r := pv.Spec.ClaimRef; r != nil {
				v.Claim = r.Namespace + "/" + r.Name
			}
			out = append(out, v)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].PV < out[j].PV })
	return out, err
}

// ebsVolumeID is the EBS volume a PV source names ("" for another kind):
// the CSI volume handle (vol-...), or the in-tree volumeID, which may be
// written aws://<zone>/vol-....
func ebsVolumeID(src corev1.PersistentVolumeSource) string {
	var id string
	switch {
	case src.CSI != nil && src.CSI.Driver == EBSCSIDriver:
		id = src.CSI.VolumeHandle
	case src.AWSElasticBlockStore != nil:
		id = src.AWSElasticBlockStore.VolumeID
	default:
		return ""
	}
	if i := strings.LastIndex(id, "/"); i >= 0 {
		id = id[i+1:]
	}
	if !strings.HasPrefix(id, "vol-") {
		return ""
	}
	return id
}
