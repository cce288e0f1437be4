package traffic

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
)

// PlainRecord is a simple (non-weighted) Route53 record as it was, so it
// can be written back: its TTL and values, or its alias target.
type PlainRecord struct {
	TTL    int64    `json:"ttl,omitempty"`
	Values []string `json:"values,omitempty"`
	Alias  *Alias   `json:"alias,omitempty"`
}

// Alias is a Route53 alias target.
type Alias struct {
	DNSName              string `json:"dnsName"`
	HostedZoneID         string `json:"hostedZoneId"`
	EvaluateTargetHealth bool   `json:"evaluateTargetHealth"`
}

// ConvertResult is what ConvertToWeighted did.
type ConvertResult struct {
	// Converted: the simple record was replaced by the weighted pair (by
	// this call or an earlier attempt whose answer was lost: Original is
	// then empty and Change has no ID).
	Converted bool `json:"converted"`
	// AlreadyWeighted: blue's weighted record existed; nothing was changed.
	AlreadyWeighted bool `json:"alreadyWeighted,omitempty"`
	// Original is the simple record that was replaced.
	Original *PlainRecord `json:"original,omitempty"`
	// Swapped: the pair was all on green's record (what a migration that
	// kept the pair weighted leaves: blue's record at 0 naming the retired
	// cluster, green's at 100 naming today's blue), and was made blue's
	// record at 100 naming green's record's target, green's at 0, in one
	// atomic batch: the name resolves as before.
	Swapped bool `json:"swapped,omitempty"`
	// Change is the Route53 change to wait for (WaitTrafficPropagated).
	Change Change `json:"change"`
}

// ToSimpleInput makes the record simple again: pointing where blue's
// weighted record points (To "blue", or at Original when given) or where
// green's does (To "green", with Original's TTL when given).
type ToSimpleInput struct {
	Target   Target       `json:"target"`
	To       string       `json:"to"`
	Original *PlainRecord `json:"original,omitempty"`
}

func plainOf(rr *r53types.ResourceRecordSet) *PlainRecord {
	p := &PlainRecord{TTL: aws.ToInt64(rr.TTL)}
	for _, v := range rr.ResourceRecords {
		p.Values = append(p.Values, aws.ToString(v.Value))
	}
	if a := rr.AliasTarget; a != nil {
		p.Alias = &Alias{DNSName: aws.ToString(a.DNSName), HostedZoneID: aws.ToString(a.HostedZoneId), EvaluateTargetHealth: a.EvaluateTargetHealth}
	}
	return p
}

func (p *PlainRecord) apply(rr *r53types.ResourceRecordSet) {
	rr.TTL, rr.ResourceRecords, rr.AliasTarget = nil, nil, nil
	if p.Alias != nil {
		rr.AliasTarget = &r53types.AliasTarget{DNSName: aws.String(p.Alias.DNSName), HostedZoneId: aws.String(p.Alias.HostedZoneID), EvaluateTargetHealth: p.Alias.EvaluateTargetHealth}
		return
	}
	rr.TTL = aws.Int64(p.TTL)
	for _, v := range p.Values {
		rr.ResourceRecords = append(rr.ResourceRecords, r53types.ResourceRecord{Value: aws.String(v)})
	}
}

func findSimple(recs []r53types.ResourceRecordSet) *r53types.ResourceRecordSet {
	for i := range recs {
		if recs[i].SetIdentifier == nil {
			return &recs[i]
		}
	}
	return nil
}

// ConvertToWeighted turns blue's simple Route53 record into the weighted
// pair cutover shifts traffic with, in one atomic change batch: the simple
// record deleted, blue's weighted record (weight 100, same values) and,
// with a green target, green's (weight 0) created. Route53 applies a batch
// all or nothing, so the name never stops resolving and never resolves to
// green; the pair is never all zero. Blue's weighted record already there
// changes nothing (AlreadyWeighted). CloudFront targets have nothing to
// convert.
func (a *Activities) ConvertToWeighted(ctx context.Context, t Target) (ConvertResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	if t.Provider != ProviderRoute53 {
		return ConvertResult{AlreadyWeighted: true}, nil
	}
	r, api, recs, err := a.readRecords(ctx, t)
	if err != nil {
		return ConvertResult{}, err
	}
	simple := findSimple(recs)
	if blue := findSet(recs, r.BlueSetIdentifier); blue != nil {
		if simple != nil {
			return ConvertResult{}, conflictf("record %s %s has both a simple record and blue's weighted record %q in hosted zone %s", r.RecordName, r.RecordType, r.BlueSetIdentifier, r.HostedZoneID)
		}
		if green := findSet(recs, r.GreenSetIdentifier); green != nil && aws.ToInt64(blue.Weight) == 0 && aws.ToInt64(green.Weight) > 0 {
			return a.swapPair(ctx, api, r, blue, green)
		}
		return ConvertResult{AlreadyWeighted: true, Converted: false}, nil
	}
	if simple == nil {
		return ConvertResult{}, notFoundf("traffic.route53.recordName: no simple or weighted %s record %s in hosted zone %s", r.RecordType, r.RecordName, r.HostedZoneID)
	}
	blue := *simple
	blue.SetIdentifier, blue.Weight = aws.String(r.BlueSetIdentifier), aws.Int64(100)
	changes := []r53types.Change{
		{Action: r53types.ChangeActionDelete, ResourceRecordSet: simple},
		{Action: r53types.ChangeActionCreate, ResourceRecordSet: &blue},
	}
	if r.GreenTarget != "" {
		green, err := greenRecord(r, &blue, nil, 0)
		if err != nil {
			return ConvertResult{}, err
		}
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionCreate, ResourceRecordSet: green})
	}
	id, err := changeBatch(ctx, api, r.HostedZoneID, fmt.Sprintf("cutover: %s simple -> weighted blue=100 green=0", r.RecordName), changes)
	if err != nil {
		return ConvertResult{}, awsError(err, "convert %s in hosted zone %s to a weighted pair", r.RecordName, r.HostedZoneID)
	}
	logger(ctx).Info("Converted a simple Route53 record into a weighted pair", "record", r.RecordName, "zone", r.HostedZoneID, "change", id, "green", r.GreenTarget != "")
	return ConvertResult{Converted: true, Original: plainOf(simple), Change: Change{Provider: ProviderRoute53, ID: id, Weights: Weights{Blue: 100}}}, nil
}

