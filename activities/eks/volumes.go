package eks

// EBS volumes blue's PersistentVolumes kept: a PV whose reclaimPolicy is
// Retain keeps its volume when the PV (or the whole cluster) goes, so
// retiring blue leaves those volumes behind, billed, unless someone
// deletes them. cutover lists them (kube.RetainedVolumes reads them from
// blue before blue is deleted) and deletes them only when the spec says
// so (retire.volumes: delete), and then only volumes that are detached
// and that the EBS CSI driver provisioned for that very PV.

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/failures"
)

// EBSAPI is the part of *ec2.Client the volume retire uses.
type EBSAPI interface {
	DescribeVolumes(ctx context.Context, in *ec2.DescribeVolumesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVolumesOutput, error)
	DeleteVolume(ctx context.Context, in *ec2.DeleteVolumeInput, optFns ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
}

// EBSClientFactory is implemented by a ClientFactory that also gives EBS
// clients (NewClientFactory's does).
type EBSClientFactory interface {
	EBS(ctx context.Context, region string) (EBSAPI, error)
}

// EBS builds a client for the region; a retire uses it once.
func (c *sdkClients) EBS(ctx context.Context, region string) (EBSAPI, error) {
	cfg, err := c.p.ForRegion(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("AWS config for region %s: %w", region, err)
	}
	return ec2.NewFromConfig(cfg), nil
}

// TagCreatedForPV is the tag the EBS CSI driver puts on a volume it
// provisions, naming the PersistentVolume it made it for.
const TagCreatedForPV = "kubernetes.io/created-for/pv/name"

// RetainedVolume is one EBS volume a PersistentVolume of blue with
// reclaimPolicy Retain refers to.
type RetainedVolume struct {
	VolumeID string `json:"volumeId"`
	// PV is the PersistentVolume's name; Claim its claim (namespace/name).
	PV    string `json:"pv"`
	Claim string `json:"claim,omitempty"`
}

func (v RetainedVolume) String() string {
	s := "EBS volume " + v.VolumeID + " of PersistentVolume " + v.PV
	if v.Claim != "" {
		s += " (claim " + v.Claim + ")"
	}
	return s
}

// RetireVolumesInput: the volumes kube.RetainedVolumes found on blue, and
// whether the spec lets them be deleted.
type RetireVolumesInput struct {
	Region  string           `json:"region"`
	Volumes []RetainedVolume `json:"volumes"`
	// Delete: retire.volumes is "delete". False only describes them.
	Delete bool `json:"delete,omitempty"`
}

// KeptVolume is a volume left in place, and why.
type KeptVolume struct {
	RetainedVolume
	Reason string `json:"reason"`
}

// RetireVolumesResult says what became of each volume.
type RetireVolumesResult struct {
	Deleted []RetainedVolume `json:"deleted,omitempty"`
	// AlreadyGone were not in EC2 any more.
	AlreadyGone []RetainedVolume `json:"alreadyGone,omitempty"`
	Kept        []KeptVolume     `json:"kept,omitempty"`
}

// RetireRetainedVolumes deletes, when in.Delete, each of blue's retained
// EBS volumes that is detached (available) and tagged by the EBS CSI
// driver as provisioned for its PersistentVolume; every other volume is
// kept with the reason (the spec keeps them, still attached, not
// provisioned for that PV, i.e. statically provisioned or reused). Call it
// once blue is deleted (its nodes are gone, so its volumes are detached).
// A volume already gone counts as such, so a retry is idempotent;
// heartbeats per volume.
func (a *Activities) RetireRetainedVolumes(ctx context.Context, in RetireVolumesInput) (RetireVolumesResult, error) {
	var res RetireVolumesResult
	if in.Region == "" {
		return res, invalidf("retire volumes: region is required")
	}
	if len(in.Volumes) == 0 {
		return res, nil
	}
	if !in.Delete {
		for _, v := range in.Volumes {
			res.Kept = append(res.Kept, KeptVolume{RetainedVolume: v, Reason: "retire.volumes is keep"})
		}
		return res, nil
	}
	f, ok := a.clients.(EBSClientFactory)
	if !ok {
		return res, failures.New(failures.NotImplemented, "the EKS activities were built without EC2 volume clients (their ClientFactory has no EBS method)")
	}
	api, err := f.EBS(ctx, in.Region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)
	for i, v := range in.Volumes {
		activitylog.Heartbeat(ctx, fmt.Sprintf("volume %d of %d: %s", i+1, len(in.Volumes), v.VolumeID))
		out, err := api.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{v.VolumeID}})
		if volumeGone(err) || err == nil && len(out.Volumes) == 0 {
			res.AlreadyGone = append(res.AlreadyGone, v)
			continue
		}
		if err != nil {
			return res, awsError(err, "describe EBS volume %s in %s", v.VolumeID, in.Region)
		}
		vol := out.Volumes[0]
		if reason := keepVolume(vol, v.PV); reason != "" {
			res.Kept = append(res.Kept, KeptVolume{RetainedVolume: v, Reason: reason})
			log.Info("Keeping a retained EBS volume", "volume", v.VolumeID, "pv", v.PV, "reason", reason)
			continue
		}
		_, err = api.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(v.VolumeID)})
		switch {
		case volumeGone(err):
			res.AlreadyGone = append(res.AlreadyGone, v)
		case hasEC2Code(err, "VolumeInUse", "IncorrectState"):
			res.Kept = append(res.Kept, KeptVolume{RetainedVolume: v, Reason: "EC2 refused to delete it: " + failures.Message(err)})
		case err != nil:
			return res, awsError(err, "delete EBS volume %s in %s", v.VolumeID, in.Region)
		default:
			res.Deleted = append(res.Deleted, v)
			log.Info("Deleted a retained EBS volume", "volume", v.VolumeID, "pv", v.PV)
		}
	}
	return res, nil
}

// keepVolume says why a volume must not be deleted ("" when it may be).
func keepVolume(vol ec2types.Volume, pv string) string {
	if vol.State != ec2types.VolumeStateAvailable {
		att := ""
		for _, at := range vol.Attachments {
			att = " to " + aws.ToString(at.InstanceId)
		}
		return fmt.Sprintf("it is %s%s, not available", vol.State, att)
	}
	for _, t := range vol.Tags {
		if aws.ToString(t.Key) == TagCreatedForPV {
			if aws.ToString(t.Value) == pv {
				return ""
			}
			return fmt.Sprintf("tagged %s=%s, not this PersistentVolume %s", TagCreatedForPV, aws.ToString(t.Value), pv)
		}
	}
	return "not tagged " + TagCreatedForPV + " by the EBS CSI driver: statically provisioned, cutover does not know who else uses it"
}

func volumeGone(err error) bool { return hasEC2Code(err, "InvalidVolume.NotFound") }

func hasEC2Code(err error, codes ...string) bool {
	var apiErr smithy.APIError
	if err == nil || !errors.As(err, &apiErr) {
		return false
	}
	for _, c := range codes {
		if apiErr.ErrorCode() == c {
			return true
		}
	}
	return false
}
