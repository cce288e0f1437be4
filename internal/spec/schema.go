package spec

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"sort"
	"strings"
	"time"
)

// The source of spec.go is embedded so the schema's descriptions are the
// field comments people read in the code: one source of truth.
//
//go:embed spec.go
var specSource string

// enums lists the allowed values of string fields, by "Type.Field".
var enums = map[string][]string{
	"PreflightSpec.BlockOn":             {"error", "warning", "none"},
	"NodeGroupsSpec.AMITypeUpgrade":     {AMITypeUpgradeRefuse, AMITypeUpgradeSuccessor},
	"ArgoCDSpec.Mode":                   {ArgoCDModeRetarget, ArgoCDModeCopy, ArgoCDModeNone},
	"VeleroSpec.ExistingResourcePolicy": {"none", "update"},
	"TrafficSpec.Provider":              {ProviderRoute53, ProviderCloudFront},
	"Route53Spec.RecordType":            {"CNAME", "A"},
	"Route53Spec.AfterMigration":        {AfterMigrationWeighted, AfterMigrationSimple},
	"EntryPointSpec.Kind":               {EntryPointIngress, EntryPointService},
	"CloudFrontSpec.Mode":               {CloudFrontModeSwitch, CloudFrontModeContinuous},
	"GateSpec.OnTimeout":                {OnTimeoutReject, OnTimeoutApprove, OnTimeoutWait},
	"RetireSpec.Blue":                   {FateDelete, FateKeep},
	"RollbackSpec.Green":                {FateKeep, FateDelete},
	"MigrationSpec.Strategy":            {StrategyBlueGreen, StrategyInPlace},
}

// required lists the fields validation rejects when empty, by "Type.Field".
var required = map[string]bool{
	"MigrationSpec.Name": true, "BlueSpec.ClusterName": true, "BlueSpec.Region": true,
	"GreenSpec.KubernetesVersion": true, "TrafficSpec.Provider": true,
	"HTTPProbe.Name": true, "HTTPProbe.URL": true,
	"Route53Spec.HostedZoneID": true, "Route53Spec.RecordName": true,
	"EntryPointSpec.Kind": true, "EntryPointSpec.Namespace": true, "EntryPointSpec.Name": true,
	"CloudFrontSpec.DistributionID": true,
	"K6Spec.ConfigMap":              true, "ArgoCDHubSpec.ClusterName": true, "SingletonSpec.Namespace": true, "SingletonSpec.Selector": true,
}

// constraints are the validator's rules that JSON Schema can say, by
// "Type.Field", built from the same regular expressions and bounds as
// Validate (validate.go). What the schema cannot say (a step greater than
// the previous one, a region in the SDK's partition data, a version EKS
// offers, an explicit zero a default would replace) is left to Validate;
// TestSchemaAgreesWithValidator keeps the two in step.
func constraints() map[string]map[string]any {
	pat := func(re interface{ String() string }) map[string]any { return map[string]any{"pattern": re.String()} }
	return map[string]map[string]any{
		"MigrationSpec.Name":              {"pattern": nameRE.String(), "maxLength": 63},
		"BlueSpec.ClusterName":            {"pattern": clusterNameRE.String(), "maxLength": 100},
		"BlueSpec.LogicalName":            {"pattern": nameRE.String(), "maxLength": 63},
		"BlueSpec.Region":                 {"enum": regionList()},
		"GreenSpec.ClusterName":           {"pattern": clusterNameRE.String(), "maxLength": 100},
		"ArgoCDHubSpec.ClusterName":       {"pattern": clusterNameRE.String(), "maxLength": 100},
		"ArgoCDHubSpec.Region":            {"enum": regionList()},
		"GreenSpec.KubernetesVersion":     {"enum": KnownVersionNames()},
		"GreenOverrides.SubnetIDs":        {"items": map[string]any{"type": "string", "pattern": subnetRE.String()}},
		"GreenOverrides.SecurityGroupIDs": {"items": map[string]any{"type": "string", "pattern": sgRE.String()}},
		"GreenOverrides.RoleARN":          {"pattern": `^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$`},
		"HTTPProbe.URL":                   {"pattern": `^https?://[^\s]+$`},
		"HTTPProbe.ExpectStatus":          {"minimum": 100, "maximum": 599},
		"HTTPProbe.Retries":               {"minimum": 0, "maximum": 100},
		"TrafficSpec.Steps":               {"items": map[string]any{"type": "integer", "minimum": 1, "maximum": 100}, "minItems": 1, "maxItems": 20},
		"TrafficSpec.Alarms":              {"items": map[string]any{"type": "string", "pattern": alarmNameRE.String()}},
		"Route53Spec.HostedZoneID":        pat(zoneIDRE),
		"EntryPointSpec.Namespace":        pat(labelRE),
		"EntryPointSpec.Name":             {"pattern": objectNameRE.String(), "maxLength": 253},
		"Route53Spec.TTL":                 {"minimum": 0, "maximum": 86400},
		"Route53Spec.BlueSetIdentifier":   {"maxLength": 128},
		"Route53Spec.GreenSetIdentifier":  {"maxLength": 128},
		"CloudFrontSpec.DistributionID":   pat(distributionRE),
		"CloudFrontSpec.BlueOriginID":     pat(originIDRE),
		"CloudFrontSpec.GreenOriginID":    pat(originIDRE),
		"ArgoCDSpec.Namespace":            pat(labelRE),
		"VeleroSpec.Namespace":            pat(labelRE),
		"K6Spec.Namespace":                pat(labelRE),
		"NotifySpec.SlackChannel":         pat(slackChannelRE),
		"NotifySpec.WebhookURL":           {"pattern": `^https?://[^\s]+$`},
		"GateSpec.Approvers":              {"items": map[string]any{"type": "string", "minLength": 1, "maxLength": 128}, "uniqueItems": true},
	}
}

