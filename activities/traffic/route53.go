package traffic

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// route53Spec returns the target's Route53 records with the defaults
// filled in (the workflow already applied the spec's; a direct caller may not have).
func route53Spec(t Target) (Route53Records, error) {
	if t.Route53 == nil {
		return Route53Records{}, invalidf("traffic target: provider is route53 but route53 is not set")
	}
	r := *t.Route53
	if r.RecordType == "" {
		r.RecordType = "CNAME"
	}
	if r.BlueSetIdentifier == "" {
		r.BlueSetIdentifier = "blue"
	}
	if r.GreenSetIdentifier == "" {
		r.GreenSetIdentifier = "green"
	}
	if r.TTL == 0 {
		r.TTL = 60
	}
	switch {
	case r.HostedZoneID == "":
		return r, invalidf("traffic.route53.hostedZoneId: required")
	case r.RecordName == "":
		return r, invalidf("traffic.route53.recordName: required")
	case r.RecordType != "CNAME" && r.RecordType != "A":
		return r, invalidf("traffic.route53.recordType %q: must be CNAME or A", r.RecordType)
	case r.BlueSetIdentifier == r.GreenSetIdentifier:
		return r, invalidf("traffic.route53: blue and green set identifiers are both %q", r.BlueSetIdentifier)
	}
	return r, nil
}

