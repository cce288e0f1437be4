package traffic

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestPlainRecordAgainstMoto: a simple CNAME becomes the weighted pair in
// one batch (blue 100 with the same value and TTL, green 0), traffic moves
// on it, and it becomes a simple record again: at green after the move, or
// at blue exactly as it was on a rollback. Each direction is idempotent.
func TestPlainRecordAgainstMoto(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Moto(t)
	p := m.AWS()
	acts := NewFromAWS(p)
	c := route53Client(t, p)
	zone := createZone(t, c, "plain.example.com")
	name := "app.plain.example.com"
	upsert(t, c, zone, r53types.ResourceRecordSet{
		Name: aws.String(name), Type: r53types.RRTypeCname, TTL: aws.Int64(300),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("blue-lb.us-east-1.elb.amazonaws.com")}},
	})
	target := Target{Provider: ProviderRoute53, Region: "us-east-1", Route53: &Route53Records{
		HostedZoneID: zone, RecordName: name, RecordType: "CNAME", GreenTarget: "green-lb.us-east-1.elb.amazonaws.com", TTL: 60}}

	res, err := acts.ConvertToWeighted(ctx, target)
	if err != nil || !res.Converted || res.Original == nil || res.Original.TTL != 300 || len(res.Original.Values) != 1 || res.Change.ID == "" {
		t.Fatalf("convert: %+v, %v", res, err)
	}
	if _, err := execActivity(t, acts, acts.WaitTrafficPropagated, res.Change); err != nil {
		t.Fatal(err)
	}
	byID := func() map[string]r53types.ResourceRecordSet {
		out := map[string]r53types.ResourceRecordSet{}
		list, err := c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range list.ResourceRecordSets {
			if dnsName(aws.ToString(rr.Name)) == dnsName(name) {
				out[aws.ToString(rr.SetIdentifier)] = rr
			}
		}
		return out
	}
	recs := byID()
	if len(recs) != 2 || aws.ToInt64(recs["blue"].Weight) != 100 || aws.ToInt64(recs["blue"].TTL) != 300 ||
		aws.ToString(recs["blue"].ResourceRecords[0].Value) != "blue-lb.us-east-1.elb.amazonaws.com" ||
		recs["green"].Weight == nil || *recs["green"].Weight != 0 || aws.ToString(recs["green"].ResourceRecords[0].Value) != "green-lb.us-east-1.elb.amazonaws.com" {
		t.Fatalf("after the conversion: %+v", recs)
	}
	if again, err := acts.ConvertToWeighted(ctx, target); err != nil || !again.AlreadyWeighted || again.Converted {
		t.Errorf("a second conversion: %+v, %v", again, err)
	}
	if w, err := acts.GetTrafficWeights(ctx, target); err != nil || w != (Weights{Blue: 100}) {
		t.Errorf("weights after the conversion %+v, %v", w, err)
	}
	if _, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 100}); err != nil {
		t.Fatal(err)
	}

	// After the move: a simple record pointing at green.
	ch, err := acts.ConvertToSimple(ctx, ToSimpleInput{Target: target, To: "green", Original: res.Original})
	if err != nil || ch.Noop {
		t.Fatalf("to simple at green: %+v, %v", ch, err)
	}
	recs = byID()
	if len(recs) != 1 || aws.ToString(recs[""].ResourceRecords[0].Value) != "green-lb.us-east-1.elb.amazonaws.com" || aws.ToInt64(recs[""].TTL) != 300 {
		t.Fatalf("after the move the record is %+v, want one simple record at green with the original TTL 300", recs)
	}
	if ch, err := acts.ConvertToSimple(ctx, ToSimpleInput{Target: target, To: "green"}); err != nil || !ch.Noop {
		t.Errorf("a second conversion to simple: %+v, %v", ch, err)
	}

	// A rollback puts blue's simple record back exactly as it was.
	name = "api.plain.example.com"
	rt := *target.Route53
	rt.RecordName = name
	target.Route53 = &rt
	upsert(t, c, zone, r53types.ResourceRecordSet{Name: aws.String(name), Type: r53types.RRTypeCname, TTL: aws.Int64(300),
		ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("blue-lb.us-east-1.elb.amazonaws.com")}}})
	res, err = acts.ConvertToWeighted(ctx, target)
	if err != nil || !res.Converted {
		t.Fatalf("convert again: %+v, %v", res, err)
	}
	if _, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 50}); err != nil {
		t.Fatal(err)
	}
	if _, err := acts.ConvertToSimple(ctx, ToSimpleInput{Target: target, To: "blue", Original: res.Original}); err != nil {
		t.Fatal(err)
	}
	recs = byID()
	if len(recs) != 1 || aws.ToInt64(recs[""].TTL) != 300 || aws.ToString(recs[""].ResourceRecords[0].Value) != "blue-lb.us-east-1.elb.amazonaws.com" {
		t.Fatalf("after the rollback the record is %+v, want blue's simple record as it was", recs)
	}
	if _, err := acts.ConvertToSimple(ctx, ToSimpleInput{Target: target, To: "sideways"}); err == nil {
		t.Error("to sideways was accepted")
	}
}

