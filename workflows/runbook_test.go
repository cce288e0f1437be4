package workflows_test

import (
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// TestArgoCDMovedBeforeBlueRetires: the Argo CD in blue is installed on
// green at its version, its settings and applications carried, synced
// there, and blue's stopped, all before blue's deletion starts.
func TestArgoCDMovedBeforeBlueRetires(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	names := h.world.Names()
	order := []string{"InstallArgoCD", "CopyArgoCDSettings", "HandOverArgoCD", "RetireEKSCluster"}
	for i := 1; i < len(order); i++ {
		if slices.Index(names, order[i-1]) < 0 || slices.Index(names, order[i-1]) > slices.Index(names, order[i]) {
			t.Fatalf("calls %v: want %v in that order", names, order)
		}
	}
	if h.world.ArgoCDInstalled("green") == "" || !strings.Contains(r.ArgoCD, "moved to green") {
		t.Errorf("green's Argo CD %q, report %q", h.world.ArgoCDInstalled("green"), r.ArgoCD)
	}

	dry := newHarness(t)
	s := testSpec()
	s.DryRun = true
	d, err := dry.run(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Plan.ArgoCD, "runs in blue") || !strings.Contains(d.Plan.ArgoCD, "installed on green") {
		t.Errorf("dry-run plan says %q about Argo CD", d.Plan.ArgoCD)
	}
}

// TestArgoCDInBlueWithoutMoveBlocks: with argocd.moveToGreen false,
// retiring blue would delete the Argo CD that manages green: preflight
// refuses before anything is built.
func TestArgoCDInBlueWithoutMoveBlocks(t *testing.T) {
	off := false
	h := newHarness(t)
	s := testSpec()
	s.ArgoCD.MoveToGreen = &off
	_, err := h.run(s)
	typ, r := failureReport(t, err)
	if typ != failures.PreflightBlocked || !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool {
		return f.Check == workflows.CheckArgoCDInBlue && f.Severity == finding.Error && strings.Contains(f.Fix, "argocd.moveToGreen")
	}) {
		t.Fatalf("type %q findings %+v", typ, r.Findings)
	}
	if slices.Contains(h.world.Names(), "EnsureGreenCluster") {
		t.Error("green was built although preflight refused")
	}
	// Blue kept: Argo CD may stay in blue.
	kept := newHarness(t)
	approveAll(kept)
	s.Retire.Blue = spec.FateKeep
	if _, err := kept.run(s); err != nil {
		t.Fatalf("with retire.blue keep: %v", err)
	}
	if slices.Contains(kept.world.Names(), "InstallArgoCD") {
		t.Errorf("calls %v: Argo CD moved although blue is kept", kept.world.Names())
	}
}

// TestArgoCDHandOverFailureRollsBack: when blue's Argo CD cannot be
// stopped, the migration rolls back: blue's Argo CD runs again, the copies
// on green are removed (their resources stay), traffic returns to blue.
func TestArgoCDHandOverFailureRollsBack(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	h.world.FailWhen = func(name string, in any) error {
		if hin, ok := in.(argocd.HandOverInput); ok && name == "HandOverArgoCD" && !hin.Back {
			return failures.New(failures.AccessDenied, "not allowed to scale statefulsets in argocd")
		}
		return nil
	}
	_, err := h.run(testSpec())
	typ, _ := failureReport(t, err)
	if typ != failures.RolledBack && typ != failures.RollbackFailed {
		t.Fatalf("type %q: %v", typ, err)
	}
	names := h.world.Names()
	if !slices.Contains(names, "RemoveArgoCDCopies") || slices.Index(names, "RemoveArgoCDCopies") < slices.Index(names, "CopyArgoCDSettings") {
		t.Errorf("calls %v: want the copies on green removed by the rollback", names)
	}
	back := h.world.Inputs("HandOverArgoCD")
	if len(back) != 2 || !back[1].(argocd.HandOverInput).Back {
		t.Errorf("hand-over calls %+v: want blue's Argo CD started again by the rollback", back)
	}
	for _, in := range h.world.Inputs("RetireEKSCluster") {
		if in.(eks.RetireInput).Role == "blue" {
			t.Errorf("blue was retired after a failed hand-over: %v", names)
		}
	}
}

