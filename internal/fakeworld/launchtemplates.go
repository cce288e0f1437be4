package fakeworld

import (
	"context"

	"github.com/cutover-dev/cutover/activities/eks"
)

// The launch-template activities of the fake world: its launch templates
// pin no AMI (EKS picks the node group's AMI), so green keeps each as
// planned and no version is ever created for green, unless the world's
// PinnedLaunchTemplates says they pin blue's AMI: then green gets version
// "2" of each, which DeleteLaunchTemplateVersions deletes.

// PlanGreenLaunchTemplates implements the EKS activity: every node group on
// a launch template keeps it.
func (a *Activities) PlanGreenLaunchTemplates(_ context.Context, in eks.PlanLaunchTemplatesInput) (eks.PlanLaunchTemplatesResult, error) {
	if err := a.w.record("PlanGreenLaunchTemplates", in); err != nil {
		return eks.PlanLaunchTemplatesResult{}, err
	}
	res := eks.PlanLaunchTemplatesResult{Plans: []eks.LaunchTemplatePlan{}}
	for _, ng := range in.NodeGroups {
		lt := ng.LaunchTemplate
		if lt == nil {
			continue
		}
		id := lt.ID
		if id == "" {
			id = lt.Name
		}
		p := eks.LaunchTemplatePlan{NodeGroup: ng.Name, LaunchTemplateID: id, SourceVersion: lt.Version,
			Action: eks.LaunchTemplateKeep, Reason: "the template version pins no AMI: EKS picks the node group's AMI for Kubernetes " + in.TargetVersion}
		if a.w.PinnedLaunchTemplates {
			p.Action, p.Reason = eks.LaunchTemplateNewVersion, "the template pins blue's AMI: green gets a version with the AMI for Kubernetes "+in.TargetVersion
		}
		res.Plans = append(res.Plans, p)
	}
	return res, nil
}

// DeleteLaunchTemplateVersions implements the EKS activity: the versions
// of PinnedLaunchTemplates are deleted, any other is gone.
func (a *Activities) DeleteLaunchTemplateVersions(_ context.Context, in eks.DeleteLaunchTemplateVersionsInput) (eks.DeleteLaunchTemplateVersionsResult, error) {
	if err := a.w.record("DeleteLaunchTemplateVersions", in); err != nil {
		return eks.DeleteLaunchTemplateVersionsResult{}, err
	}
	var res eks.DeleteLaunchTemplateVersionsResult
	for _, v := range in.Versions {
		if a.w.PinnedLaunchTemplates && v.Created && v.Version == "2" {
			res.Deleted = append(res.Deleted, v.LaunchTemplateID+":"+v.Version)
			continue
		}
		res.Gone = append(res.Gone, v.LaunchTemplateID+":"+v.Version)
	}
	return res, nil
}