// swapPair makes a pair that is all on green's record start from blue
// again: blue's record takes green's record's target (or alias) at
// weight 100, green's drops to 0, in one atomic batch, so the name
// resolves exactly as before. The next quarter's migration finds the
// cluster serving today behind blue's record, as its spec says.
func (a *Activities) swapPair(ctx context.Context, api Route53API, r Route53Records, blue, green *r53types.ResourceRecordSet) (ConvertResult, error) {
	newBlue := *blue
	newBlue.Weight = aws.Int64(100)
	newBlue.ResourceRecords, newBlue.AliasTarget, newBlue.TTL = green.ResourceRecords, green.AliasTarget, green.TTL
	newGreen := *green
	newGreen.Weight = aws.Int64(0)
	from := recordTarget(blue)
	id, err := changeBatch(ctx, api, r.HostedZoneID, fmt.Sprintf("cutover: %s pair all on green's record: blue=100 at %s, green=0", r.RecordName, recordTarget(green)), []r53types.Change{
		{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &newBlue},
		{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &newGreen},
	})
	if err != nil {
		return ConvertResult{}, awsError(err, "make the pair of %s in hosted zone %s start from blue", r.RecordName, r.HostedZoneID)
	}
	logger(ctx).Info("Route53 pair was all on green's record; blue's record now names what served", "record", r.RecordName, "zone", r.HostedZoneID,
		"blueWas", from, "blueNow", recordTarget(green), "change", id)
	return ConvertResult{AlreadyWeighted: true, Swapped: true, Change: Change{Provider: ProviderRoute53, ID: id, Weights: Weights{Blue: 100}}}, nil
}

// ConvertToSimple writes the weighted pair back as one simple record, in
// one atomic batch (both weighted records deleted, the simple record
// created): pointing at green after blue's retirement (To "green"), or at
// blue as it was (To "blue", Original when known) on a rollback. Already
// simple, it changes nothing.
func (a *Activities) ConvertToSimple(ctx context.Context, in ToSimpleInput) (Change, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	if in.To != "blue" && in.To != "green" {
		return Change{}, invalidf("convert to simple: to must be blue or green, got %q", in.To)
	}
	r, api, recs, err := a.readRecords(ctx, in.Target)
	if err != nil {
		return Change{}, err
	}
	blue, green := findSet(recs, r.BlueSetIdentifier), findSet(recs, r.GreenSetIdentifier)
	if blue == nil && green == nil {
		if findSimple(recs) != nil {
			return Change{Provider: ProviderRoute53, Noop: true}, nil
		}
		return Change{}, notFoundf("no weighted or simple %s record %s in hosted zone %s", r.RecordType, r.RecordName, r.HostedZoneID)
	}
	from := blue
	if in.To == "green" {
		from = green
	}
	if from == nil {
		return Change{}, notFoundf("%s's weighted %s record %s does not exist in hosted zone %s: nothing to point the simple record at", in.To, r.RecordType, r.RecordName, r.HostedZoneID)
	}
	simple := r53types.ResourceRecordSet{Name: from.Name, Type: from.Type}
	p := plainOf(from)
	switch {
	case in.To == "blue" && in.Original != nil:
		p = in.Original
	case in.Original != nil && p.Alias == nil && in.Original.Alias == nil && in.Original.TTL > 0:
		// Green's target with the TTL the record's owner chose (green's
		// weighted record had the migration's TTL).
		p.TTL = in.Original.TTL
	}
	p.apply(&simple)
	var changes []r53types.Change
	for _, rr := range []*r53types.ResourceRecordSet{blue, green} {
		if rr != nil {
			changes = append(changes, r53types.Change{Action: r53types.ChangeActionDelete, ResourceRecordSet: rr})
		}
	}
	changes = append(changes, r53types.Change{Action: r53types.ChangeActionCreate, ResourceRecordSet: &simple})
	id, err := changeBatch(ctx, api, r.HostedZoneID, fmt.Sprintf("cutover: %s weighted -> simple record pointing at %s", r.RecordName, in.To), changes)
	if err != nil {
		return Change{}, awsError(err, "convert %s in hosted zone %s to a simple record", r.RecordName, r.HostedZoneID)
	}
	w := Weights{Blue: 100}
	if in.To == "green" {
		w = Weights{Green: 100}
	}
	logger(ctx).Info("Converted the weighted Route53 pair into a simple record", "record", r.RecordName, "zone", r.HostedZoneID, "to", in.To, "change", id)
	return Change{Provider: ProviderRoute53, ID: id, Weights: w}, nil
}

// readRecords is the target's Route53 records (defaults filled in), the
// client, and the record sets of its name and type.
func (a *Activities) readRecords(ctx context.Context, t Target) (Route53Records, Route53API, []r53types.ResourceRecordSet, error) {
	r, err := route53Spec(t)
	if err != nil {
		return r, nil, nil, err
	}
	api, err := a.clients.Route53(ctx)
	if err != nil {
		return r, nil, nil, err
	}
	recs, err := listRecords(ctx, api, r.HostedZoneID, r.RecordName, r.RecordType)
	return r, api, recs, err
}