// TestJobsMoveAtTheNamedStep: green's CronJobs and singletons are held
// after the restore; at jobs.moveAtStep blue's are held, then green's
// released, before the next step.
func TestJobsMoveAtTheNamedStep(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	s := testSpec()
	s.Jobs.MoveAtStep = 50
	s.Jobs.Singletons = []spec.SingletonSpec{{Namespace: "shop", Selector: "app=consumer"}}
	r, err := h.run(s)
	if err != nil {
		t.Fatal(err)
	}
	var seq []string
	for _, c := range h.world.Calls() {
		switch c.Name {
		case "SetTrafficWeights", "HoldJobs", "ReleaseJobs":
			seq = append(seq, c.Name)
		}
	}
	want := []string{"HoldJobs", "SetTrafficWeights", "SetTrafficWeights", "HoldJobs", "ReleaseJobs", "SetTrafficWeights"}
	if !slices.Equal(seq, want) {
		t.Fatalf("sequence %v, want green held after the restore, then at 50%% blue held and green released", seq)
	}
	first := h.world.Inputs("HoldJobs")[0].(kube.HoldJobsInput)
	if first.Cluster.Name != "green" || !first.CronJobs || len(first.Singletons) != 1 || first.Singletons[0].Selector != "app=consumer" {
		t.Errorf("first hold %+v, want green's CronJobs and the singleton", first)
	}
	if second := h.world.Inputs("HoldJobs")[1].(kube.HoldJobsInput); second.Cluster.Name != "blue" {
		t.Errorf("second hold on %s, want blue", second.Cluster.Name)
	}
	if len(h.world.HeldJobs("green")) != 0 || len(h.world.HeldJobs("blue")) == 0 {
		t.Errorf("at the end: held on green %v, on blue %v", h.world.HeldJobs("green"), h.world.HeldJobs("blue"))
	}
	if len(r.Jobs) == 0 {
		t.Error("the report lists no job moves")
	}
}

// TestBSLReadOnlyDuringRestore: green's storage location is read-only for
// the restore and back afterwards, also when the restore fails.
func TestBSLReadOnlyDuringRestore(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	if _, err := h.run(testSpec()); err != nil {
		t.Fatal(err)
	}
	names := h.world.Names()
	i := slices.Index(names, "RestoreVeleroBackup")
	if i < 1 || names[i-1] != "SetBSLAccessMode" || names[i+1] != "SetBSLAccessMode" || h.world.BSLMode("green") != "ReadWrite" {
		t.Fatalf("calls %v, green's location %s: want read-only around the restore, then ReadWrite", names, h.world.BSLMode("green"))
	}

	failed := newHarness(t)
	failed.world.Errors = map[string]error{"RestoreVeleroBackup": failures.New(failures.VeleroRestoreFailed, "restore failed")}
	if _, err := failed.run(testSpec()); err == nil {
		t.Fatal("want the restore failure")
	}
	if got := failed.world.BSLMode("green"); got != "ReadWrite" {
		t.Errorf("after a failed restore green's location is %s, want ReadWrite", got)
	}
}

// TestCrossVersionRestoreWithoutAPIGroupVersionsIsRefused: blue 1.29 to
// green 1.31 with green's Velero lacking EnableAPIGroupVersions stops the
// migration with the finding before any backup or restore, and rolls back.
func TestCrossVersionRestoreWithoutAPIGroupVersionsIsRefused(t *testing.T) {
	h := newHarness(t)
	h.world.GreenVeleroWithoutAPIGroupVersions = true
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q: %v", typ, err)
	}
	if !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool {
		return f.Check == velero.CheckAPIGroupVersions && f.Severity == finding.Error
	}) ||
		!strings.Contains(r.Reason, "Velero is not ready") {
		t.Errorf("reason %q findings %+v", r.Reason, r.Findings)
	}
	for _, name := range []string{"EnsureVeleroBackup", "RestoreVeleroBackup", "SetBSLAccessMode"} {
		if slices.Contains(h.world.Names(), name) {
			t.Errorf("calls %v: %s after Velero was found not ready", h.world.Names(), name)
		}
	}
}