// conditionals are the cross-field rules of a type that JSON Schema can
// say, by type name.
var conditionals = map[string][]any{
	// Green's target one way: a DNS name or an entry point, not both.
	"Route53Spec": {
		map[string]any{"oneOf": []any{
			map[string]any{"required": []string{"greenTarget"}, "properties": map[string]any{"greenTarget": map[string]any{"type": "string", "minLength": 1}, "greenTargetFrom": map[string]any{"type": "null"}}},
			map[string]any{"required": []string{"greenTargetFrom"}, "properties": map[string]any{"greenTargetFrom": map[string]any{"type": "object"}, "greenTarget": map[string]any{"anyOf": []any{map[string]any{"type": "null"}, map[string]any{"const": ""}}}}},
		}},
	},
	// Green's origin: named in the spec (both origin IDs required), or
	// discovered from green's entry point (then not also a domain).
	"CloudFrontSpec": {
		map[string]any{
			"if":   map[string]any{"properties": map[string]any{"greenOriginFrom": map[string]any{"type": "object"}}, "required": []string{"greenOriginFrom"}},
			"then": map[string]any{"properties": map[string]any{"greenOriginDomain": map[string]any{"anyOf": []any{map[string]any{"type": "null"}, map[string]any{"const": ""}}}}},
			"else": map[string]any{"required": []string{"blueOriginId", "greenOriginId"}, "properties": map[string]any{
				"blueOriginId": map[string]any{"type": "string", "minLength": 1}, "greenOriginId": map[string]any{"type": "string", "minLength": 1}}},
		},
	},
	"TrafficSpec": {
		map[string]any{
			"if":   map[string]any{"properties": map[string]any{"provider": map[string]any{"const": ProviderRoute53}}, "required": []string{"provider"}},
			"then": map[string]any{"required": []string{"route53"}, "properties": map[string]any{"cloudfront": map[string]any{"type": "null"}, "route53": map[string]any{"type": "object"}}},
		},
		map[string]any{
			"if":   map[string]any{"properties": map[string]any{"provider": map[string]any{"const": ProviderCloudFront}}, "required": []string{"provider"}},
			"then": map[string]any{"required": []string{"cloudfront"}, "properties": map[string]any{"route53": map[string]any{"type": "null"}, "cloudfront": map[string]any{"type": "object"}}},
		},
		// An origin switch is all or nothing; continuous deployment steps.
		map[string]any{
			"if": map[string]any{"properties": map[string]any{
				"provider":   map[string]any{"const": ProviderCloudFront},
				"cloudfront": map[string]any{"not": map[string]any{"properties": map[string]any{"mode": map[string]any{"const": CloudFrontModeContinuous}}, "required": []string{"mode"}}},
			}, "required": []string{"provider"}},
			"then": map[string]any{"properties": map[string]any{"steps": map[string]any{"anyOf": []any{map[string]any{"const": []int{100}}, map[string]any{"type": "null"}}}}},
		},
	},
}

// durationBounds are the upper bounds of Duration fields, in seconds.
var durationBounds = map[string]time.Duration{
	"ArgoCDSpec.SyncTimeout":         maxPhaseTimeout,
	"VeleroSpec.Timeout":             maxPhaseTimeout,
	"SmokeSpec.Timeout":              maxPhaseTimeout,
	"HTTPProbe.MaxLatency":           maxLatency,
	"TrafficSpec.BakeTime":           maxBakeTime,
	"TrafficSpec.CheckInterval":      maxCheck,
	"TrafficSpec.HealthReadBudget":   maxHealthReadBudget,
	"GateSpec.Timeout":               maxGateTimeout,
	"EntryPointSpec.Timeout":         maxEntryPointWait,
	"RetireSpec.Soak":                maxSoak,
	"ApprovalsSpec.ReminderInterval": maxReminder,
}