// TestPairLeftOnGreenAgainstMoto: the pair a migration that kept it
// weighted leaves (blue's record at 0 naming the retired cluster, green's
// at 100 naming today's) is swapped before the next migration's first
// step: blue's record names what served, at 100, green's is 0, so the
// name resolves as before; the next step then moves traffic from today's
// cluster, not from the retired one. A second call changes nothing.
func TestPairLeftOnGreenAgainstMoto(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Moto(t)
	p := m.AWS()
	acts := NewFromAWS(p)
	c := route53Client(t, p)
	zone := createZone(t, c, "quarters.example.com")
	name := "shop.quarters.example.com"
	for _, rr := range []struct {
		id, value string
		weight    int64
	}{{"blue", "retired-q1-lb.us-east-1.elb.amazonaws.com", 0}, {"green", "serving-q2-lb.us-east-1.elb.amazonaws.com", 100}} {
		upsert(t, c, zone, r53types.ResourceRecordSet{Name: aws.String(name), Type: r53types.RRTypeCname, TTL: aws.Int64(60),
			SetIdentifier: aws.String(rr.id), Weight: aws.Int64(rr.weight), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(rr.value)}}})
	}
	target := Target{Provider: ProviderRoute53, Region: "us-east-1", Route53: &Route53Records{
		HostedZoneID: zone, RecordName: name, RecordType: "CNAME", BlueSetIdentifier: "blue", GreenSetIdentifier: "green",
		GreenTarget: "next-q3-lb.us-east-1.elb.amazonaws.com", TTL: 60}}
	if fs, err := checkRoute53(ctx, c, *target.Route53, true); err != nil || len(fs) != 1 || fs[0].Severity != "info" {
		t.Errorf("preflight findings %+v, %v: want one information finding", fs, err)
	}
	res, err := acts.ConvertToWeighted(ctx, target)
	if err != nil || !res.Swapped || res.Converted || res.Change.ID == "" {
		t.Fatalf("swap: %+v, %v", res, err)
	}
	values := func() map[string]string {
		out := map[string]string{}
		list, err := c.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range list.ResourceRecordSets {
			if dnsName(aws.ToString(rr.Name)) == dnsName(name) {
				out[aws.ToString(rr.SetIdentifier)] = fmt.Sprintf("%s@%d", aws.ToString(rr.ResourceRecords[0].Value), aws.ToInt64(rr.Weight))
			}
		}
		return out
	}
	if got := values(); got["blue"] != "serving-q2-lb.us-east-1.elb.amazonaws.com@100" || got["green"] != "serving-q2-lb.us-east-1.elb.amazonaws.com@0" {
		t.Fatalf("after the swap %v: want blue's record at 100 naming what served", got)
	}
	if again, err := acts.ConvertToWeighted(ctx, target); err != nil || again.Swapped || !again.AlreadyWeighted {
		t.Errorf("a second call: %+v, %v", again, err)
	}
	if _, err := acts.SetTrafficWeights(ctx, SetWeightsInput{Target: target, Green: 10}); err != nil {
		t.Fatal(err)
	}
	if got := values(); got["blue"] != "serving-q2-lb.us-east-1.elb.amazonaws.com@90" || got["green"] != "next-q3-lb.us-east-1.elb.amazonaws.com@10" {
		t.Errorf("the first step %v: want 90 on today's cluster, 10 on the next", got)
	}
}