// TestArgoCDOnHubRetargetsThere: with argocd.hub, Argo CD is located on
// the hub and the applications are retargeted (and, on rollback, reverted)
// there; nothing is installed on green and no Argo CD is stopped.
func TestArgoCDOnHubRetargetsThere(t *testing.T) {
	h := newHarness(t)
	h.world.SetArgoCDOnHub("mgmt")
	h.world.UnhealthyAtGreen = 50
	approveAll(h)
	s := testSpec()
	s.ArgoCD.Hub = &spec.ArgoCDHubSpec{ClusterName: "mgmt"}
	_, err := h.run(s)
	if typ, _ := failureReport(t, err); typ != failures.RolledBack {
		t.Fatalf("type %q (%v); want a rollback", typ, err)
	}
	loc := h.world.Inputs("LocateArgoCD")
	if len(loc) == 0 || loc[0].(argocd.LocateInput).Hub == nil || loc[0].(argocd.LocateInput).Hub.Name != "mgmt" || loc[0].(argocd.LocateInput).Hub.Region != s.Blue.Region {
		t.Fatalf("LocateArgoCD inputs %+v: want the hub mgmt in blue's region", loc)
	}
	for _, in := range h.world.Inputs("RestoreArgoApplications") {
		if in.(argocd.RestoreInput).ArgoCluster.Name != "mgmt" {
			t.Errorf("retarget ran on %+v, want the hub", in.(argocd.RestoreInput).ArgoCluster)
		}
	}
	for _, in := range h.world.Inputs("WaitArgoSynced") {
		if in.(argocd.WaitSyncedInput).ArgoCluster.Name != "mgmt" {
			t.Errorf("waited for applications on %+v, want the hub", in.(argocd.WaitSyncedInput).ArgoCluster)
		}
	}
	rev := h.world.Inputs("RevertArgoApplications")
	if len(rev) != 1 || rev[0].(argocd.RevertInput).ArgoCluster.Name != "mgmt" {
		t.Errorf("revert inputs %+v: want one on the hub", rev)
	}
	for _, n := range []string{"InstallArgoCD", "HandOverArgoCD", "CopyArgoCDSettings"} {
		if slices.Contains(h.world.Names(), n) {
			t.Errorf("%s ran although Argo CD lives on a hub", n)
		}
	}

	// Dry run: the plan says where Argo CD runs and what happens there.
	dry := newHarness(t)
	dry.world.SetArgoCDOnHub("mgmt")
	s.DryRun = true
	d, err := dry.run(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Plan.ArgoCD, "runs on hub mgmt") {
		t.Errorf("dry-run plan says %q about Argo CD", d.Plan.ArgoCD)
	}
}

// TestArgoCDHubNamedButAbsentBlocks: argocd.hub names a cluster where no
// Argo CD runs: preflight refuses instead of retargeting blue's.
func TestArgoCDHubNamedButAbsentBlocks(t *testing.T) {
	h := newHarness(t)
	s := testSpec()
	s.ArgoCD.Hub = &spec.ArgoCDHubSpec{ClusterName: "mgmt"}
	_, err := h.run(s)
	typ, r := failureReport(t, err)
	if typ != failures.PreflightBlocked || !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool {
		return f.Check == workflows.CheckArgoCDNotOnHub && f.Cluster == "mgmt" && f.Severity == finding.Error
	}) {
		t.Fatalf("type %q findings %+v", typ, r.Findings)
	}
	if slices.Contains(h.world.Names(), "EnsureGreenCluster") {
		t.Error("green was built although preflight refused")
	}
}