// Schema returns the JSON Schema (draft 2020-12) of MigrationSpec.
func Schema() ([]byte, error) {
	return SchemaOf(MigrationSpec{}, "https://cutover.dev/schema/migration-spec.schema.json", "cutover MigrationSpec", SchemaOptions{})
}

// SchemaOptions adapt SchemaOf to a document that holds migration specs.
type SchemaOptions struct {
	// Sources are Go source texts whose field comments describe the types
	// beyond spec.go's.
	Sources []string
	// NotRequired lists "Type.Field"s that are required in a spec but
	// filled in by the document (a fleet chooses name and version).
	NotRequired []string
	// Required lists the document's own required "Type.Field"s.
	Required []string
	// Rules are the document's own constraints, by "Type.Field".
	Rules map[string]map[string]any
}

// SchemaOf returns the JSON Schema of the document type of v (MigrationSpec,
// or a type that holds specs such as the fleet), with descriptions from the
// field comments of spec.go and of o.Sources.
func SchemaOf(v any, id, title string, o SchemaOptions) ([]byte, error) {
	docs, typeDocs := fieldDocs(append([]string{specSource}, o.Sources...)...)
	req := map[string]bool{}
	for k, v := range required {
		req[k] = v
	}
	for _, k := range o.NotRequired {
		delete(req, k)
	}
	for _, k := range o.Required {
		req[k] = true
	}
	rules := constraints()
	for k, v := range o.Rules {
		rules[k] = v
	}
	g := &schemaGen{docs: docs, typeDocs: typeDocs, defs: map[string]any{}, rules: rules, required: req}
	root := g.object(reflect.TypeOf(v))
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = id
	root["title"] = title
	root["$defs"] = g.defs
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

type schemaGen struct {
	docs     map[string]string
	typeDocs map[string]string
	defs     map[string]any
	rules    map[string]map[string]any
	required map[string]bool
}

var durationType = reflect.TypeOf(Duration(0))

// durationPattern is what time.ParseDuration reads (without a sign: no
// duration in a spec may be negative).
const durationPattern = `^([0-9]+(\.[0-9]*)?(ns|us|µs|μs|ms|s|m|h))+$`

func (g *schemaGen) typeSchema(t reflect.Type) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "string", "pattern": durationPattern},
			map[string]any{"type": "number", "minimum": 0},
		}, "description": "Go duration string (\"90s\", \"15m\", \"24h\") or a number of seconds"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.typeSchema(t.Elem())}
	case reflect.Struct:
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = map[string]any{} // break cycles
			g.defs[t.Name()] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + t.Name()}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var req []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		s := g.typeSchema(f.Type)
		key := t.Name() + "." + f.Name
		for k, v := range g.rules[key] {
			s[k] = v
		}
		if max, ok := durationBounds[key]; ok {
			s["oneOf"] = []any{
				map[string]any{"type": "string", "pattern": durationPattern},
				map[string]any{"type": "number", "exclusiveMinimum": 0, "maximum": max.Seconds()},
			}
			s["description"] = fmt.Sprintf("Go duration string or seconds, at most %s", Duration(max))
		}
		if !g.required[key] {
			// null means absent, everywhere.
			s = map[string]any{"anyOf": []any{s, map[string]any{"type": "null"}}}
		} else {
			s = map[string]any{"anyOf": []any{s}}
		}
		if d := g.docs[key]; d != "" {
			s["description"] = d
		}
		if e, ok := enums[key]; ok {
			s["anyOf"].([]any)[0].(map[string]any)["enum"] = e
		}
		if g.required[key] {
			req = append(req, name)
		}
		props[name] = s
	}
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if c, ok := conditionals[t.Name()]; ok {
		o["allOf"] = c
	}
	if d := g.typeDocs[t.Name()]; d != "" {
		o["description"] = d
	}
	if len(req) > 0 {
		o["required"] = req
	}
	return o
}

// fieldDocs reads the comments of the struct fields and types of Go sources.
func fieldDocs(sources ...string) (map[string]string, map[string]string) {
	fields, types := map[string]string{}, map[string]string{}
	for _, src := range sources {
		f, err := parser.ParseFile(token.NewFileSet(), "src.go", src, parser.ParseComments)
		if err != nil {
			continue
		}
		docsOf(f, fields, types)
	}
	return fields, types
}

func docsOf(f *ast.File, fields, types map[string]string) {
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, sp := range gd.Specs {
			ts := sp.(*ast.TypeSpec)
			if gd.Doc != nil {
				types[ts.Name.Name] = clean(gd.Doc.Text())
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, fl := range st.Fields.List {
				if fl.Doc == nil {
					continue
				}
				for _, n := range fl.Names {
					fields[ts.Name.Name+"."+n.Name] = clean(fl.Doc.Text())
				}
			}
		}
	}
}

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

func regionList() []string {
	out := make([]string, 0, len(knownRegions))
	for r := range knownRegions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}