// dnsName normalises a DNS name for comparison: lower case, Route53's
// \ddd escapes decoded, one trailing dot.
func dnsName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.Contains(s, `\`) {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' && i+3 < len(s) {
				if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
					b.WriteByte(byte(n))
					i += 3
					continue
				}
			}
			b.WriteByte(s[i])
		}
		s = b.String()
	}
	return strings.TrimSuffix(s, ".") + "."
}

// listRecords returns the record sets named name in the zone; with rtype
// set, only those of that type.
func listRecords(ctx context.Context, api Route53API, zone, name, rtype string) ([]r53types.ResourceRecordSet, error) {
	want := dnsName(name)
	in := &route53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(zone),
		StartRecordName: aws.String(want),
	}
	if rtype != "" {
		in.StartRecordType = r53types.RRType(rtype)
	}
	var out []r53types.ResourceRecordSet
	for page := 0; page < 100; page++ {
		res, err := api.ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, awsError(err, "list records %s in hosted zone %s", name, zone)
		}
		for _, rr := range res.ResourceRecordSets {
			if dnsName(aws.ToString(rr.Name)) != want {
				// Records are sorted by name: past ours, nothing more to read.
				return out, nil
			}
			if rtype != "" && string(rr.Type) != rtype {
				continue
			}
			out = append(out, rr)
		}
		if !res.IsTruncated || res.NextRecordName == nil || dnsName(*res.NextRecordName) != want {
			return out, nil
		}
		in.StartRecordName = res.NextRecordName
		in.StartRecordType = res.NextRecordType
		in.StartRecordIdentifier = res.NextRecordIdentifier
	}
	return out, nil
}

func findSet(recs []r53types.ResourceRecordSet, setID string) *r53types.ResourceRecordSet {
	for i := range recs {
		if aws.ToString(recs[i].SetIdentifier) == setID {
			return &recs[i]
		}
	}
	return nil
}

// weightOf returns the record's weight; a record with a set identifier but
// no weight uses another routing policy, which cutover does not drive.
func weightOf(rr *r53types.ResourceRecordSet, r Route53Records) (int64, error) {
	if rr.Weight == nil {
		return 0, conflictf("record %s %s (set identifier %q) in hosted zone %s is not a weighted record",
			r.RecordName, r.RecordType, aws.ToString(rr.SetIdentifier), r.HostedZoneID)
	}
	return *rr.Weight, nil
}

// percent returns part as a rounded percentage of total, never rounding a
// share that receives some traffic to 0 or one that misses some to 100: a
// 0.2% blue still receives traffic and must not be reported as drained.
func percent(part, total int64) int {
	if total <= 0 || part <= 0 {
		return 0
	}
	if part >= total {
		return 100
	}
	p := int(math.Round(float64(part) * 100 / float64(total)))
	return max(1, min(99, p))
}

// recordTarget returns the value or alias DNS name a record points at.
func recordTarget(rr *r53types.ResourceRecordSet) string {
	if rr.AliasTarget != nil {
		return dnsName(aws.ToString(rr.AliasTarget.DNSName))
	}
	if len(rr.ResourceRecords) == 1 {
		return dnsName(aws.ToString(rr.ResourceRecords[0].Value))
	}
	vals := make([]string, 0, len(rr.ResourceRecords))
	for _, v := range rr.ResourceRecords {
		vals = append(vals, dnsName(aws.ToString(v.Value)))
	}
	return strings.Join(vals, ",")
}

func readPair(ctx context.Context, api Route53API, r Route53Records) (blue, green *r53types.ResourceRecordSet, err error) {
	recs, err := listRecords(ctx, api, r.HostedZoneID, r.RecordName, r.RecordType)
	if err != nil {
		return nil, nil, err
	}
	return findSet(recs, r.BlueSetIdentifier), findSet(recs, r.GreenSetIdentifier), nil
}

func getRoute53Weights(ctx context.Context, api Route53API, r Route53Records) (Weights, error) {
	blue, green, err := readPair(ctx, api, r)
	if err != nil {
		return Weights{}, err
	}
	if blue == nil && green == nil {
		return Weights{}, notFoundf("no weighted %s record %s with set identifier %q or %q in hosted zone %s",
			r.RecordType, r.RecordName, r.BlueSetIdentifier, r.GreenSetIdentifier, r.HostedZoneID)
	}
	var bw, gw int64
	if blue != nil {
		if bw, err = weightOf(blue, r); err != nil {
			return Weights{}, err
		}
	}
	if green != nil {
		if gw, err = weightOf(green, r); err != nil {
			return Weights{}, err
		}
	}
	switch {
	case bw+gw > 0:
		g := percent(gw, bw+gw)
		return Weights{Blue: 100 - g, Green: g}, nil
	case blue != nil && green != nil:
		// Route53 splits evenly between records that all weigh 0.
		return Weights{Blue: 50, Green: 50}, nil
	case green != nil:
		return Weights{Green: 100}, nil
	}
	return Weights{Blue: 100}, nil
}

func setRoute53Weights(ctx context.Context, api Route53API, r Route53Records, green int) (Change, error) {
	want := Weights{Blue: 100 - green, Green: green}
	if r.GreenTarget == "" && green > 0 {
		return Change{}, invalidf("traffic.route53.greenTarget: required to send traffic to green")
	}
	blueRec, greenRec, err := readPair(ctx, api, r)
	if err != nil {
		return Change{}, err
	}
	if blueRec == nil {
		return Change{}, notFoundf("blue's weighted %s record %s (set identifier %q) does not exist in hosted zone %s",
			r.RecordType, r.RecordName, r.BlueSetIdentifier, r.HostedZoneID)
	}
	bw, err := weightOf(blueRec, r)
	if err != nil {
		return Change{}, err
	}
	var gw int64
	greenOK := false
	if greenRec != nil {
		if gw, err = weightOf(greenRec, r); err != nil {
			return Change{}, err
		}
		greenOK = r.GreenTarget == "" || recordTarget(greenRec) == dnsName(r.GreenTarget)
	}
	if bw == int64(want.Blue) && ((greenRec != nil && gw == int64(green) && greenOK) || (greenRec == nil && green == 0)) {
		logger(ctx).Info("Route53 weights already in place", "record", r.RecordName, "zone", r.HostedZoneID,
			"blue", want.Blue, "green", want.Green)
		return Change{Provider: ProviderRoute53, Weights: want, Noop: true}, nil
	}

	newBlue := *blueRec
	newBlue.Weight = aws.Int64(int64(want.Blue))
	changes := []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &newBlue}}
	// With no green record and no traffic for green, there is nothing to
	// create: blue alone at 100 is the whole split.
	if greenRec != nil || green > 0 {
		newGreen, err := greenRecord(r, blueRec, greenRec, int64(green))
		if err != nil {
			return Change{}, err
		}
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: newGreen})
	}
	id, err := changeBatch(ctx, api, r.HostedZoneID, fmt.Sprintf("cutover: %s blue=%d green=%d", r.RecordName, want.Blue, want.Green), changes)
	if err != nil {
		return Change{}, awsError(err, "set weights of %s in hosted zone %s to blue=%d green=%d", r.RecordName, r.HostedZoneID, want.Blue, want.Green)
	}
	logger(ctx).Info("Route53 weights changed", "record", r.RecordName, "zone", r.HostedZoneID,
		"fromBlue", bw, "fromGreen", gw, "blue", want.Blue, "green", want.Green, "change", id)
	return Change{Provider: ProviderRoute53, ID: id, Weights: want}, nil
}

// greenRecord builds green's weighted record: its existing record (health
// check and other settings kept) or a new one shaped like blue's, pointed at
// the spec's greenTarget.
func greenRecord(r Route53Records, blue, existing *r53types.ResourceRecordSet, weight int64) (*r53types.ResourceRecordSet, error) {
	var g r53types.ResourceRecordSet
	if existing != nil {
		g = *existing
	} else {
		g = r53types.ResourceRecordSet{
			Name:          blue.Name,
			Type:          blue.Type,
			SetIdentifier: aws.String(r.GreenSetIdentifier),
		}
	}
	g.Weight = aws.Int64(weight)
	if r.GreenTarget == "" {
		// Only reachable for weight 0 on an existing record: keep its target.
		return &g, nil
	}
	template := blue
	if existing != nil {
		template = existing
	}
	if template.AliasTarget != nil {
		// Alias to green's load balancer. Its canonical hosted zone is the
		// one ELBv2 gave for the discovered load balancer, else the one
		// the record already uses, else blue's (same region, same kind of
		// load balancer).
		zone := blue.AliasTarget
		if existing != nil && existing.AliasTarget != nil {
			zone = existing.AliasTarget
		}
		if r.GreenTargetZoneID != "" {
			z := r53types.AliasTarget{HostedZoneId: aws.String(r.GreenTargetZoneID)}
			if zone != nil {
				z.EvaluateTargetHealth = zone.EvaluateTargetHealth
			}
			zone = &z
		}
		if zone == nil {
			return nil, conflictf("record %s: green's alias target needs the load balancer's hosted zone, and blue's record is not an alias", r.RecordName)
		}
		g.AliasTarget = &r53types.AliasTarget{
			DNSName:              aws.String(r.GreenTarget),
			HostedZoneId:         zone.HostedZoneId,
			EvaluateTargetHealth: zone.EvaluateTargetHealth,
		}
		g.ResourceRecords = nil
		g.TTL = nil
		return &g, nil
	}
	g.AliasTarget = nil
	g.ResourceRecords = []r53types.ResourceRecord{{Value: aws.String(r.GreenTarget)}}
	g.TTL = aws.Int64(r.TTL)
	return &g, nil
}

// changeBatch applies changes to zone as one atomic Route53 change batch
// and returns the change's ID (to wait for INSYNC). The caller wraps an
// error with what it was doing (awsError).
func changeBatch(ctx context.Context, api Route53API, zone, comment string, changes []r53types.Change) (string, error) {
	out, err := api.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zone),
		ChangeBatch:  &r53types.ChangeBatch{Comment: aws.String(comment), Changes: changes},
	})
	if err != nil {
		return "", err
	}
	if out.ChangeInfo == nil {
		return "", nil
	}
	return aws.ToString(out.ChangeInfo.Id), nil
}