// TestArgoCDCopyMode: copy mode installs blue's Argo CD version on green
// (none runs there), copies what targets blue re-pointed to in-cluster,
// waits for green's Argo CD to sync it, never stops blue's; a rollback
// removes exactly the copies.
func TestArgoCDCopyMode(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	s := testSpec()
	s.ArgoCD.Mode = spec.ArgoCDModeCopy
	r, err := h.run(s)
	if err != nil {
		t.Fatal(err)
	}
	inst := h.world.Inputs("InstallArgoCD")
	if len(inst) != 1 || inst[0].(argocd.InstallInput).Cluster.Name != "green" || inst[0].(argocd.InstallInput).Version != fakeworld.ArgoCDVersion {
		t.Fatalf("InstallArgoCD inputs %+v: want blue's version on green", inst)
	}
	cp := h.world.Inputs("CopyArgoCDSettings")
	if len(cp) != 1 || cp[0].(argocd.CopySettingsInput).Retarget == nil || cp[0].(argocd.CopySettingsInput).Retarget.Name != "blue" || cp[0].(argocd.CopySettingsInput).From.Name != "blue" {
		t.Fatalf("CopyArgoCDSettings inputs %+v: want what targets blue copied from blue", cp)
	}
	names := h.world.Names()
	if slices.Contains(names, "HandOverArgoCD") || slices.Contains(names, "RestoreArgoApplications") {
		t.Errorf("calls %v: copy mode must neither stop blue's Argo CD nor retarget", names)
	}
	if slices.Index(names, "CopyArgoCDSettings") > slices.Index(names, "SetTrafficWeights") {
		t.Errorf("calls %v: the copy must be synced before traffic moves", names)
	}
	waits := h.world.Inputs("WaitArgoSynced")
	if len(waits) == 0 || waits[0].(argocd.WaitSyncedInput).ArgoCluster.Name != "green" {
		t.Errorf("waits %+v: want green's Argo CD", waits)
	}
	if !strings.Contains(r.ArgoCD, "copy mode") || !strings.Contains(r.ArgoCD, "installed "+fakeworld.ArgoCDVersion) {
		t.Errorf("report says %q", r.ArgoCD)
	}

	// A rollback removes the copies from green and reverts nothing on blue.
	rb := newHarness(t)
	approveAll(rb)
	rb.world.UnhealthyAtGreen = 50
	_, err = rb.run(s)
	if typ, _ := failureReport(t, err); typ != failures.RolledBack {
		t.Fatalf("type %q (%v); want a rollback", typ, err)
	}
	rm := rb.world.Inputs("RemoveArgoCDCopies")
	if len(rm) != 1 || rm[0].(argocd.RemoveCopiesInput).To.Name != "green" || rb.world.ArgoCDCopiedBy("green") != "" {
		t.Errorf("RemoveArgoCDCopies inputs %+v, copies left by %q", rm, rb.world.ArgoCDCopiedBy("green"))
	}
	if slices.Contains(rb.world.Names(), "RevertArgoApplications") {
		t.Errorf("calls %v: copy mode changed nothing on blue to revert", rb.world.Names())
	}
}

