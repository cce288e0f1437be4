package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func valid() MigrationSpec {
	return MigrationSpec{
		Name:  "shop",
		Blue:  BlueSpec{ClusterName: "blue", Region: "eu-west-1"},
		Green: GreenSpec{KubernetesVersion: "1.31"},
		Traffic: TrafficSpec{Provider: ProviderRoute53, Route53: &Route53Spec{
			HostedZoneID: "Z0123456789ABC", RecordName: "shop.example.com", GreenTarget: "lb.example.com"}},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*MigrationSpec)
		want   []string // field paths, in order; nil means valid
	}{
		{"minimal spec is valid", func(*MigrationSpec) {}, nil},
		{"missing everything", func(s *MigrationSpec) { *s = MigrationSpec{} },
			[]string{"name", "blue.clusterName", "blue.region", "green.kubernetesVersion", "traffic.provider"}},
		{"bad name", func(s *MigrationSpec) { s.Name = "Shop_Prod" }, []string{"name"}},
		{"bad region", func(s *MigrationSpec) { s.Blue.Region = "europe" }, []string{"blue.region"}},
		{"bad version", func(s *MigrationSpec) { s.Green.KubernetesVersion = "v1.31" }, []string{"green.kubernetesVersion"}},
		{"ancient version", func(s *MigrationSpec) { s.Green.KubernetesVersion = "1.19" }, []string{"green.kubernetesVersion"}},
		{"green named like blue", func(s *MigrationSpec) { s.Green.ClusterName = "blue" }, []string{"green.clusterName"}},
		{"bad subnet override", func(s *MigrationSpec) { s.Green.Overrides.SubnetIDs = []string{"subnet-0abc1234", "net-1"} }, []string{"green.overrides.subnetIds[1]"}},
		{"one subnet", func(s *MigrationSpec) { s.Green.Overrides.SubnetIDs = []string{"subnet-0abc1234"} }, []string{"green.overrides.subnetIds"}},
		{"steps out of range", func(s *MigrationSpec) { s.Traffic.Steps = []int{10, 50, 150} },
			[]string{"traffic.steps[2]", "traffic.steps[2]"}},
		{"steps not increasing", func(s *MigrationSpec) { s.Traffic.Steps = []int{50, 20, 100} }, []string{"traffic.steps[1]"}},
		{"last step not 100", func(s *MigrationSpec) { s.Traffic.Steps = []int{10, 50} }, []string{"traffic.steps[1]"}},
		{"route53 missing", func(s *MigrationSpec) { s.Traffic.Route53 = nil }, []string{"traffic.route53"}},
		{"route53 fields", func(s *MigrationSpec) {
			s.Traffic.Route53 = &Route53Spec{HostedZoneID: "zone", GreenSetIdentifier: "blue"}
		}, []string{"traffic.route53.hostedZoneId", "traffic.route53.recordName", "traffic.route53.greenTarget", "traffic.route53.greenSetIdentifier"}},
		{"green target from an entry point", func(s *MigrationSpec) {
			s.Traffic.Route53.GreenTarget = ""
			s.Traffic.Route53.GreenTargetFrom = &EntryPointSpec{Kind: EntryPointService, Namespace: "shop", Name: "web-public"}
		}, nil},
		{"green target both ways", func(s *MigrationSpec) {
			s.Traffic.Route53.GreenTargetFrom = &EntryPointSpec{Kind: EntryPointIngress, Namespace: "shop", Name: "web"}
		}, []string{"traffic.route53.greenTargetFrom"}},
		{"bad entry point", func(s *MigrationSpec) {
			s.Traffic.Route53.GreenTarget = ""
			s.Traffic.Route53.GreenTargetFrom = &EntryPointSpec{Kind: "Gateway", Namespace: "Shop", Timeout: Duration(2 * time.Hour)}
		}, []string{"traffic.route53.greenTargetFrom.kind", "traffic.route53.greenTargetFrom.namespace", "traffic.route53.greenTargetFrom.name", "traffic.route53.greenTargetFrom.timeout"}},
		{"cloudfront needs one step", func(s *MigrationSpec) {
			s.Traffic = TrafficSpec{Provider: ProviderCloudFront, CloudFront: &CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL", BlueOriginID: "b", GreenOriginID: "g"}, Steps: []int{50, 100}}
		}, []string{"traffic.steps"}},
		{"cloudfront continuous deployment", func(s *MigrationSpec) {
			s.Traffic = TrafficSpec{Provider: ProviderCloudFront, CloudFront: &CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL", BlueOriginID: "b", GreenOriginID: "g", Mode: CloudFrontModeContinuous}, Steps: []int{5, 10, 15, 100}}
		}, nil},
		{"cloudfront staging over the cap", func(s *MigrationSpec) {
			s.Traffic = TrafficSpec{Provider: ProviderCloudFront, CloudFront: &CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL", BlueOriginID: "b", GreenOriginID: "g", Mode: CloudFrontModeContinuous}, Steps: []int{5, 50, 100}}
		}, []string{"traffic.steps[1]"}},
		{"cloudfront continuous deployment needs a staging step", func(s *MigrationSpec) {
			s.Traffic = TrafficSpec{Provider: ProviderCloudFront, CloudFront: &CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL", BlueOriginID: "b", GreenOriginID: "g", Mode: CloudFrontModeContinuous}, Steps: []int{100}}
		}, []string{"traffic.steps"}},
		{"cloudfront mode", func(s *MigrationSpec) {
			s.Traffic = TrafficSpec{Provider: ProviderCloudFront, CloudFront: &CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL", BlueOriginID: "b", GreenOriginID: "g", Mode: "canary"}}
		}, []string{"traffic.cloudfront.mode"}},
		{"cloudfront same origins", func(s *MigrationSpec) {
			s.Traffic = TrafficSpec{Provider: ProviderCloudFront, CloudFront: &CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL", BlueOriginID: "b", GreenOriginID: "b"}}
		}, []string{"traffic.cloudfront.greenOriginId"}},
		{"cloudfront origins discovered", func(s *MigrationSpec) {
			s.Traffic = TrafficSpec{Provider: ProviderCloudFront, CloudFront: &CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL",
				GreenOriginFrom: &EntryPointSpec{Kind: EntryPointIngress, Namespace: "shop", Name: "web"}}}
		}, nil},
		{"cloudfront origin named two ways", func(s *MigrationSpec) {
			s.Traffic = TrafficSpec{Provider: ProviderCloudFront, CloudFront: &CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL", GreenOriginDomain: "g.example.com",
				GreenOriginFrom: &EntryPointSpec{Kind: EntryPointIngress, Namespace: "shop", Name: "web"}}}
		}, []string{"traffic.cloudfront.greenOriginFrom"}},
		{"cloudfront bad origin entry point", func(s *MigrationSpec) {
			s.Traffic = TrafficSpec{Provider: ProviderCloudFront, CloudFront: &CloudFrontSpec{DistributionID: "E2QWRUHAPOMQZL",
				GreenOriginFrom: &EntryPointSpec{Kind: "Route", Namespace: "shop", Name: "web"}}}
		}, []string{"traffic.cloudfront.greenOriginFrom.kind"}},
		{"in place", func(s *MigrationSpec) {
			s.Strategy, s.Green.ClusterName, s.Traffic = StrategyInPlace, "", TrafficSpec{}
			s.InPlace = InPlaceSpec{MaxUnavailable: 1, Force: true}
		}, nil},
		{"in place with green, traffic, velero", func(s *MigrationSpec) {
			s.Strategy, s.Green.ClusterName, s.Velero.Enabled = StrategyInPlace, "green", true
			s.InPlace = InPlaceSpec{MaxUnavailable: 1, MaxUnavailablePercentage: 20}
		}, []string{"green.clusterName", "traffic", "velero.enabled", "inPlace.maxUnavailablePercentage"}},
		{"unknown strategy", func(s *MigrationSpec) { s.Strategy = "rolling" }, []string{"strategy"}},
		{"unknown provider", func(s *MigrationSpec) { s.Traffic.Provider = "nginx" }, []string{"traffic.provider"}},
		{"empty alarm", func(s *MigrationSpec) { s.Traffic.Alarms = []string{"ok", " "} }, []string{"traffic.alarms[1]"}},
		{"probe errors", func(s *MigrationSpec) {
			s.Smoke.HTTP = []HTTPProbe{{Name: "a", URL: "ftp://x"}, {Name: "a", URL: "http://x", ExpectStatus: 700, Retries: -1}}
		}, []string{"smoke.http[0].url", "smoke.http[1].name", "smoke.http[1].expectStatus", "smoke.http[1].retries"}},
		{"bad enums", func(s *MigrationSpec) {
			s.Preflight.BlockOn = "fatal"
			s.ArgoCD.Mode = "sync"
			s.Retire.Blue = "stop"
			s.Rollback.Green = "pause"
		}, []string{"preflight.blockOn", "argocd.mode", "retire.blue", "rollback.green"}},
		{"bad retire.volumes", func(s *MigrationSpec) { s.Retire.Volumes = "snapshot" }, []string{"retire.volumes"}},
		{"volumes deleted while blue is kept", func(s *MigrationSpec) { s.Retire.Blue, s.Retire.Volumes = FateKeep, VolumesDelete }, []string{"retire.volumes"}},
		{"bad AMI type upgrade", func(s *MigrationSpec) { s.Green.NodeGroups.AMITypeUpgrade = "latest" }, []string{"green.nodeGroups.amiTypeUpgrade"}},
		{"gate onTimeout", func(s *MigrationSpec) { s.Approvals.Cutover.OnTimeout = "later" }, []string{"approvals.cutover.onTimeout"}},
		{"short reminder", func(s *MigrationSpec) { d := Duration(10 * time.Second); s.Approvals.ReminderInterval = &d }, []string{"approvals.reminderInterval"}},
		{"velero namespaces overlap", func(s *MigrationSpec) {
			s.Velero.IncludedNamespaces = []string{"shop"}
			s.Velero.ExcludedNamespaces = []string{"shop"}
		}, []string{"velero.includedNamespaces[0]"}},
		{"k6 without script", func(s *MigrationSpec) { s.Smoke.K6 = &K6Spec{} }, []string{"smoke.k6.configMap"}},
		{"jobs move at a step that is not one", func(s *MigrationSpec) { s.Traffic.Steps = []int{10, 50, 100}; s.Jobs.MoveAtStep = 30 }, []string{"jobs.moveAtStep"}},
		{"jobs move at a step", func(s *MigrationSpec) { s.Traffic.Steps = []int{10, 50, 100}; s.Jobs.MoveAtStep = 50 }, nil},
		{"singleton without selector or namespace", func(s *MigrationSpec) {
			s.Jobs.Singletons = []SingletonSpec{{Namespace: "shop", Selector: "app=consumer"}, {Namespace: "Shop", Selector: " "}}
		}, []string{"jobs.singletons[1].namespace", "jobs.singletons[1].selector"}},
		{"bad storage location", func(s *MigrationSpec) { s.Velero.StorageLocation = "Default BSL" }, []string{"velero.storageLocation"}},
		{"bad webhook", func(s *MigrationSpec) { s.Notify.WebhookURL = "hooks.example.com" }, []string{"notify.webhookUrl"}},
		{"hub without a name", func(s *MigrationSpec) { s.ArgoCD.Hub = &ArgoCDHubSpec{} }, []string{"argocd.hub.clusterName"}},
		{"hub is blue", func(s *MigrationSpec) { s.ArgoCD.Hub = &ArgoCDHubSpec{ClusterName: s.Blue.ClusterName} }, []string{"argocd.hub.clusterName"}},
		{"hub in a bad region", func(s *MigrationSpec) { s.ArgoCD.Hub = &ArgoCDHubSpec{ClusterName: "mgmt", Region: "mars-1"} }, []string{"argocd.hub.region"}},
		{"hub with Argo CD off", func(s *MigrationSpec) {
			s.ArgoCD.Hub = &ArgoCDHubSpec{ClusterName: "mgmt"}
			s.ArgoCD.Mode = ArgoCDModeNone
		}, []string{"argocd.hub"}},
		{"hub", func(s *MigrationSpec) { s.ArgoCD.Hub = &ArgoCDHubSpec{ClusterName: "mgmt"} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.mutate(&s)
			err := s.WithDefaults().Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var fe FieldErrors
			if !errors.As(err, &fe) {
				t.Fatalf("want FieldErrors, got %v", err)
			}
			var got []string
			for _, e := range fe {
				got = append(got, e.Field)
				if e.Reason == "" {
					t.Errorf("%s has no reason", e.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("fields\n got %v\nwant %v\n(%v)", got, tt.want, err)
			}
		})
	}
}

func TestErrorMessageNamesFieldAndReason(t *testing.T) {
	s := valid()
	s.Traffic.Steps = []int{10, 50, 101}
	err := s.WithDefaults().Validate()
	if err == nil || !strings.Contains(err.Error(), "traffic.steps[2]: must be between 1 and 100, got 101") {
		t.Fatalf("error %v", err)
	}
}

func TestDefaults(t *testing.T) {
	d := valid().WithDefaults()
	checks := map[string]bool{
		"green name from blue and version":  d.Green.ClusterName == "blue-1-31",
		"copy everything":                   *d.Green.Copy.NodeGroups && *d.Green.Copy.Addons && *d.Green.Copy.AccessEntries && *d.Green.Copy.Tags && *d.Green.Copy.Logging,
		"block on errors":                   d.Preflight.BlockOn == "error",
		"argocd retarget":                   d.ArgoCD.Mode == ArgoCDModeRetarget && d.ArgoCD.Namespace == "argocd" && d.ArgoCD.SyncTimeout.D() == 30*time.Minute,
		"velero off, restores PVs":          !d.Velero.Enabled && *d.Velero.RestorePVs,
		"route53 steps":                     len(d.Traffic.Steps) == 3 && d.Traffic.Steps[2] == 100,
		"route53 set identifiers":           d.Traffic.Route53.BlueSetIdentifier == "blue" && d.Traffic.Route53.GreenSetIdentifier == "green" && d.Traffic.Route53.TTL == 60,
		"bake 10m":                          d.Traffic.BakeTime.D() == 10*time.Minute,
		"cutover gate on":                   d.Approvals.Cutover.IsEnabled() && d.Approvals.Cutover.OnTimeout == OnTimeoutReject,
		"retire gate on":                    d.Approvals.Retire.IsEnabled(),
		"step gates off":                    !d.Approvals.EachStep.IsEnabled(),
		"reminder 1h":                       d.Approvals.ReminderInterval.D() == time.Hour,
		"soak 24h, delete blue, keep green": d.Retire.Soak.D() == 24*time.Hour && d.Retire.Blue == FateDelete && d.Rollback.Green == FateKeep,
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("default: %s", name)
		}
	}
	cf := valid()
	cf.Traffic = TrafficSpec{Provider: ProviderCloudFront}
	if got := cf.WithDefaults().Traffic.Steps; len(got) != 1 || got[0] != 100 {
		t.Errorf("cloudfront default steps %v", got)
	}
	cf.Traffic.CloudFront = &CloudFrontSpec{Mode: CloudFrontModeContinuous}
	if got := cf.WithDefaults().Traffic.Steps; !slices.Equal(got, []int{5, 15, 100}) {
		t.Errorf("cloudfront continuous deployment default steps %v", got)
	}
	// Defaults never override what is set, and the input is not modified.
	s := valid()
	s.Smoke.HTTP = []HTTPProbe{{Name: "a", URL: "http://a", ExpectStatus: 204}}
	d2 := s.WithDefaults()
	if d2.Smoke.HTTP[0].ExpectStatus != 204 || d2.Smoke.HTTP[0].Retries != 3 || s.Smoke.HTTP[0].Retries != 0 {
		t.Errorf("probe defaults %+v, input %+v", d2.Smoke.HTTP[0], s.Smoke.HTTP[0])
	}
}

func TestGates(t *testing.T) {
	s := valid()
	yes := true
	s.Approvals.EachStep.Enabled = &yes
	d := s.WithDefaults()
	for name, want := range map[string]bool{"cutover": true, "retire": true, "traffic-step-1": false, "traffic-step-2": true, "traffic-step-3": true, "traffic-step-4": false, "traffic-step-x": false, "launch": false} {
		if _, ok := d.Gate(name); ok != want {
			t.Errorf("Gate(%q) = %v, want %v", name, ok, want)
		}
	}
}

// TestSchemaIsCurrent fails when deploy/schema is stale: run `make schema`.
func TestSchemaIsCurrent(t *testing.T) {
	want, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "deploy", "schema", "migration-spec.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("deploy/schema/migration-spec.schema.json is stale: run `make schema`")
	}
	var doc struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if err := json.Unmarshal(want, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "blue", "green", "preflight", "argocd", "velero", "smoke", "traffic", "approvals", "retire", "rollback", "notify", "dryRun"} {
		if _, ok := doc.Properties[k]; !ok {
			t.Errorf("schema lacks %q", k)
		}
	}
	if !strings.Contains(string(want), `"description": "BlockOn is the lowest severity`) {
		t.Error("schema lacks field descriptions from the Go comments")
	}
}

// TestExamples reads every example with the strict reader, as `cutover
// validate` does (schema_test.go validates them against the schema too).
func TestExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "deploy", "examples", "*.json"))
	if len(files) < 3 {
		t.Fatalf("found %d examples", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(b); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