// TestHubReleasesBlueAtRetire: on a hub, once blue carries no traffic and
// its deletion is decided, blue is removed from the hub's ApplicationSet
// generators, right before blue's deletion; the rollback's revert is told
// green so the labels retarget gave it go.
func TestHubReleasesBlueAtRetire(t *testing.T) {
	h := newHarness(t)
	h.world.SetArgoCDOnHub("mgmt")
	approveAll(h)
	s := testSpec()
	s.ArgoCD.Hub = &spec.ArgoCDHubSpec{ClusterName: "mgmt"}
	if _, err := h.run(s); err != nil {
		t.Fatal(err)
	}
	names := h.world.Names()
	rel := slices.Index(names, "ReleaseBlueFromApplicationSets")
	if rel < 0 || rel < slices.Index(names, "GetTrafficWeights") || rel > slices.Index(names, "RetireEKSCluster") {
		t.Fatalf("calls %v: want the release between the traffic guard and blue's deletion", names)
	}
	in := h.world.Inputs("ReleaseBlueFromApplicationSets")[0].(argocd.ReleaseBlueInput)
	if in.ArgoCluster.Name != "mgmt" || in.Blue.Name != "blue" || in.Green.Name != "green" {
		t.Errorf("release input %+v", in)
	}

	rb := newHarness(t)
	rb.world.SetArgoCDOnHub("mgmt")
	rb.world.UnhealthyAtGreen = 50
	approveAll(rb)
	if _, err := rb.run(s); err == nil {
		t.Fatal("want a rollback")
	}
	rev := rb.world.Inputs("RevertArgoApplications")
	if len(rev) != 1 || rev[0].(argocd.RevertInput).Green == nil || rev[0].(argocd.RevertInput).Green.Name != "green" {
		t.Errorf("revert inputs %+v: want green named", rev)
	}
	if slices.Contains(rb.world.Names(), "ReleaseBlueFromApplicationSets") {
		t.Error("blue was released from the generators although the run rolled back")
	}
}

// TestVeleroInstalledOnGreenWhenAsked: with velero.installOnGreen, blue's
// Velero is installed on green before Velero is checked on both; without
// it nothing is installed.
func TestVeleroInstalledOnGreenWhenAsked(t *testing.T) {
	h := newHarness(t)
	h.world.WithoutVelero("green")
	approveAll(h)
	s := testSpec()
	s.Velero.InstallOnGreen = true
	r, err := h.run(s)
	if err != nil {
		t.Fatal(err)
	}
	names := h.world.Names()
	inst := slices.Index(names, "InstallVelero")
	if inst < 0 || inst > slices.Index(names, "CheckVelero") || h.world.VeleroInstalledBy("green") != s.Name {
		t.Fatalf("calls %v, installed by %q: want blue's Velero installed on green before the check", names, h.world.VeleroInstalledBy("green"))
	}
	in := h.world.Inputs("InstallVelero")[0].(velero.InstallVeleroInput)
	if in.From.Name != "blue" || in.To.Name != "green" || in.Namespace != s.WithDefaults().Velero.Namespace {
		t.Errorf("install input %+v", in)
	}
	if !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool { return f.Check == "velero-installed" && f.Severity == finding.Info }) {
		t.Errorf("findings %+v: want velero-installed", r.Findings)
	}
	plain := newHarness(t)
	approveAll(plain)
	if _, err := plain.run(testSpec()); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(plain.world.Names(), "InstallVelero") {
		t.Error("Velero was installed although the spec did not ask")
	}
}

// TestOnlyOnBlueReported: what the synced applications track on blue and
// green lacks is in the report and a warning finding per application,
// before the retire gate; the migration goes on.
func TestOnlyOnBlueReported(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	h.world.SetOnlyOnBlue(kube.OnlyOnBlueObject{Application: "shop", Object: "v1 ConfigMap shop/web-flags"})
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.OnlyOnBlue) != 1 || r.OnlyOnBlue[0].Object != "v1 ConfigMap shop/web-flags" {
		t.Errorf("report's onlyOnBlue %+v", r.OnlyOnBlue)
	}
	i := slices.IndexFunc(r.Findings, func(f finding.Finding) bool { return f.Check == workflows.CheckArgoCDOnlyOnBlue })
	if i < 0 || r.Findings[i].Severity != finding.Warning || !strings.Contains(r.Findings[i].Message, "shop/web-flags") {
		t.Errorf("findings %+v", r.Findings)
	}
	names := h.world.Names()
	if slices.Index(names, "FindOnlyOnBlue") < slices.Index(names, "WaitArgoSynced") || slices.Index(names, "FindOnlyOnBlue") > slices.Index(names, "SetTrafficWeights") {
		t.Errorf("calls %v: want FindOnlyOnBlue after the sync, before traffic moves", names)
	}
}
